//! [`EimRepository`] for [`Store`]: the eUICC registry and the eUICC package queue (SGP.32 v1.2 §2.11).
//!
//! - Queueing takes `counter_value + 1` with `UPDATE … RETURNING` and inserts the signed package in the same
//!   write transaction (`BEGIN IMMEDIATE` on SQLite; the row lock of the UPDATE on PostgreSQL), so concurrent
//!   queueing never reuses a counterValue; if signing fails the transaction rolls back and the counter is not
//!   consumed.
//! - Dispatch claims the lowest live Queued counterValue of the EID, on PostgreSQL with `FOR UPDATE SKIP LOCKED`,
//!   then moves it by compare-and-set (`WHERE state = 'queued'`).
//! - A poll reads once ([`EimRepository::poll_facts`]: contact facts and whether a package waits, one statement)
//!   and writes, when it must, in one transaction ([`EimRepository::record_poll`]: contact and claim together).
//! - Every other transition is a compare-and-set on the state.

use crate::clock::now_ms;
use crate::store::prepared::PreparedExt;
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::eim::inventory::{ProfileChange, DISABLED, ENABLED};
use crate::eim::order::Transition;
use crate::eim::registry::eid_value;
use crate::eim::{
    DeviceContact, EimError, EimRepository, EuiccRecord, FailureReason, KnownProfile, NewEuicc, OrderState,
    PackageOrder, PollFacts, QueueSlot, ResultFacts,
};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::error::{one_line, StoreError};
use crate::store::schema::{eim_euiccs as ee, eim_packages as ep, eim_profiles as pf};
use crate::store::Store;

impl From<StoreError> for EimError {
    fn from(e: StoreError) -> EimError {
        EimError::Store(one_line(&e.to_string()))
    }
}

