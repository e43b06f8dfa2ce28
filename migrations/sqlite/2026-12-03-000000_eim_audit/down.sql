DROP TRIGGER eim_campaigns_audit_state;
DROP TRIGGER eim_campaigns_audit_insert;
DROP TRIGGER eim_orders_audit_state;
DROP TRIGGER eim_orders_audit_insert;
DROP TRIGGER eim_packages_audit_state;
DROP TRIGGER eim_packages_audit_insert;

CREATE TRIGGER eim_packages_audit_insert AFTER INSERT ON eim_packages FOR EACH ROW BEGIN
    INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, to_state)
    VALUES (NEW.updated_at, 'state', 'eim_package', CAST(NEW.id AS TEXT), NEW.eid, NEW.state);
END;

CREATE TRIGGER eim_packages_audit_state AFTER UPDATE OF state ON eim_packages FOR EACH ROW
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO audit_log (at_ms, kind, target_kind, target_id, eid, from_state, to_state)
    VALUES (NEW.updated_at, 'state', 'eim_package', CAST(NEW.id AS TEXT), NEW.eid, OLD.state, NEW.state);
END;
