-- Subscriber identifiers out of the hash chain (issue 10 item 9, GDPR): from now on the chain hashes a keyed
-- digest of each ICCID, EID and matchingId (and of the ICCID a profile row names as target_id), never the value.
-- The clear values go to audit_identifiers, keyed by seq, where an erasure (`rspd audit erase`,
-- POST /api/v1/audit/erasures) can blank them without touching a hashed byte: `rspd audit verify` stays intact.
-- The raw request path of a call (it may carry an ICCID or EID) goes there too (path_detail); audit_log.path
-- keeps the route pattern. Rows written before this migration keep their clear values (they are hashed).
--
-- digest(v) = SHA-256 hex of (lower-case hex of the 32-byte key || v), the key in server_keys 'audit_identifiers'
-- (the Rust side computes the same, rspd::audit::identifier_digest, to find rows by identifier).
INSERT INTO server_keys (name, secret, created_at)
    SELECT 'audit_identifiers', randomblob(32), 0
    WHERE NOT EXISTS (SELECT 1 FROM server_keys WHERE name = 'audit_identifiers');

ALTER TABLE audit_log ADD COLUMN path_detail TEXT NULL;

CREATE TABLE audit_identifiers (
    seq          BIGINT PRIMARY KEY NOT NULL,
    iccid        TEXT NULL,
    eid          TEXT NULL,
    matching_id  TEXT NULL,
    target_id    TEXT NULL,
    path         TEXT NULL,
    erased_at    BIGINT NULL
);

DROP TRIGGER audit_log_chain;
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