impl From<DieselError> for EimError {
    fn from(e: DieselError) -> EimError {
        EimError::from(StoreError::from(e))
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = ee)]
struct EuiccRow {
    eid: String,
    euicc_certificate: Vec<u8>,
    eim_id: String,
    eim_key_curve: String,
    counter_value: i64,
    association_token: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl EuiccRow {
    fn into_record(self) -> Result<EuiccRecord, EimError> {
        Ok(EuiccRecord {
            eim_key_curve: self
                .eim_key_curve
                .parse()
                .map_err(|e| EimError::Store(format!("eim_euiccs.eim_key_curve: {e}")))?,
            eid: self.eid,
            euicc_certificate: self.euicc_certificate,
            eim_id: self.eim_id,
            counter_value: self.counter_value,
            association_token: self.association_token,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ep)]
pub(in crate::store) struct PackageRow {
    id: i64,
    eid: String,
    state: String,
    counter_value: i64,
    eim_transaction_id: Vec<u8>,
    package_der: Vec<u8>,
    result_der: Option<Vec<u8>>,
    failure_reason: Option<String>,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl PackageRow {
    pub(in crate::store) fn into_order(self) -> Result<PackageOrder, EimError> {
        Ok(PackageOrder {
            state: self.state.parse().map_err(|e| EimError::Store(format!("eim_packages.state: {e}")))?,
            id: self.id,
            eid: self.eid,
            counter_value: self.counter_value,
            eim_transaction_id: self.eim_transaction_id,
            package_der: self.package_der,
            result_der: self.result_der,
            failure_reason: self.failure_reason,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Moves order `$id` from `queued` to `dispatched` (compare-and-set); the updated row, if it moved.
macro_rules! dispatch_by_id {
    ($c:expr, $id:expr, $now:expr, $deadline:expr) => {
        diesel::update(ep::table.find($id).filter(ep::state.eq(OrderState::Queued.as_str())))
            .set((
                ep::state.eq(OrderState::Dispatched.as_str()),
                ep::expires_at.eq(Some($deadline)),
                ep::dispatched_at.eq(Some($now)),
                ep::updated_at.eq($now),
            ))
            .returning(PackageRow::as_returning())
            .prepared()
            .get_result::<PackageRow>($c)
            .optional()
    };
}

/// The id of the EID's oldest live queued package (lowest counterValue).
macro_rules! next_queued {
    ($eid:expr, $now:expr) => {
        ep::table
            .filter(ep::eid.eq($eid))
            .filter(ep::state.eq(OrderState::Queued.as_str()))
            .filter(ep::expires_at.gt($now))
            .order(ep::counter_value.asc())
            .select(ep::id)
    };
}

/// Records a poll's contact facts (last seen, rPLMN and stateChangeCause as sent); the rows changed (0: unknown EID).
macro_rules! record_contact {
    ($c:expr, $eid:expr, $r_plmn:expr, $cause:expr, $now:expr) => {
        diesel::update(ee::table.find($eid))
            .set((ee::last_seen.eq($now), ee::r_plmn.eq($r_plmn), ee::state_change_cause.eq($cause)))
            .prepared()
            .execute($c)
    };
}

/// Sets `$column` for one profile of the eUICC, inserting the row (disabled, no fallback) when it is new.
macro_rules! upsert_profile {
    ($c:expr, $eid:expr, $iccid:expr, $set:expr, $now:expr) => {{
        let changed = diesel::update(pf::table.filter(pf::eid.eq($eid)).filter(pf::iccid.eq($iccid)))
            .set(($set, pf::last_seen.eq($now)))
            .prepared()
            .execute($c)?;
        if changed == 0 {
            diesel::insert_into(pf::table)
                .values((
                    pf::eid.eq($eid),
                    pf::iccid.eq($iccid),
                    pf::state.eq(DISABLED),
                    pf::fallback_attribute.eq(false),
                    pf::last_seen.eq($now),
                ))
                .execute($c)?;
            diesel::update(pf::table.filter(pf::eid.eq($eid)).filter(pf::iccid.eq($iccid)))
                .set($set)
                .prepared()
                .execute($c)?;
        }
    }};
}

/// Applies one [`ProfileChange`] to the eUICC's rows of `eim_profiles`, inside the caller's transaction.
macro_rules! apply_profile_change {
    ($c:expr, $eid:expr, $change:expr, $now:expr) => {
        match $change {
            ProfileChange::Snapshot(list) => {
                diesel::delete(pf::table.filter(pf::eid.eq($eid))).execute($c)?;
                for p in list {
                    diesel::insert_into(pf::table)
                        .values((
                            pf::eid.eq($eid),
                            pf::iccid.eq(&p.iccid),
                            pf::state.eq(p.state),
                            pf::fallback_attribute.eq(p.fallback_attribute),
                            pf::last_seen.eq($now),
                        ))
                        .execute($c)?;
                }
            }
            ProfileChange::Enabled(iccid) => {
                diesel::update(pf::table.filter(pf::eid.eq($eid)).filter(pf::iccid.ne(iccid)))
                    .set(pf::state.eq(DISABLED))
                    .prepared()
                    .execute($c)?;
                upsert_profile!($c, $eid, iccid, pf::state.eq(ENABLED), $now);
            }
            ProfileChange::Disabled(iccid) => upsert_profile!($c, $eid, iccid, pf::state.eq(DISABLED), $now),
            ProfileChange::Deleted(iccid) => {
                diesel::delete(pf::table.filter(pf::eid.eq($eid)).filter(pf::iccid.eq(iccid))).execute($c)?;
            }
            ProfileChange::FallbackSet(iccid) => {
                diesel::update(pf::table.filter(pf::eid.eq($eid)).filter(pf::iccid.ne(iccid)))
                    .set(pf::fallback_attribute.eq(false))
                    .prepared()
                    .execute($c)?;
                upsert_profile!($c, $eid, iccid, pf::fallback_attribute.eq(true), $now);
            }
            ProfileChange::Installed(iccid) => upsert_profile!($c, $eid, iccid, pf::state.eq(DISABLED), $now),
            ProfileChange::FallbackUnset => {
                diesel::update(pf::table.filter(pf::eid.eq($eid)))
                    .set(pf::fallback_attribute.eq(false))
                    .prepared()
                    .execute($c)?;
            }
        }
    };
}

/// GetEimPackage's read phase on `conn`, one statement (see [`EimRepository::poll_facts`]).
fn read_poll_facts(conn: &mut DbConnection, eid: &str, now: i64) -> Result<Option<PollFacts>, EimError> {
    let row = dispatch!(conn, c => ee::table
        .find(eid)
        .select((ee::last_seen, ee::r_plmn, ee::state_change_cause, diesel::dsl::exists(next_queued!(eid, now))))
        .first::<(Option<i64>, Option<Vec<u8>>, Option<i64>, bool)>(c)
        .optional())
    .map_err(StoreError::from)?;
    Ok(row.map(|(last_seen, r_plmn, state_change_cause, package_waiting)| {
        let r_plmn = r_plmn.map(|p| <[u8; 3]>::try_from(p.as_slice()));
        PollFacts {
            // A stored rPLMN that is not 3 bytes equals nothing received: the next poll records over it.
            last_seen: last_seen.filter(|_| !matches!(r_plmn, Some(Err(_)))),
            contact: DeviceContact { r_plmn: r_plmn.and_then(Result::ok), state_change_cause },
            package_waiting,
        }
    }))
}

impl EimRepository for Store {
    fn register_euicc(&self, new: &NewEuicc) -> Result<EuiccRecord, EimError> {
        let now = now_ms();
        let row = EuiccRow {
            eid: new.eid.clone(),
            euicc_certificate: new.euicc_certificate.clone(),
            eim_id: new.eim_id.clone(),
            eim_key_curve: new.eim_key_curve.short_name().to_owned(),
            counter_value: new.counter_value,
            association_token: new.association_token,
            created_at: now,
            updated_at: now,
        };
        let inserted = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(ee::table)
                .values(&row)
                .returning(EuiccRow::as_returning())
                .get_result::<EuiccRow>(c))
        });
        match inserted {
            Ok(row) => row.into_record(),
            Err(StoreError::Query(DieselError::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => Err(EimError::AlreadyRegistered(new.eid.clone())),
            Err(e) => Err(e.into()),
        }
    }

    fn find_euicc(&self, eid: &str) -> Result<Option<EuiccRecord>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ee::table.find(eid).select(EuiccRow::as_select()).first(c).optional())?;
        row.map(EuiccRow::into_record).transpose()
    }

    fn record_contact(&self, eid: &str, contact: &DeviceContact, now: i64) -> Result<(), EimError> {
        let r_plmn = contact.r_plmn.map(|p| p.to_vec());
        let cause = contact.state_change_cause;
        self.write(|conn| write_transaction!(conn, c => record_contact!(c, eid, &r_plmn, cause, now)))?;
        Ok(())
    }

    fn poll_facts(&self, eid: &str, now: i64) -> Result<Option<PollFacts>, EimError> {
        read_poll_facts(&mut *self.conn()?, eid, now)
    }

    fn poll_facts_now(&self, eid: &str, now: i64) -> Option<Result<Option<PollFacts>, EimError>> {
        Some(read_poll_facts(&mut *self.conn_now()?, eid, now))
    }

    fn record_poll(
        &self,
        eid: &str,
        contact: &DeviceContact,
        now: i64,
        claim: Option<i64>,
    ) -> Result<Option<PackageOrder>, EimError> {
        let r_plmn = contact.r_plmn.map(|p| p.to_vec());
        let cause = contact.state_change_cause;
        let claimed = self.write(|conn| {
            match conn {
                DbConnection::Pg(pg) => pg.build_transaction().read_write().run(|c| {
                    record_contact!(c, eid, &r_plmn, cause, now)?;
                    let Some(deadline) = claim else { return Ok(None) };
                    // Another node dispatching to the same EID skips the row this one holds.
                    let Some(id) = next_queued!(eid, now).for_update().skip_locked().first::<i64>(c).optional()? else {
                        return Ok(None);
                    };
                    dispatch_by_id!(c, id, now, deadline)
                }),
                DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                    record_contact!(c, eid, &r_plmn, cause, now)?;
                    let Some(deadline) = claim else { return Ok(None) };
                    let Some(id) = next_queued!(eid, now).first::<i64>(c).optional()? else {
                        return Ok(None);
                    };
                    dispatch_by_id!(c, id, now, deadline)
                }),
            }
            .map_err(StoreError::from)
        })?;
        claimed.map(PackageRow::into_order).transpose()
    }

    fn set_association_token(&self, eid: &str, association_token: Option<i64>) -> Result<(), EimError> {
        let now = now_ms();
        let changed = self.write(|conn| {
            write_transaction!(conn, c => diesel::update(ee::table.find(eid))
                .set((ee::association_token.eq(association_token), ee::updated_at.eq(now)))
                .prepared().execute(c))
        })?;
        if changed == 0 {
            return Err(EimError::UnknownEuicc(eid.to_owned()));
        }
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
        // A signing failure rolls the transaction back; its error is carried out here.
        let mut sign_error: Option<EimError> = None;
        let queued = self.write(|conn| {
            write_transaction!(conn, c => {
                let Some((counter_value, association_token)) = diesel::update(ee::table.find(eid))
                    .set((ee::counter_value.eq(ee::counter_value + 1), ee::updated_at.eq(now)))
                    .returning((ee::counter_value, ee::association_token))
                    .prepared().get_result::<(i64, Option<i64>)>(c)
                    .optional()?
                else {
                    return Ok(None);
                };
                let slot = QueueSlot { eid_value, counter_value, eim_transaction_id, association_token };
                let package_der = match sign(&slot) {
                    Ok(der) => der,
                    Err(e) => {
                        sign_error = Some(e);
                        return Err(DieselError::RollbackTransaction);
                    }
                };
                diesel::insert_into(ep::table)
                    .values((
                        ep::eid.eq(eid),
                        ep::state.eq(OrderState::Queued.as_str()),
                        ep::counter_value.eq(counter_value),
                        ep::eim_transaction_id.eq(eim_transaction_id.to_vec()),
                        ep::package_der.eq(package_der),
                        ep::expires_at.eq(Some(expires_at)),
                        ep::created_at.eq(now),
                        ep::updated_at.eq(now),
                    ))
                    .returning(PackageRow::as_returning())
                    .get_result::<PackageRow>(c)
                    .map(Some)
            })
        });
        if let Some(e) = sign_error {
            return Err(e);
        }
        queued?.ok_or_else(|| EimError::UnknownEuicc(eid.to_owned()))?.into_order()
    }

    fn claim_next_queued(&self, eid: &str, now: i64, no_show_deadline: i64) -> Result<Option<PackageOrder>, EimError> {
        let claimed = self.write(|conn| {
            match conn {
                DbConnection::Pg(pg) => pg.build_transaction().read_write().run(|c| {
                    // Another node dispatching to the same EID skips the row this one holds.
                    let Some(id) = next_queued!(eid, now).for_update().skip_locked().first::<i64>(c).optional()? else {
                        return Ok(None);
                    };
                    dispatch_by_id!(c, id, now, no_show_deadline)
                }),
                DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                    let Some(id) = next_queued!(eid, now).first::<i64>(c).optional()? else {
                        return Ok(None);
                    };
                    dispatch_by_id!(c, id, now, no_show_deadline)
                }),
            }
            .map_err(StoreError::from)
        })?;
        claimed.map(PackageRow::into_order).transpose()
    }

    fn find_order_by_transaction(
        &self,
        eid: &str,
        eim_transaction_id: &[u8],
    ) -> Result<Option<PackageOrder>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ep::table
            .filter(ep::eid.eq(eid))
            .filter(ep::eim_transaction_id.eq(eim_transaction_id))
            .select(PackageRow::as_select())
            .first(c)
            .optional())?;
        row.map(PackageRow::into_order).transpose()
    }

    fn result_facts(&self, eid: Option<&str>, claimed_transaction_id: Option<&[u8]>) -> Result<ResultFacts, EimError> {
        let mut conn = self.conn()?;
        type Read = (Option<String>, Option<EuiccRow>, Option<PackageRow>);
        let (eid, euicc, order) = dispatch!(&mut *conn, c => (|| -> diesel::QueryResult<Read> {
            let eid = match (eid, claimed_transaction_id) {
                (Some(eid), _) => Some(eid.to_owned()),
                // Two eUICCs with one eimTransactionId cannot be told apart without eidValue.
                (None, Some(tid)) => match ep::table
                    .filter(ep::eim_transaction_id.eq(tid))
                    .select(ep::eid)
                    .limit(2)
                    .load::<String>(c)?
                    .as_slice()
                {
                    [eid] => Some(eid.clone()),
                    _ => None,
                },
                (None, None) => None,
            };
            let Some(eid) = eid else { return Ok((None, None, None)) };
            let euicc = ee::table.find(&eid).select(EuiccRow::as_select()).first(c).optional()?;
            let order = match (&euicc, claimed_transaction_id) {
                (Some(_), Some(tid)) => ep::table
                    .filter(ep::eid.eq(&eid))
                    .filter(ep::eim_transaction_id.eq(tid))
                    .select(PackageRow::as_select())
                    .first(c)
                    .optional()?,
                _ => None,
            };
            Ok((Some(eid), euicc, order))
        })())?;
        Ok(ResultFacts {
            eid,
            euicc: euicc.map(EuiccRow::into_record).transpose()?,
            order: order.map(PackageRow::into_order).transpose()?,
        })
    }

    fn find_eid_by_transaction(&self, eim_transaction_id: &[u8]) -> Result<Option<String>, EimError> {
        let mut conn = self.conn()?;
        let eids = dispatch!(&mut *conn, c => ep::table
            .filter(ep::eim_transaction_id.eq(eim_transaction_id))
            .select(ep::eid)
            .limit(2)
            .load::<String>(c))?;
        // Two eUICCs with one eimTransactionId cannot be told apart without eidValue.
        Ok(match eids.as_slice() {
            [eid] => Some(eid.clone()),
            _ => None,
        })
    }

    fn find_order(&self, order_id: i64) -> Result<Option<PackageOrder>, EimError> {
        let mut conn = self.conn()?;
        let row =
            dispatch!(&mut *conn, c => ep::table.find(order_id).select(PackageRow::as_select()).first(c).optional())?;
        row.map(PackageRow::into_order).transpose()
    }

    fn apply(&self, t: &Transition, now: i64) -> Result<PackageOrder, EimError> {
        let finished_at = t.to.is_final().then_some(now);
        let failure_reason = t.failure_reason.as_ref().map(FailureReason::as_string);
        let moved = self.write(|conn| {
            write_transaction!(conn, c => {
                let target = ep::table.find(t.order_id).filter(ep::state.eq(t.from.as_str()));
                let changes = (
                    ep::state.eq(t.to.as_str()),
                    ep::expires_at.eq(t.expires_at),
                    ep::failure_reason.eq(failure_reason.as_deref()),
                    ep::finished_at.eq(finished_at),
                    ep::updated_at.eq(now),
                );
                let row = match &t.result_der {
                    Some(der) => diesel::update(target)
                        .set((changes, ep::result_der.eq(Some(der))))
                        .returning(PackageRow::as_returning())
                        .prepared().get_result::<PackageRow>(c)
                        .optional()?,
                    None => diesel::update(target)
                        .set(changes)
                        .returning(PackageRow::as_returning())
                        .prepared().get_result::<PackageRow>(c)
                        .optional()?,
                };
                if let Some(row) = &row {
                    for change in &t.profile_changes {
                        apply_profile_change!(c, &row.eid, change, now);
                    }
                }
                Ok::<_, DieselError>(row)
            })
        })?;
        match moved {
            Some(row) => row.into_order(),
            None => Err(EimError::StateConflict { order_id: t.order_id, expected: t.from.as_str() }),
        }
    }

    fn known_profiles(&self, eid: &str) -> Result<Vec<KnownProfile>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => pf::table
            .filter(pf::eid.eq(eid))
            .order(pf::iccid.asc())
            .select((pf::iccid, pf::state, pf::fallback_attribute, pf::last_seen))
            .load::<(String, String, bool, i64)>(c))?;
        Ok(rows
            .into_iter()
            .map(|(iccid, state, fallback_attribute, last_seen)| KnownProfile {
                eid: eid.to_owned(),
                iccid,
                state,
                fallback_attribute,
                last_seen,
            })
            .collect())
    }

    fn expire_due(&self, now: i64) -> Result<usize, EimError> {
        let expired = self.write(|conn| {
            write_transaction!(conn, c => {
                let mut n = 0;
                for (from, reason) in [
                    (OrderState::Queued, FailureReason::NotFetched),
                    (OrderState::Dispatched, FailureReason::NoResult),
                ] {
                    n += diesel::update(
                        ep::table.filter(ep::state.eq(from.as_str())).filter(ep::expires_at.le(now)),
                    )
                    .set((
                        ep::state.eq(OrderState::Expired.as_str()),
                        ep::failure_reason.eq(Some(reason.as_string())),
                        ep::expires_at.eq(None::<i64>),
                        ep::finished_at.eq(Some(now)),
                        ep::updated_at.eq(now),
                    ))
                    .prepared().execute(c)?;
                }
                Ok::<_, DieselError>(n)
            })
        })?;
        if expired > 0 {
            tracing::info!(expired, "eIM orders expired (dispatch / no-show timeout)");
        }
        Ok(expired)
    }
}
