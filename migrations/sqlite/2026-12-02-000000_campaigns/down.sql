DROP TABLE eim_order_steps;
DROP TABLE eim_orders;
DROP TABLE eim_campaigns;
DROP INDEX eim_euiccs_operator_idx;
ALTER TABLE eim_euiccs DROP COLUMN label;
ALTER TABLE eim_euiccs DROP COLUMN operator_id;
