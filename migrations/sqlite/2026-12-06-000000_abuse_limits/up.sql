-- Issue 10 item 4: an anonymous caller cannot grow persistent state.
--
-- A download session's audit trail starts when the session binds an order (AuthenticateClient, SGP.22 v2.5
-- §5.6.3): a session that never binds one (anyone on the internet can call InitiateAuthentication) leaves no audit
-- row, and the expiry job deletes it once expired. A session that binds an order gets the same rows as before:
-- its creation row ('initiated', at its creation time, written at binding) and every state change after.

DROP TRIGGER download_sessions_audit_insert;
DROP TRIGGER download_sessions_audit_state;

CREATE TRIGGER download_sessions_audit_state AFTER UPDATE OF state ON download_sessions FOR EACH ROW
WHEN OLD.state IS NOT NEW.state AND NEW.order_id IS NOT NULL BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, to_state)
    SELECT NEW.created_at, 'state', NULL, 'download_session', NEW.transaction_id, NULL, NULL, 'initiated'
     WHERE OLD.order_id IS NULL;
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, iccid, eid, matching_id, from_state, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'download_session', NEW.transaction_id, NEW.iccid, NEW.eid,
            (SELECT matching_id FROM orders WHERE id = NEW.order_id), OLD.state, NEW.state);
END;

-- limits.max_open_sessions counts these; the expiry job deletes them.
CREATE INDEX download_sessions_unbound_idx ON download_sessions (expires_at) WHERE order_id IS NULL;
