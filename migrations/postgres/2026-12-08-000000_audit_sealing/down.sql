-- Back to one chain head locked by every audited write (rows not yet sealed are sealed by the old trigger's
-- rules only if rspd seals them first: run rspd once before reverting).
DROP INDEX audit_log_unsealed_idx;
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
CREATE OR REPLACE FUNCTION rspd_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' AND NEW.seq = OLD.seq + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
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
