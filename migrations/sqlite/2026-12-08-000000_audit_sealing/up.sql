-- The audit chain head advanced in batches (issue 12 item 3; see the PostgreSQL migration of the same name): an
-- audited write now only INSERTs its row (identifiers digested by the trigger below, as before), with `seq`,
-- `prev_hash` and `hash` NULL; the sealer (rspd::store, `Store::seal_audit_trail`) numbers the unsealed rows in id
-- order, hashes them (rspd::audit::chain_hash) and moves the head once per batch. On SQLite this takes the chain
-- work (three UPDATEs, a SHA-256 in SQL and the head row) out of every audited write transaction.

-- The chain trigger goes first (SQLite re-reads every trigger when a table is renamed).
DROP TRIGGER audit_log_chain;

-- The clear identifiers are keyed by the row (its id) instead of its seq, which is now given later.
CREATE TABLE audit_identifiers_by_row (
    log_id       BIGINT PRIMARY KEY NOT NULL,
    iccid        TEXT NULL,
    eid          TEXT NULL,
    matching_id  TEXT NULL,
    target_id    TEXT NULL,
    path         TEXT NULL,
    erased_at    BIGINT NULL
);
INSERT INTO audit_identifiers_by_row (log_id, iccid, eid, matching_id, target_id, path, erased_at)
    SELECT l.id, i.iccid, i.eid, i.matching_id, i.target_id, i.path, i.erased_at
      FROM audit_identifiers i JOIN audit_log l ON l.seq = i.seq;
DROP TABLE audit_identifiers;
ALTER TABLE audit_identifiers_by_row RENAME TO audit_identifiers;

-- A row arrives unsealed; only the sealer gives it a chain position.
CREATE TRIGGER audit_log_insert_unsealed BEFORE INSERT ON audit_log FOR EACH ROW
WHEN NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL BEGIN
    SELECT RAISE(ABORT, 'audit rows are chained by rspd, not inserted chained');
END;

-- Identifiers never sit in clear in audit_log: digested at insert, the clear values kept beside (erasable).
CREATE TRIGGER audit_log_identifiers AFTER INSERT ON audit_log FOR EACH ROW
WHEN NEW.iccid IS NOT NULL OR NEW.eid IS NOT NULL OR NEW.matching_id IS NOT NULL OR NEW.path_detail IS NOT NULL
     OR (NEW.target_kind = 'profile' AND NEW.target_id IS NOT NULL) BEGIN
    INSERT INTO audit_identifiers (log_id, iccid, eid, matching_id, target_id, path)
        VALUES (NEW.id, NEW.iccid, NEW.eid, NEW.matching_id,
                CASE WHEN NEW.target_kind = 'profile' THEN NEW.target_id END, NEW.path_detail);
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
END;

-- The head moves forward only, and only onto the last sealed row's seq and hash.
DROP TRIGGER audit_head_forward_only;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head FOR EACH ROW
WHEN NEW.seq <= OLD.seq
  OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
  OR EXISTS (SELECT 1 FROM audit_log WHERE seq > NEW.seq) BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;

-- What the sealer reads: the rows still to chain, in id order.
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL;
