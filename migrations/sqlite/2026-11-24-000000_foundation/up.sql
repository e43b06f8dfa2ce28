-- Foundation: the SM-DP+ profile inventory (SGP.22 v2.5 §5.3, ES2+).
-- States are the stable strings of rspd::smdp::ProfileState::as_str; timestamps are Unix ms (UTC).
CREATE TABLE profiles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id  TEXT    NOT NULL,
    iccid        TEXT    NOT NULL UNIQUE,
    profile_type TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('available', 'allocated', 'linked', 'confirmed',
                         'released', 'downloaded', 'installed', 'error', 'unavailable')),
    eid          TEXT    NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE INDEX profiles_pool_idx ON profiles (operator_id, profile_type, state);
