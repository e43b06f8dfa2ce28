//! diesel table definitions, valid for both backends (same column types in `migrations/sqlite` and
//! `migrations/postgres`). Add a `table!` here with each migration that adds a table.

diesel::table! {
    /// The SM-DP+ profile inventory (SGP.22 v2.5 §5.3).
    profiles (id) {
        id -> BigInt,
        operator_id -> Text,
        iccid -> Text,
        profile_type -> Text,
        state -> Text,
        eid -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}
