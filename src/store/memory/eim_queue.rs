//! [`EimRepository`] for [`MemoryStore`]: the eUICC registry and the eUICC package queue (SGP.32 v1.2 §2.11), with
//! the semantics of `store/eim/queue.rs`:
//!
//! - queueing takes `counterValue + 1`, calls `sign` and stores the package Queued, all under the lock: counters
//!   are strictly increasing and never reused; when `sign` fails nothing is written and the counter is not used;
//! - a claim hands out the EID's lowest live Queued counterValue (not expired at `now`) and moves it to Dispatched
//!   with its no-show deadline, so each package goes out once;
//! - every other transition is a compare-and-set on the state ([`EimError::StateConflict`] when it lost), with the
//!   profile inventory changes of a verified result applied in the same step;
//! - [`EimRepository::expire_due`] expires Queued packages past their dispatch deadline (`not_fetched`) and
//!   Dispatched ones past their no-show deadline (`no_result`).

use std::collections::BTreeMap;

use crate::clock::now_ms;
use crate::eim::inventory::{ProfileChange, DISABLED, ENABLED};
use crate::eim::order::Transition;
use crate::eim::registry::eid_value;
use crate::eim::{
    DeviceContact, EimError, EimRepository, EuiccRecord, FailureReason, KnownProfile, NewEuicc, OrderState,
    PackageOrder, PollFacts, QueueSlot,
};

use super::{Euicc, MemoryStore, Profile, State};

impl State {
    /// The id of the EID's oldest live Queued package: lowest counterValue, not expired at `now`.
    fn next_queued(&self, eid: &str, now: i64) -> Option<i64> {
        self.packages
            .values()
            .filter(|p| p.eid == eid && p.state == OrderState::Queued && p.expires_at.is_some_and(|at| at > now))
            .min_by_key(|p| p.counter_value)
            .map(|p| p.id)
    }

    /// Moves the EID's next live Queued package to Dispatched, due back by `no_show_deadline`; the moved order.
    fn claim_next_queued(&mut self, eid: &str, now: i64, no_show_deadline: i64) -> Option<PackageOrder> {
        let id = self.next_queued(eid, now)?;
        let order = self.packages.get_mut(&id)?;
        order.state = OrderState::Dispatched;
        order.expires_at = Some(no_show_deadline);
        order.updated_at = now;
        Some(order.clone())
    }

    /// Records a poll's contact facts (last seen, rPLMN and stateChangeCause as sent); an unknown EID: nothing.
    fn record_contact(&mut self, eid: &str, contact: &DeviceContact, now: i64) {
        if let Some(euicc) = self.euiccs.get_mut(eid) {
            euicc.last_seen = Some(now);
            euicc.contact = contact.clone();
        }
    }
}

/// Applies a result's inventory changes to one eUICC's profiles (ICCID → profile), as `apply_profile_change!`
/// does to its rows. Fails, changing nothing the caller keeps, where the table's key (EID, ICCID) would refuse
/// a row: a listProfileInfo naming one ICCID twice.
fn apply_profile_changes(
    profiles: &mut BTreeMap<String, Profile>,
    changes: &[ProfileChange],
    now: i64,
) -> Result<(), EimError> {
    for change in changes {
        match change {
            ProfileChange::Snapshot(list) => {
                profiles.clear();
                for listed in list {
                    let profile = Profile {
                        state: listed.state.to_owned(),
                        fallback_attribute: listed.fallback_attribute,
                        last_seen: now,
                    };
                    if profiles.insert(listed.iccid.clone(), profile).is_some() {
                        return Err(EimError::Store(format!(
                            "memory store: ICCID {} twice in one profile list (unique key eim_profiles (eid, iccid))",
                            listed.iccid
                        )));
                    }
                }
            }
            ProfileChange::Enabled(iccid) => {
                for (other, profile) in profiles.iter_mut() {
                    if other != iccid {
                        profile.state = DISABLED.to_owned();
                    }
                }
                upsert_profile(profiles, iccid, now).state = ENABLED.to_owned();
            }
            ProfileChange::Disabled(iccid) | ProfileChange::Installed(iccid) => {
                upsert_profile(profiles, iccid, now).state = DISABLED.to_owned();
            }
            ProfileChange::Deleted(iccid) => {
                profiles.remove(iccid);
            }
            ProfileChange::FallbackSet(iccid) => {
                for (other, profile) in profiles.iter_mut() {
                    if other != iccid {
                        profile.fallback_attribute = false;
                    }
                }
                upsert_profile(profiles, iccid, now).fallback_attribute = true;
            }
            ProfileChange::FallbackUnset => {
                for profile in profiles.values_mut() {
                    profile.fallback_attribute = false;
                }
            }
        }
    }
    Ok(())
}

