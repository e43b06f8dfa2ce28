-- Issue 10 items 7 and 8. Timestamps are Unix ms (UTC).
--
-- Operator API idempotency (the `Idempotency-Key` header, src/http/idempotency.rs): per operator and key, the
-- digest of the first request and, once it finished, its answer (status, content type, body) exactly as sent.
-- A row without `status` is a request still running (or one whose node died: taken over after a lease).
CREATE TABLE operator_idempotency (
    operator_id      TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    request_digest   BLOB    NOT NULL,
    status           INTEGER NULL,
    content_type     TEXT    NULL,
    response_body    BLOB    NULL,
    created_at       BIGINT  NOT NULL,
    PRIMARY KEY (operator_id, idempotency_key)
);
CREATE INDEX operator_idempotency_created_idx ON operator_idempotency (created_at);

-- Retention jobs (src/server/retention_jobs.rs): each deletes what is finished and older than its age.
CREATE INDEX notifications_processed_idx ON notifications (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX download_sessions_finished_idx ON download_sessions (state, updated_at) WHERE bpp IS NOT NULL;
CREATE INDEX es2_calls_created_idx ON es2_calls (created_at);
CREATE INDEX es2_progress_outbox_delivered_idx ON es2_progress_outbox (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX eim_packages_finished_idx ON eim_packages (state, finished_at);
CREATE INDEX eim_orders_finished_idx ON eim_orders (state, finished_at);
CREATE INDEX eim_order_steps_package_idx ON eim_order_steps (package_id);
