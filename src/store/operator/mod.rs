//! What the operator API keeps: the hash-chained audit trail, the fleet API's listings and the
//! `Idempotency-Key`s with their first answers.

pub(crate) mod audit;
pub(crate) mod fleet;
pub(crate) mod idempotency;

use crate::audit::{AuditQuery, AuditRecord, NewCall};
use crate::fleet::{Claim, FleetOrder, FleetProfile, FleetRepository, OrderFilter, ProfileFilter, StoredAnswer};
use crate::smdp::RepoError;
use crate::store::Store;

/// The fleet port over the inherent methods (which keep [`crate::store::StoreError`] for the CLI).
impl FleetRepository for Store {
    fn fleet_profiles(
        &self,
        operator_id: &str,
        f: &ProfileFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetProfile>, RepoError> {
        Ok(Store::fleet_profiles(self, operator_id, f, after, limit)?)
    }
    fn fleet_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<FleetProfile>, RepoError> {
        Ok(Store::fleet_profile(self, operator_id, iccid)?)
    }
    fn fleet_orders(
        &self,
        operator_id: &str,
        f: &OrderFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetOrder>, RepoError> {
        Ok(Store::fleet_orders(self, operator_id, f, after, limit)?)
    }
    fn fleet_order(&self, operator_id: &str, id: i64) -> Result<Option<FleetOrder>, RepoError> {
        Ok(Store::fleet_order(self, operator_id, id)?)
    }
    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, RepoError> {
        Ok(Store::audit_query(self, q)?)
    }
    fn audit_head_seq(&self) -> Result<i64, RepoError> {
        Ok(Store::audit_head(self)?.seq)
    }
    fn append_call(&self, call: &NewCall) -> Result<(), RepoError> {
        Ok(Store::append_call(self, call)?)
    }
    fn erase_audit_identifier(&self, operator: Option<&str>, value: &str, now_ms: i64) -> Result<usize, RepoError> {
        Ok(Store::erase_audit_identifier(self, operator, value, now_ms)?)
    }
    fn claim_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        now: i64,
        lease_ms: i64,
    ) -> Result<Claim, RepoError> {
        Store::claim_idempotency_key(self, operator_id, key, digest, now, lease_ms)
    }
    fn finish_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        answer: &StoredAnswer,
    ) -> Result<(), RepoError> {
        Store::finish_idempotency_key(self, operator_id, key, digest, answer)
    }
    fn release_idempotency_key(&self, operator_id: &str, key: &str, digest: &[u8]) -> Result<(), RepoError> {
        Store::release_idempotency_key(self, operator_id, key, digest)
    }
}
