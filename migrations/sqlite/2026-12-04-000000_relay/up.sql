-- Indirect download relayed by the eIM to an external SM-DP+ (SGP.32 v1.2 §3.2.3): which SM-DP+ each ES9+
-- transactionId belongs to, so that any rspd node relays the next step of the session to the same SM-DP+.
CREATE TABLE eim_relay_sessions (
    transaction_id TEXT   PRIMARY KEY,
    smdp_address   TEXT   NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX eim_relay_sessions_created_idx ON eim_relay_sessions (created_at);

-- Notifications the eIM forwards to an external SM-DP+ (ESipa.HandleNotification, ePRAndNotifications) over
-- ES9+ handleNotification: kept until delivered, retried with backoff, claimed by pushing next_attempt_at.
CREATE TABLE eim_notification_outbox (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    smdp_address         TEXT   NOT NULL,
    pending_notification BLOB   NOT NULL,
    attempts             BIGINT NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT NOT NULL,
    last_error           TEXT   NULL,
    created_at           BIGINT NOT NULL
);
CREATE INDEX eim_notification_outbox_due_idx ON eim_notification_outbox (next_attempt_at);
