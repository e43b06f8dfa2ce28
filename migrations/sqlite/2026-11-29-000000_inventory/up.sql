-- Inventory: profile types with their StoreMetadata (SGP.22 v2.5 §5.5.3), templates and personalization batches
-- (profiles generated when ordered), and secrets at rest. Sealed columns hold nonce ‖ AES-256-GCM ciphertext ‖
-- tag under the master key named in key_id (rspd::secrets); timestamps are Unix ms (UTC).

-- A profile type per operator (ES2+ profileType, §5.3.1) and the metadata its profiles are sent with.
CREATE TABLE profile_types (
    operator_id                     TEXT    NOT NULL,
    name                            TEXT    NOT NULL,
    service_provider_name           TEXT    NOT NULL,
    profile_name                    TEXT    NOT NULL,
    profile_class                   BIGINT  NOT NULL,
    -- PprIds bits by name, comma-separated (pprUpdateControl, ppr1, ppr2); NULL: none.
    profile_policy_rules            TEXT    NULL,
    -- JSON array of {"profileManagementOperation": [...], "notificationAddress": "..."}; NULL: none.
    notification_configuration_info TEXT    NULL,
    low_stock_threshold             BIGINT  NULL,
    created_at                      BIGINT  NOT NULL,
    updated_at                      BIGINT  NOT NULL,
    PRIMARY KEY (operator_id, name)
);

-- SAIP templates (validated at upload). A template is not a profile: it is never ordered itself.
CREATE TABLE profile_templates (
    operator_id    TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    profile_type   TEXT    NOT NULL,
    key_id         TEXT    NOT NULL,
    package_sealed BLOB   NOT NULL,
    created_at     BIGINT  NOT NULL,
    PRIMARY KEY (operator_id, name)
);

CREATE TABLE personalization_batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id  TEXT    NOT NULL,
    template     TEXT    NOT NULL,
    profile_type TEXT    NOT NULL,
    row_count    BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL
);

-- One per template-backed profile (its profiles row is Available of the template's type): the batch row's
-- ICCID/IMSI/Ki/OPc/PINs, sealed (JSON inside). The package is generated from the template when it is bound.
CREATE TABLE profile_personalizations (
    iccid        TEXT    PRIMARY KEY NOT NULL,
    operator_id  TEXT    NOT NULL,
    template     TEXT    NOT NULL,
    batch_id     BIGINT  NULL,
    key_id       TEXT    NOT NULL,
    data_sealed  BLOB   NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX profile_personalizations_key_idx ON profile_personalizations (key_id);

-- Prepared packages are sealed from now on: package_der holds the sealed value when key_id is set (rows
-- written before this migration stay readable in clear until `rspd keys rotate` seals them). Empty
-- service_provider_name / profile_name and profile_class -1 mean "the profile type's".
ALTER TABLE profile_packages ADD COLUMN key_id TEXT NULL;
CREATE INDEX profile_packages_key_idx ON profile_packages (key_id);
