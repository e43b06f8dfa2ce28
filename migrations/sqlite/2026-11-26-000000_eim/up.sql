-- eIM (SGP.32 v1.2): the eUICC registry and association (§2.11.1.2), the eUICC package queue with its order
-- states (§2.11.1.1, §2.11.2.1) and the profiles known per eUICC. Timestamps are Unix ms (UTC).
CREATE TABLE eim_euiccs (
    eid                TEXT    PRIMARY KEY NOT NULL,
    euicc_certificate  BLOB    NOT NULL,
    eim_id             TEXT    NOT NULL,
    eim_key_curve      TEXT    NOT NULL,
    -- The last counterValue used; the next package takes counter_value + 1 in its queueing transaction.
    counter_value      BIGINT  NOT NULL,
    association_token  BIGINT  NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

-- One signed EuiccPackageRequest per row, with its order state. (eid, counter_value) and
-- (eid, eim_transaction_id) are unique: a result is matched by (EID, eimTransactionId, counterValue).
CREATE TABLE eim_packages (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    eid                TEXT    NOT NULL REFERENCES eim_euiccs (eid),
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'dispatched', 'succeeded', 'failed', 'expired')),
    counter_value      BIGINT  NOT NULL,
    eim_transaction_id BLOB    NOT NULL,
    package_der        BLOB    NOT NULL,
    result_der         BLOB    NULL,
    failure_reason     TEXT    NULL,
    expires_at         BIGINT  NULL,
    dispatched_at      BIGINT  NULL,
    finished_at        BIGINT  NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    UNIQUE (eid, counter_value),
    UNIQUE (eid, eim_transaction_id)
);
CREATE INDEX eim_packages_queue_idx ON eim_packages (eid, state, counter_value);
CREATE INDEX eim_packages_expiry_idx ON eim_packages (state, expires_at);

-- Profiles the eIM knows on each eUICC (from listProfileInfo and PSMO results).
CREATE TABLE eim_profiles (
    eid                TEXT    NOT NULL REFERENCES eim_euiccs (eid),
    iccid              TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    fallback_attribute BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen          BIGINT  NOT NULL,
    PRIMARY KEY (eid, iccid)
);
