DROP INDEX download_sessions_unbound_idx;
DROP TRIGGER download_sessions_audit_state;

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
