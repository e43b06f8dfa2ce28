//! Time as rspd stores and compares it: Unix milliseconds (`i64`) in every table and every deadline. One reading of
//! the wall clock for the whole crate, so tests and jobs agree on the unit.

use time::OffsetDateTime;

/// `t` as Unix milliseconds (saturating far in the future).
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Now, as Unix milliseconds.
pub fn now_ms() -> i64 {
    unix_ms(OffsetDateTime::now_utc())
}
