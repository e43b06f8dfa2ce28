DROP TRIGGER audit_log_chain;
CREATE TRIGGER audit_log_chain AFTER INSERT ON audit_log FOR EACH ROW BEGIN
    UPDATE audit_log
       SET seq = (SELECT seq + 1 FROM audit_head WHERE id = 1),
           prev_hash = (SELECT hash FROM audit_head WHERE id = 1)
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
DROP TABLE audit_identifiers;
ALTER TABLE audit_log DROP COLUMN path_detail;
DELETE FROM server_keys WHERE name = 'audit_identifiers';
