DROP TABLE eim_relay_sessions;
