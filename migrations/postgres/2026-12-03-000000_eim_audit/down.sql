DROP TRIGGER eim_campaigns_audit ON eim_campaigns;
DROP FUNCTION rspd_audit_eim_campaign();
DROP TRIGGER eim_orders_audit ON eim_orders;
DROP FUNCTION rspd_audit_eim_order();
CREATE OR REPLACE FUNCTION rspd_audit_eim_package() RETURNS trigger LANGUAGE plpgsql AS $$
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
