-- The audit trail (2026-11-30) for the eIM tables that came after it: eUICC packages now carry the owning
-- operator (eim_euiccs.operator_id, 2026-12-02), and eIM orders and campaigns record their state changes, so the
-- fleet API's audit query and event stream show them to that operator only.
DROP TRIGGER eim_packages_audit_state;
DROP TRIGGER eim_packages_audit_insert;

CREATE TRIGGER eim_packages_audit_insert AFTER INSERT ON eim_packages FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, to_state)
    VALUES (NEW.updated_at, 'state', (SELECT operator_id FROM eim_euiccs WHERE eid = NEW.eid), 'eim_package',
            CAST(NEW.id AS TEXT), NEW.eid, NEW.state);
END;

CREATE TRIGGER eim_packages_audit_state AFTER UPDATE OF state ON eim_packages FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, from_state, to_state)
    VALUES (NEW.updated_at, 'state', (SELECT operator_id FROM eim_euiccs WHERE eid = NEW.eid), 'eim_package',
            CAST(NEW.id AS TEXT), NEW.eid, OLD.state, NEW.state);
END;

CREATE TRIGGER eim_orders_audit_insert AFTER INSERT ON eim_orders FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_order', CAST(NEW.id AS TEXT), NEW.eid, NEW.state);
END;

CREATE TRIGGER eim_orders_audit_state AFTER UPDATE OF state ON eim_orders FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, eid, from_state, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_order', CAST(NEW.id AS TEXT), NEW.eid, OLD.state,
            NEW.state);
END;

CREATE TRIGGER eim_campaigns_audit_insert AFTER INSERT ON eim_campaigns FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_campaign', CAST(NEW.id AS TEXT), NEW.state);
END;

CREATE TRIGGER eim_campaigns_audit_state AFTER UPDATE OF state ON eim_campaigns FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, operator_id, target_kind, target_id, from_state, to_state)
    VALUES (NEW.updated_at, 'state', NEW.operator_id, 'eim_campaign', CAST(NEW.id AS TEXT), OLD.state, NEW.state);
END;
