-- The audit trail (2026-11-30) for the eIM tables that came after it: eUICC packages now carry the owning
-- operator (eim_euiccs.operator_id, 2026-12-02), and eIM orders and campaigns record their state changes, so the
-- fleet API's audit query and event stream show them to that operator only.
CREATE OR REPLACE FUNCTION rspd_audit_eim_package() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, to_state)
        VALUES (NEW.updated_at, 'state', (SELECT operator_id FROM eim_euiccs WHERE eid = NEW.eid), 'eim_package',
                NEW.id::text, NEW.eid, NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, from_state, to_state)
        VALUES (NEW.updated_at, 'state', (SELECT operator_id FROM eim_euiccs WHERE eid = NEW.eid), 'eim_package',
                NEW.id::text, NEW.eid, OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION rspd_audit_eim_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_order', NEW.id::text, NEW.eid, NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, from_state, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_order', NEW.id::text, NEW.eid, OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER eim_orders_audit AFTER INSERT OR UPDATE OF state ON eim_orders
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_eim_order();

CREATE FUNCTION rspd_audit_eim_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_campaign', NEW.id::text, NEW.state);
    ELSIF OLD.state IS DISTINCT FROM NEW.state THEN
        INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, from_state, to_state)
        VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_campaign', NEW.id::text, OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER eim_campaigns_audit AFTER INSERT OR UPDATE OF state ON eim_campaigns
    FOR EACH ROW EXECUTE FUNCTION rspd_audit_eim_campaign();
