CREATE OR REPLACE FUNCTION rspd_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TABLE audit_identifiers;
ALTER TABLE audit_log DROP COLUMN path_detail;
DELETE FROM server_keys WHERE name = 'audit_identifiers';
DROP FUNCTION rspd_identifier_digest(TEXT, TEXT);
