-- Outbox of ES2+.HandleDownloadProgressInfo calls to the operators (SGP.22 v2.5 §5.3.5), delivered by every node:
-- per (operator_id, iccid) strictly in id order; a row stays until the operator's endpoint answers 2xx.
-- Timestamps are Unix ms (UTC). event is the JSON of smdp::progress::ProgressEvent.
CREATE TABLE es2_progress_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id      TEXT    NOT NULL,
    iccid            TEXT    NOT NULL,
    profile_type     TEXT    NOT NULL,
    event_key        TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    leased_until     BIGINT  NULL,
    delivered_at     BIGINT  NULL,
    last_error       TEXT    NULL,
    created_at       BIGINT  NOT NULL,
    UNIQUE (operator_id, event_key)
);
CREATE INDEX es2_progress_outbox_due_idx ON es2_progress_outbox (delivered_at, next_attempt_at);
CREATE INDEX es2_progress_outbox_iccid_idx ON es2_progress_outbox (operator_id, iccid, id);
