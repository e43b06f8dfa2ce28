-- Subscriber identifiers out of the hash chain (issue 10 item 9, GDPR): see the SQLite migration of the same name.
-- digest(v) = SHA-256 hex of (lower-case hex of the 32-byte key || v), the key in server_keys 'audit_identifiers'.
INSERT INTO server_keys (name, secret, created_at)
    VALUES ('audit_identifiers',
            decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 0)
    ON CONFLICT (name) DO NOTHING;

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

CREATE OR REPLACE FUNCTION rspd_identifier_digest(key_hex TEXT, v TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v IS NULL THEN NULL ELSE encode(sha256(convert_to(key_hex || v, 'UTF8')), 'hex') END
$$;

CREATE OR REPLACE FUNCTION rspd_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq  BIGINT;
    head_hash TEXT;
    key_hex   TEXT;
    profile_target TEXT;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
    SELECT encode(secret, 'hex') INTO key_hex FROM server_keys WHERE name = 'audit_identifiers';
    NEW.seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    profile_target := CASE WHEN NEW.target_kind = 'profile' THEN NEW.target_id END;
    IF NEW.iccid IS NOT NULL OR NEW.eid IS NOT NULL OR NEW.matching_id IS NOT NULL OR NEW.path_detail IS NOT NULL
       OR profile_target IS NOT NULL THEN
        INSERT INTO audit_identifiers (seq, iccid, eid, matching_id, target_id, path)
            VALUES (NEW.seq, NEW.iccid, NEW.eid, NEW.matching_id, profile_target, NEW.path_detail);
    END IF;
    NEW.iccid := rspd_identifier_digest(key_hex, NEW.iccid);
    NEW.eid := rspd_identifier_digest(key_hex, NEW.eid);
    NEW.matching_id := rspd_identifier_digest(key_hex, NEW.matching_id);
    IF profile_target IS NOT NULL THEN
        NEW.target_id := rspd_identifier_digest(key_hex, profile_target);
    END IF;
    NEW.path_detail := NULL;
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
