-- Audit trail (issue 5 item 7): every operator-listener call and every state transition of profiles, orders,
-- download sessions and eIM packages, append-only and hash-chained.
--
-- Chain: rows are numbered by `seq` (1, 2, …) in the order they were appended; each stores the previous row's
-- hash and hash = SHA-256 hex of (prev_hash || '|' || canonical row text), where the canonical text is the
-- fields below in column order, each written as `<character count>:<value>` or `~` for NULL, joined by '|'
-- (rspd::audit::canonical_text is the same function in Rust, used by `rspd audit verify`).
-- `audit_head` holds the last seq and hash. Appends are serialized across nodes by locking the head row
-- (SELECT … FOR UPDATE) until the appending transaction commits, so seq order is commit order: a reader
-- tailing by seq never skips a row that commits later.
CREATE TABLE audit_log (
    id                 BIGSERIAL PRIMARY KEY,
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

CREATE FUNCTION rspd_audit_field(v TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(LENGTH(v) || ':' || v, '~')
$$;

CREATE FUNCTION rspd_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq  BIGINT;
    head_hash TEXT;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
    NEW.seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := encode(sha256(convert_to(head_hash || '|' ||
        rspd_audit_field(NEW.seq::text) || '|' ||
        rspd_audit_field(NEW.at_ms::text) || '|' ||
        rspd_audit_field(NEW.kind) || '|' ||
        rspd_audit_field(NEW.operator_id) || '|' ||
        rspd_audit_field(NEW.actor_subject) || '|' ||
        rspd_audit_field(NEW.actor_fingerprint) || '|' ||
        rspd_audit_field(NEW.peer) || '|' ||
        rspd_audit_field(NEW.method) || '|' ||
        rspd_audit_field(NEW.path) || '|' ||
        rspd_audit_field(NEW.status::text) || '|' ||
        rspd_audit_field(NEW.outcome) || '|' ||
        rspd_audit_field(NEW.target_kind) || '|' ||
        rspd_audit_field(NEW.target_id) || '|' ||
        rspd_audit_field(NEW.iccid) || '|' ||
        rspd_audit_field(NEW.eid) || '|' ||
        rspd_audit_field(NEW.matching_id) || '|' ||
        rspd_audit_field(NEW.from_state) || '|' ||
        rspd_audit_field(NEW.to_state), 'UTF8')), 'hex');
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION rspd_audit_chain();

-- Append-only: no row is updated or deleted, the table is not truncated, and the head only ever moves one step
-- forward. (Whoever can drop these triggers can edit rows; the chain then shows it — `rspd audit verify`.)
CREATE FUNCTION rspd_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' AND NEW.seq = OLD.seq + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION rspd_audit_append_only();
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION rspd_audit_append_only();

-- State transitions, recorded by the database in the transaction that makes them (any code path).
CREATE FUNCTION rspd_audit_profile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'profile', NEW.iccid, NEW.iccid, NEW.eid, NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, from_state, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'profile', NEW.iccid, NEW.iccid, COALESCE(NEW.eid, OLD.eid),
                (SELECT matching_id FROM orders WHERE operator_id = NEW.operator_id AND iccid = NEW.iccid
                 ORDER BY id DESC LIMIT 1),
                OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER profiles_audit AFTER INSERT OR UPDATE OF state ON profiles
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_profile();

CREATE FUNCTION rspd_audit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, to_state)
    VALUES (NEW.created_at, 'state', NEW.operator_id, 'order', NEW.id::text, NEW.iccid, NEW.eid, NEW.matching_id,
            (SELECT state FROM profiles WHERE operator_id = NEW.operator_id AND iccid = NEW.iccid));
    RETURN NULL;
END
$$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION rspd_audit_order();

CREATE FUNCTION rspd_audit_download_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'download_session', NEW.transaction_id, NEW.iccid, NEW.eid,
                NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, from_state, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'download_session', NEW.transaction_id, NEW.iccid, NEW.eid,
                (SELECT matching_id FROM orders WHERE id = NEW.order_id), OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER download_sessions_audit AFTER INSERT OR UPDATE OF state ON download_sessions
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_download_session();

CREATE FUNCTION rspd_audit_eim_package() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, to_state)
        VALUES (NEW.updated_at, 'state', 'eim_package', NEW.id::text, NEW.eid, NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, from_state, to_state)
        VALUES (NEW.updated_at, 'state', 'eim_package', NEW.id::text, NEW.eid, OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER eim_packages_audit AFTER INSERT OR UPDATE OF state ON eim_packages
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_eim_package();
