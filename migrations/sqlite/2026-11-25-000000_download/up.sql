-- Download (SGP.22 v2.5 §3.1, ES9+ §5.6): profile packages, orders, download sessions, notification inbox.
-- Timestamps are Unix ms (UTC); byte columns hold DER or raw key/challenge bytes.
CREATE TABLE profile_packages (
    iccid                 TEXT    PRIMARY KEY NOT NULL,
    operator_id           TEXT    NOT NULL,
    package_der           BLOB    NOT NULL,
    service_provider_name TEXT    NOT NULL,
    profile_name          TEXT    NOT NULL,
    profile_class         BIGINT  NOT NULL,
    created_at            BIGINT  NOT NULL
);

-- One download order per matchingId. The order's state is the state of its profile (profiles.state).
CREATE TABLE orders (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id       TEXT    NOT NULL,
    iccid             TEXT    NOT NULL,
    matching_id       TEXT    NOT NULL UNIQUE,
    eid               TEXT    NULL,
    cc_hash           BLOB    NULL,
    cc_attempts_left  INTEGER NOT NULL,
    session_id        TEXT    NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX orders_iccid_idx ON orders (operator_id, iccid);
CREATE INDEX orders_eid_idx ON orders (eid);

CREATE TABLE download_sessions (
    transaction_id    TEXT    PRIMARY KEY NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('initiated', 'authenticated', 'bpp_delivered',
                              'completed', 'cancelled', 'expired')),
    server_address    TEXT    NOT NULL,
    curve             TEXT    NOT NULL,
    ci_pkid           BLOB    NOT NULL,
    server_challenge  BLOB    NOT NULL,
    euicc_challenge   BLOB    NOT NULL,
    eid               TEXT    NULL,
    order_id          BIGINT  NULL,
    operator_id       TEXT    NULL,
    iccid             TEXT    NULL,
    euicc_public_key  BLOB    NULL,
    smdp_signature2   BLOB    NULL,
    cc_required       BOOLEAN NOT NULL DEFAULT FALSE,
    otpk_euicc        BLOB    NULL,
    bpp               BLOB    NULL,
    expires_at        BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX download_sessions_expiry_idx ON download_sessions (state, expires_at);

-- Durable inbox of ES9+ HandleNotification: stored before the 204, processed afterwards.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    pending_notification BLOB NOT NULL,
    received_at   BIGINT  NOT NULL,
    processed_at  BIGINT  NULL,
    outcome       TEXT    NULL
);
CREATE INDEX notifications_unprocessed_idx ON notifications (processed_at);
