//! TEMPORARY stand-in until the store lands (replaced at merge).
use super::DatabaseSettings;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unavailable(String),
}
pub struct PoolState { pub connections: u32, pub idle: u32, pub max: u32 }
#[derive(Clone)]
pub struct Store { backend: &'static str }
impl Store {
    pub fn open(s: &DatabaseSettings) -> Result<Store, StoreError> { Ok(Store { backend: s.url.backend_name() }) }
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> { Ok(vec![]) }
    pub fn ping(&self) -> Result<(), StoreError> { Ok(()) }
    pub fn backend_name(&self) -> &'static str { self.backend }
    pub fn pool_state(&self) -> PoolState { PoolState { connections: 0, idle: 0, max: 0 } }
}
