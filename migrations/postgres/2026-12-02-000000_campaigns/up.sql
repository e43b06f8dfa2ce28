-- eIM orders and campaigns (issue 6 item 5): eUICCs belong to an operator; an order expands an intent into
-- eIM packages run in sequence (one eim_packages row per step); a campaign is a set of orders released at a
-- rate. Timestamps are Unix ms (UTC).
ALTER TABLE eim_euiccs ADD COLUMN operator_id TEXT NOT NULL DEFAULT '';
ALTER TABLE eim_euiccs ADD COLUMN label TEXT NULL;
CREATE INDEX eim_euiccs_operator_idx ON eim_euiccs (operator_id, eid);

CREATE TABLE eim_campaigns (
    id                 BIGSERIAL PRIMARY KEY,
    operator_id        TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    intent             TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'completed')),
    -- Orders released per minute (fixed one-minute window) and the most orders running at once.
    rate_per_minute    BIGINT  NOT NULL,
    max_in_flight      BIGINT  NOT NULL,
    window_start       BIGINT  NOT NULL,
    window_released    BIGINT  NOT NULL,
    device_count       BIGINT  NOT NULL,
    idempotency_key    TEXT    NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    finished_at        BIGINT  NULL,
    UNIQUE (operator_id, idempotency_key)
);
CREATE INDEX eim_campaigns_state_idx ON eim_campaigns (state);

-- One order per (device, intent). state: pending (campaign, not released) → running → succeeded | failed |
-- expired | cancelled. current_package_id is the package of current_step; version guards every change.
CREATE TABLE eim_orders (
    id                 BIGSERIAL PRIMARY KEY,
    operator_id        TEXT    NOT NULL,
    eid                TEXT    NOT NULL REFERENCES eim_euiccs (eid),
    campaign_id        BIGINT  NULL REFERENCES eim_campaigns (id),
    intent             TEXT    NOT NULL,
    step_count         BIGINT  NOT NULL,
    state              TEXT    NOT NULL
                       CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'expired', 'cancelled')),
    current_step       BIGINT  NOT NULL,
    current_package_id BIGINT  NULL REFERENCES eim_packages (id),
    version            BIGINT  NOT NULL,
    failure_reason     TEXT    NULL,
    idempotency_key    TEXT    NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    finished_at        BIGINT  NULL,
    UNIQUE (operator_id, idempotency_key)
);
CREATE INDEX eim_orders_campaign_idx ON eim_orders (campaign_id, state, id);
CREATE INDEX eim_orders_state_idx ON eim_orders (state, current_package_id);
CREATE INDEX eim_orders_operator_idx ON eim_orders (operator_id, id);

-- The package queued for each step of an order.
CREATE TABLE eim_order_steps (
    order_id           BIGINT  NOT NULL REFERENCES eim_orders (id),
    step_index         BIGINT  NOT NULL,
    kind               TEXT    NOT NULL,
    package_id         BIGINT  NOT NULL REFERENCES eim_packages (id),
    PRIMARY KEY (order_id, step_index)
);
