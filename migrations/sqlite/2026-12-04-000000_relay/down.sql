DROP TABLE eim_notification_outbox;
DROP TABLE eim_relay_sessions;
