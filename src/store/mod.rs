//! The relational store: SQLite (embedded default) and PostgreSQL, behind repository traits.

mod settings;

pub use settings::{DatabaseSettings, DatabaseUrl};
mod stub;
pub use stub::{PoolState, Store, StoreError};