/// The profile `iccid`, seen at `now`; inserted (disabled, no fallback attribute) when it is new.
fn upsert_profile<'a>(profiles: &'a mut BTreeMap<String, Profile>, iccid: &str, now: i64) -> &'a mut Profile {
    let profile = profiles.entry(iccid.to_owned()).or_insert_with(|| Profile::new(now));
    profile.last_seen = now;
    profile
}

impl EimRepository for MemoryStore {
    fn register_euicc(&self, new: &NewEuicc) -> Result<EuiccRecord, EimError> {
        let now = now_ms();
        let mut state = self.lock()?;
        if state.euiccs.contains_key(&new.eid) {
            return Err(EimError::AlreadyRegistered(new.eid.clone()));
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
        state.euiccs.insert(new.eid.clone(), Euicc::unowned(record.clone()));
        Ok(record)
    }

    fn find_euicc(&self, eid: &str) -> Result<Option<EuiccRecord>, EimError> {
        Ok(self.lock()?.euiccs.get(eid).map(|e| e.record.clone()))
    }

    fn record_contact(&self, eid: &str, contact: &DeviceContact, now: i64) -> Result<(), EimError> {
        self.lock()?.record_contact(eid, contact, now);
        Ok(())
    }

    fn poll_facts(&self, eid: &str, now: i64) -> Result<Option<PollFacts>, EimError> {
        let state = self.lock()?;
        Ok(state.euiccs.get(eid).map(|euicc| PollFacts {
            last_seen: euicc.last_seen,
            contact: euicc.contact.clone(),
            package_waiting: state.next_queued(eid, now).is_some(),
        }))
    }

    fn poll_facts_now(&self, eid: &str, now: i64) -> Option<Result<Option<PollFacts>, EimError>> {
        Some(self.poll_facts(eid, now))
    }

    fn record_poll(
        &self,
        eid: &str,
        contact: &DeviceContact,
        now: i64,
        claim: Option<i64>,
    ) -> Result<Option<PackageOrder>, EimError> {
        let mut state = self.lock()?;
        state.record_contact(eid, contact, now);
        Ok(claim.and_then(|no_show_deadline| state.claim_next_queued(eid, now, no_show_deadline)))
    }

    fn set_association_token(&self, eid: &str, association_token: Option<i64>) -> Result<(), EimError> {
        let now = now_ms();
        let mut state = self.lock()?;
        let euicc = state.euiccs.get_mut(eid).ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
        euicc.record.association_token = association_token;
        euicc.record.updated_at = now;
        Ok(())
    }

    fn queue_package(
        &self,
        eid: &str,
        eim_transaction_id: [u8; 16],
        expires_at: i64,
        sign: &mut dyn FnMut(&QueueSlot) -> Result<Vec<u8>, EimError>,
    ) -> Result<PackageOrder, EimError> {
        let eid_value = eid_value(eid)?;
        let now = now_ms();
        let mut guard = self.lock()?;
        let state = &mut *guard;
        let euicc = state.euiccs.get(eid).ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
        let counter_value = euicc
            .record
            .counter_value
            .checked_add(1)
            .ok_or_else(|| EimError::Store(format!("memory store: counterValue of eUICC {eid} out of range")))?;
        let slot = QueueSlot {
            eid_value,
            counter_value,
            eim_transaction_id,
            association_token: euicc.record.association_token,
        };
        // Nothing is written before the package is signed: a signing failure leaves the counter unused.
        let package_der = sign(&slot)?;
        if state
            .packages
            .values()
            .any(|p| p.eid == eid && (p.counter_value == counter_value || p.eim_transaction_id == eim_transaction_id))
        {
            return Err(EimError::Store(format!(
                "memory store: eUICC {eid} already has a package with counterValue {counter_value} or eimTransactionId \
                 {} (unique keys of eim_packages)",
                hex::encode(eim_transaction_id)
            )));
        }
        let euicc = state.euiccs.get_mut(eid).ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?;
        euicc.record.counter_value = counter_value;
        euicc.record.updated_at = now;
        state.last_package_id += 1;
        let order = PackageOrder {
            id: state.last_package_id,
            eid: eid.to_owned(),
            state: OrderState::Queued,
            counter_value,
            eim_transaction_id: eim_transaction_id.to_vec(),
            package_der,
            result_der: None,
            failure_reason: None,
            expires_at: Some(expires_at),
            created_at: now,
            updated_at: now,
        };
        state.packages.insert(order.id, order.clone());
        Ok(order)
    }

    fn claim_next_queued(&self, eid: &str, now: i64, no_show_deadline: i64) -> Result<Option<PackageOrder>, EimError> {
        Ok(self.lock()?.claim_next_queued(eid, now, no_show_deadline))
    }

    fn find_order_by_transaction(
        &self,
        eid: &str,
        eim_transaction_id: &[u8],
    ) -> Result<Option<PackageOrder>, EimError> {
        let state = self.lock()?;
        Ok(state.packages.values().find(|p| p.eid == eid && p.eim_transaction_id == eim_transaction_id).cloned())
    }

    fn find_eid_by_transaction(&self, eim_transaction_id: &[u8]) -> Result<Option<String>, EimError> {
        let state = self.lock()?;
        let mut eids = state.packages.values().filter(|p| p.eim_transaction_id == eim_transaction_id).map(|p| &p.eid);
        // Two eUICCs with one eimTransactionId cannot be told apart without eidValue.
        Ok(match (eids.next(), eids.next()) {
            (Some(eid), None) => Some(eid.clone()),
            _ => None,
        })
    }

    fn find_order(&self, order_id: i64) -> Result<Option<PackageOrder>, EimError> {
        Ok(self.lock()?.packages.get(&order_id).cloned())
    }

    fn apply(&self, t: &Transition, now: i64) -> Result<PackageOrder, EimError> {
        let conflict = || EimError::StateConflict { order_id: t.order_id, expected: t.from.as_str() };
        let mut guard = self.lock()?;
        let state = &mut *guard;
        let eid = state.packages.get(&t.order_id).filter(|p| p.state == t.from).ok_or_else(conflict)?.eid.clone();
        // The inventory changes are made on a copy first: if one fails, the order does not move either.
        let profiles = if t.profile_changes.is_empty() {
            None
        } else {
            let mut profiles = state.profiles.get(&eid).cloned().unwrap_or_default();
            apply_profile_changes(&mut profiles, &t.profile_changes, now)?;
            Some(profiles)
        };
        let order = state.packages.get_mut(&t.order_id).ok_or_else(conflict)?;
        order.state = t.to;
        order.expires_at = t.expires_at;
        order.failure_reason = t.failure_reason.as_ref().map(FailureReason::as_string);
        if let Some(der) = &t.result_der {
            order.result_der = Some(der.clone());
        }
        order.updated_at = now;
        let moved = order.clone();
        match profiles {
            Some(profiles) if profiles.is_empty() => {
                state.profiles.remove(&eid);
            }
            Some(profiles) => {
                state.profiles.insert(eid, profiles);
            }
            None => {}
        }
        Ok(moved)
    }

    fn known_profiles(&self, eid: &str) -> Result<Vec<KnownProfile>, EimError> {
        let state = self.lock()?;
        Ok(state
            .profiles
            .get(eid)
            .into_iter()
            .flatten()
            .map(|(iccid, p)| KnownProfile {
                eid: eid.to_owned(),
                iccid: iccid.clone(),
                state: p.state.clone(),
                fallback_attribute: p.fallback_attribute,
                last_seen: p.last_seen,
            })
            .collect())
    }

    fn expire_due(&self, now: i64) -> Result<usize, EimError> {
        let mut state = self.lock()?;
        let mut expired = 0;
        for order in state.packages.values_mut() {
            let reason = match order.state {
                OrderState::Queued => FailureReason::NotFetched,
                OrderState::Dispatched => FailureReason::NoResult,
                _ => continue,
            };
            if order.expires_at.is_some_and(|at| at <= now) {
                order.state = OrderState::Expired;
                order.failure_reason = Some(reason.as_string());
                order.expires_at = None;
                order.updated_at = now;
                expired += 1;
            }
        }
        if expired > 0 {
            tracing::info!(expired, "eIM orders expired (dispatch / no-show timeout)");
        }
        Ok(expired)
    }
}

impl Euicc {
    /// A registry row without an operator (`operator_id = ''`), never polled.
    pub(super) fn unowned(record: EuiccRecord) -> Euicc {
        Euicc { record, operator_id: String::new(), label: None, last_seen: None, contact: DeviceContact::default() }
    }
}
