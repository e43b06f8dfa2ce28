-- Back to the chain trigger of `…_audit_identifiers` (run rspd once before reverting so that no row is unsealed).
DROP INDEX audit_log_unsealed_idx;
DROP TRIGGER audit_head_forward_only;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head FOR EACH ROW WHEN NEW.seq IS NOT OLD.seq + 1 BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
DROP TRIGGER audit_log_identifiers;
DROP TRIGGER audit_log_insert_unsealed;
CREATE TABLE audit_identifiers_by_seq (
    seq          BIGINT PRIMARY KEY NOT NULL,
    iccid        TEXT NULL,
    eid          TEXT NULL,
    matching_id  TEXT NULL,
    target_id    TEXT NULL,
    path         TEXT NULL,
    erased_at    BIGINT NULL
);
INSERT INTO audit_identifiers_by_seq (seq, iccid, eid, matching_id, target_id, path, erased_at)
    SELECT l.seq, i.iccid, i.eid, i.matching_id, i.target_id, i.path, i.erased_at
      FROM audit_identifiers i JOIN audit_log l ON l.id = i.log_id WHERE l.seq IS NOT NULL;
DROP TABLE audit_identifiers;
ALTER TABLE audit_identifiers_by_seq RENAME TO audit_identifiers;
CREATE TRIGGER audit_log_chain AFTER INSERT ON audit_log FOR EACH ROW BEGIN
    UPDATE audit_log
       SET seq = (SELECT seq + 1 FROM audit_head WHERE id = 1),
           prev_hash = (SELECT hash FROM audit_head WHERE id = 1)
     WHERE id = NEW.id;
    INSERT INTO audit_identifiers (seq, iccid, eid, matching_id, target_id, path)
        SELECT seq, iccid, eid, matching_id, CASE WHEN target_kind = 'profile' THEN target_id END, path_detail
          FROM audit_log
         WHERE id = NEW.id
           AND (iccid IS NOT NULL OR eid IS NOT NULL OR matching_id IS NOT NULL OR path_detail IS NOT NULL
                OR (target_kind = 'profile' AND target_id IS NOT NULL));
    UPDATE audit_log
       SET iccid = CASE WHEN iccid IS NOT NULL THEN rspd_sha256_hex(
                       (SELECT lower(hex(secret)) FROM server_keys WHERE name = 'audit_identifiers') || iccid) END,
           eid = CASE WHEN eid IS NOT NULL THEN rspd_sha256_hex(
                       (SELECT lower(hex(secret)) FROM server_keys WHERE name = 'audit_identifiers') || eid) END,
           matching_id = CASE WHEN matching_id IS NOT NULL THEN rspd_sha256_hex(
                       (SELECT lower(hex(secret)) FROM server_keys WHERE name = 'audit_identifiers') || matching_id) END,
           target_id = CASE WHEN target_kind = 'profile' AND target_id IS NOT NULL THEN rspd_sha256_hex(
                       (SELECT lower(hex(secret)) FROM server_keys WHERE name = 'audit_identifiers') || target_id)
                       ELSE target_id END,
           path_detail = NULL
     WHERE id = NEW.id;
    UPDATE audit_log SET hash = rspd_sha256_hex(prev_hash || '|' ||
           COALESCE(LENGTH(CAST(seq AS TEXT)) || ':' || CAST(seq AS TEXT), '~') || '|' ||
           COALESCE(LENGTH(CAST(at_ms AS TEXT)) || ':' || CAST(at_ms AS TEXT), '~') || '|' ||
           COALESCE(LENGTH(kind) || ':' || kind, '~') || '|' ||
           COALESCE(LENGTH(operator_id) || ':' || operator_id, '~') || '|' ||
           COALESCE(LENGTH(actor_subject) || ':' || actor_subject, '~') || '|' ||
           COALESCE(LENGTH(actor_fingerprint) || ':' || actor_fingerprint, '~') || '|' ||
           COALESCE(LENGTH(peer) || ':' || peer, '~') || '|' ||
           COALESCE(LENGTH(method) || ':' || method, '~') || '|' ||
           COALESCE(LENGTH(path) || ':' || path, '~') || '|' ||
           COALESCE(LENGTH(CAST(status AS TEXT)) || ':' || CAST(status AS TEXT), '~') || '|' ||
           COALESCE(LENGTH(outcome) || ':' || outcome, '~') || '|' ||
           COALESCE(LENGTH(target_kind) || ':' || target_kind, '~') || '|' ||
           COALESCE(LENGTH(target_id) || ':' || target_id, '~') || '|' ||
           COALESCE(LENGTH(iccid) || ':' || iccid, '~') || '|' ||
           COALESCE(LENGTH(eid) || ':' || eid, '~') || '|' ||
           COALESCE(LENGTH(matching_id) || ':' || matching_id, '~') || '|' ||
           COALESCE(LENGTH(from_state) || ':' || from_state, '~') || '|' ||
           COALESCE(LENGTH(to_state) || ':' || to_state, '~'))
     WHERE id = NEW.id;
    UPDATE audit_head
       SET seq = (SELECT seq FROM audit_log WHERE id = NEW.id),
           hash = (SELECT hash FROM audit_log WHERE id = NEW.id)
     WHERE id = 1;
END;
