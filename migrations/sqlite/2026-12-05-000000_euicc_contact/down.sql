ALTER TABLE eim_euiccs DROP COLUMN state_change_cause;
ALTER TABLE eim_euiccs DROP COLUMN r_plmn;
ALTER TABLE eim_euiccs DROP COLUMN last_seen;
