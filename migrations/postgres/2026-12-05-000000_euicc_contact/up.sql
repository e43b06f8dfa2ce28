-- What the eIM learns each time an IPA polls (SGP.32 v1.2 GetEimPackageRequest): when the eUICC was last seen,
-- its rPLMN (3 bytes, as sent) and the last stateChangeCause the IPA reported with notifyStateChange.
ALTER TABLE eim_euiccs ADD COLUMN last_seen BIGINT NULL;
ALTER TABLE eim_euiccs ADD COLUMN r_plmn BYTEA NULL;
ALTER TABLE eim_euiccs ADD COLUMN state_change_cause BIGINT NULL;
