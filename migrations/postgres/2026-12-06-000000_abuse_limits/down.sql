DROP INDEX download_sessions_unbound_idx;
DROP TRIGGER download_sessions_audit ON download_sessions;

CREATE OR REPLACE FUNCTION rspd_audit_download_session() RETURNS trigger LANGUAGE plpgsql AS $$
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
