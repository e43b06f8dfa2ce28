//! [`OperatorEuiccs`] for [`MemoryStore`]: which operator owns each registered eUICC, with the semantics of
//! `store/eim/ownership.rs`. Tenant isolation lives here: every query is filtered by the operator, so another
//! operator's eUICC answers exactly like an unknown one, and importing it is [`ImportOutcome::Refused`].

use std::collections::BTreeSet;

use crate::eim::campaign::{EuiccFilter, ImportOutcome, OperatorEuiccs, OwnedEuicc};
use crate::eim::{EimError, EuiccRecord, NewEuicc};

use super::{limit_rows, Euicc, MemoryStore};

impl Euicc {
    /// This eUICC as `operator_id` sees it: `None` unless that operator owns it.
    fn owned_by(&self, operator_id: &str) -> Option<OwnedEuicc> {
        (self.operator_id == operator_id).then(|| OwnedEuicc {
            eid: self.record.eid.clone(),
            label: self.label.clone(),
            counter_value: self.record.counter_value,
            associated: self.record.association_token.is_some(),
            created_at: self.record.created_at,
            last_seen: self.last_seen,
            contact: self.contact.clone(),
        })
    }
}

impl OperatorEuiccs for MemoryStore {
    fn import_euicc(&self, new: &NewEuicc, operator_id: &str, label: Option<&str>) -> Result<ImportOutcome, EimError> {
        let now = crate::clock::now_ms();
        let mut state = self.lock()?;
        if let Some(existing) = state.euiccs.get(&new.eid) {
            return Ok(if existing.operator_id == operator_id {
                ImportOutcome::AlreadyRegistered
            } else {
                ImportOutcome::Refused
            });
        }
        let record = EuiccRecord {
            eid: new.eid.clone(),
            euicc_certificate: new.euicc_certificate.clone(),
            eim_id: new.eim_id.clone(),
            eim_key_curve: new.eim_key_curve,
            counter_value: new.counter_value,
            association_token: new.association_token,
            created_at: now,
            updated_at: now,
        };
        let mut euicc = Euicc::unowned(record);
        euicc.operator_id = operator_id.to_owned();
        euicc.label = label.map(str::to_owned);
        state.euiccs.insert(new.eid.clone(), euicc);
        Ok(ImportOutcome::Registered)
    }

    fn assign_operator(&self, eid: &str, operator_id: &str, label: Option<&str>) -> Result<(), EimError> {
        let now = crate::clock::now_ms();
        let mut state = self.lock()?;
        match state.euiccs.get_mut(eid) {
            Some(euicc) if euicc.operator_id.is_empty() || euicc.operator_id == operator_id => {
                euicc.operator_id = operator_id.to_owned();
                euicc.label = label.map(str::to_owned);
                euicc.record.updated_at = now;
                Ok(())
            }
            _ => Err(EimError::AlreadyRegistered(format!("{eid} (to another operator, or not at all)"))),
        }
    }

    fn owned_euicc(&self, operator_id: &str, eid: &str) -> Result<Option<OwnedEuicc>, EimError> {
        Ok(self.lock()?.euiccs.get(eid).and_then(|e| e.owned_by(operator_id)))
    }

    fn list_euiccs(
        &self,
        operator_id: &str,
        filter: &EuiccFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OwnedEuicc>, EimError> {
        let state = self.lock()?;
        Ok(state
            .euiccs
            .values()
            .filter(|e| after.is_none_or(|after| e.record.eid.as_str() > after))
            .filter(|e| filter.eid_prefix.as_deref().is_none_or(|prefix| e.record.eid.starts_with(prefix)))
            .filter(|e| filter.label.is_none() || e.label == filter.label)
            .filter_map(|e| e.owned_by(operator_id))
            .take(limit_rows(limit))
            .collect())
    }

    fn owned_eids(&self, operator_id: &str, eids: &[String]) -> Result<Vec<String>, EimError> {
        let state = self.lock()?;
        // As the SQL `IN` list, chunk by chunk: each owned EID once per chunk that names it, in EID order.
        let mut found = Vec::new();
        for chunk in eids.chunks(super::OWNED_EIDS_CHUNK) {
            let owned: BTreeSet<&String> = chunk
                .iter()
                .filter(|eid| state.euiccs.get(eid.as_str()).is_some_and(|e| e.operator_id == operator_id))
                .collect();
            found.extend(owned.into_iter().cloned());
        }
        Ok(found)
    }
}
