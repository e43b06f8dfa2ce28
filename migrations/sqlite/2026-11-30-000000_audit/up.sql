-- Audit trail (issue 5 item 7): every operator-listener call and every state transition of profiles, orders,
-- download sessions and eIM packages, append-only and hash-chained.
--
-- Chain: rows are numbered by `seq` (1, 2, …) in the order they were appended; each stores the previous row's
-- hash and hash = SHA-256 hex of (prev_hash || '|' || canonical row text), where the canonical text is the
-- fields below in column order, each written as `<character count>:<value>` or `~` for NULL, joined by '|'
-- (rspd::audit::canonical_text is the same function in Rust, used by `rspd audit verify`).
-- `audit_head` holds the last seq and hash: deleting the newest rows is detected too. Appends are serialized
-- by SQLite's single writer (every rspd write transaction is BEGIN IMMEDIATE).
--
-- The chain is computed here, in triggers, so every INSERT into audit_log and every state change made by any
-- code path lands in the chain in the transaction that made it. rspd_sha256_hex() is registered by rspd on
-- every SQLite connection it opens (store::connection::SqlitePragmas).
CREATE TABLE audit_log (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    seq                BIGINT  NULL UNIQUE,
    at_ms              BIGINT  NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('call', 'state')),
    operator_id        TEXT    NULL,
    actor_subject      TEXT    NULL,
    actor_fingerprint  TEXT    NULL,
    peer               TEXT    NULL,
    method             TEXT    NULL,
    path               TEXT    NULL,
    status             BIGINT  NULL,
    outcome            TEXT    NULL,
    target_kind        TEXT    NULL,
    target_id          TEXT    NULL,
    iccid              TEXT    NULL,
    eid                TEXT    NULL,
    matching_id        TEXT    NULL,
    from_state         TEXT    NULL,
    to_state           TEXT    NULL,
    prev_hash          TEXT    NULL,
    hash               TEXT    NULL
);
CREATE INDEX audit_log_operator_idx ON audit_log (operator_id, kind, seq);
CREATE INDEX audit_log_iccid_idx ON audit_log (iccid, seq);
CREATE INDEX audit_log_at_idx ON audit_log (operator_id, at_ms);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT  NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

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

-- Append-only: a sealed row (hash set) is never updated, no row is deleted, and the head only ever moves one step
-- forward. (Whoever can drop these triggers can edit rows; the chain then shows it — `rspd audit verify`.)
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log FOR EACH ROW WHEN OLD.hash IS NOT NULL BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head FOR EACH ROW WHEN NEW.seq IS NOT OLD.seq + 1 BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;

-- State transitions, recorded by the database in the transaction that makes them (any code path).
CREATE TRIGGER profiles_audit_insert AFTER INSERT ON profiles FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'profile', NEW.iccid, NEW.iccid, NEW.eid, NEW.state);
END;

CREATE TRIGGER profiles_audit_state AFTER UPDATE OF state ON profiles FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, from_state, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'profile', NEW.iccid, NEW.iccid, COALESCE(NEW.eid, OLD.eid),
            (SELECT matching_id FROM orders WHERE operator_id = NEW.operator_id AND iccid = NEW.iccid ORDER BY id DESC LIMIT 1),
            OLD.state, NEW.state);
END;

CREATE TRIGGER orders_audit_insert AFTER INSERT ON orders FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, to_state)
    VALUES (NEW.created_at, 'state', NEW.operator_id, 'order', CAST(NEW.id AS TEXT), NEW.iccid, NEW.eid, NEW.matching_id,
            (SELECT state FROM profiles WHERE operator_id = NEW.operator_id AND iccid = NEW.iccid));
END;

CREATE TRIGGER download_sessions_audit_insert AFTER INSERT ON download_sessions FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'download_session', NEW.transaction_id, NEW.iccid, NEW.eid, NEW.state);
END;

CREATE TRIGGER download_sessions_audit_state AFTER UPDATE OF state ON download_sessions FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, from_state, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'download_session', NEW.transaction_id, NEW.iccid, NEW.eid,
            (SELECT matching_id FROM orders WHERE id = NEW.order_id), OLD.state, NEW.state);
END;

CREATE TRIGGER eim_packages_audit_insert AFTER INSERT ON eim_packages FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, to_state)
    VALUES (NEW.updated_at, 'state', 'eim_package', CAST(NEW.id AS TEXT), NEW.eid, NEW.state);
END;

CREATE TRIGGER eim_packages_audit_state AFTER UPDATE OF state ON eim_packages FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, from_state, to_state)
    VALUES (NEW.updated_at, 'state', 'eim_package', CAST(NEW.id AS TEXT), NEW.eid, OLD.state, NEW.state);
END;
