//! [`Es2Repository`] for [`Store`]: ES2+ steps (SGP.22 v2.5 §5.3) whose state change and recorded answer share one
//! transaction (`es2_calls`), so a retried call never changes anything twice; plus the device lock ES9+ reads.
//!
//! A duplicate call racing the first: on PostgreSQL the second insert into `es2_calls` violates the primary key and
//! rolls the whole transaction back ([`Recorded::Replayed`]); on SQLite the immediate transactions serialize, and
//! the second copy's compare-and-set fails, after which the binding finds the first answer via `record_call`. A
//! DownloadOrder by profile type on PostgreSQL first takes an advisory lock on the call, so a second copy does not
//! skip the first's claimed row, find the pool empty and record that failure as the call's answer.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::clock::now_ms;
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::es2::{Answer, CallKey, Es2Repository, ProfileSelector, Recorded, StoredCall};
use crate::smdp::session::SessionState;
use crate::smdp::{NewOrder, OrderRecord, ProfileRecord, ProfileState, RepoError};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{download_sessions as ds, es2_calls as ec, orders as od, profiles as pr};
use crate::store::smdp::downloads::OrderRow;
use crate::store::smdp::profiles::{compare_and_set_outcome, ProfileRow};
use crate::store::Store;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ec)]
struct CallRow {
    function_name: String,
    request_digest: Vec<u8>,
    response: String,
}

impl From<CallRow> for StoredCall {
    fn from(r: CallRow) -> StoredCall {
        StoredCall { function: r.function_name, request_digest: r.request_digest, response: r.response }
    }
}

const OPEN_SESSIONS: [&str; 3] = ["initiated", "authenticated", "bpp_delivered"];

/// Inserts the call's answer (inside the step's transaction).
macro_rules! insert_call {
    ($c:expr, $call:expr, $answer:expr, $now:expr) => {
        diesel::insert_into(ec::table)
            .values((
                ec::operator_id.eq(&$call.operator_id),
                ec::function_requester_identifier.eq(&$call.requester),
                ec::function_call_identifier.eq(&$call.call_id),
                ec::function_name.eq($call.function),
                ec::request_digest.eq($call.request_digest.as_slice()),
                ec::response.eq($answer),
                ec::created_at.eq($now),
            ))
            .execute($c)
    };
}

/// The state of an operator's profile, inside a transaction.
macro_rules! state_of {
    ($c:expr, $operator:expr, $iccid:expr) => {
        pr::table
            .filter(pr::operator_id.eq($operator))
            .filter(pr::iccid.eq($iccid))
            .select(pr::state)
            .first::<String>($c)
            .optional()
    };
}

fn is_duplicate_call(e: &StoreError) -> bool {
    matches!(e, StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
}

/// The advisory-lock key of one ES2+ call (operator, functionRequesterIdentifier, functionCallIdentifier).
fn call_lock_key(call: &CallKey) -> String {
    format!("es2-call\u{1f}{}\u{1f}{}\u{1f}{}", call.operator_id, call.requester, call.call_id)
}

fn parse_state(s: &str) -> Result<ProfileState, RepoError> {
    s.parse().map_err(|e| RepoError::Backend(format!("profiles.state: {e}")))
}

impl Store {
    /// Runs one recorded step; a primary-key clash on `es2_calls` (a concurrent copy of the call won) becomes
    /// [`Recorded::Replayed`] with the stored answer.
    fn recorded<T>(
        &self,
        call: &CallKey,
        step: impl FnMut(&mut DbConnection) -> Result<Result<(T, String), RepoError>, StoreError>,
    ) -> Result<Recorded<T>, RepoError> {
        match self.write(step) {
            Ok(Ok((value, answer))) => Ok(Recorded::Applied { value, answer }),
            Ok(Err(e)) => Err(e),
            Err(e) if is_duplicate_call(&e) => match self.find_call(call)? {
                Some(stored) => Ok(Recorded::Replayed(stored)),
                None => Err(RepoError::from(e)),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The device lock of an operator's profile (ES9+ AuthenticateClient, §5.6.3).
    pub(crate) fn profile_device_lock(&self, operator_id: &str, iccid: &str) -> Result<DeviceLock, RepoError> {
        let mut conn = self.conn()?;
        let row: Option<(Option<String>, Option<String>)> = dispatch!(&mut *conn, c => pr::table
            .filter(pr::operator_id.eq(operator_id))
            .filter(pr::iccid.eq(iccid))
            .select((pr::allowed_imeis, pr::allowed_tacs))
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        let (imeis, tacs) = row.ok_or(RepoError::NotFound)?;
        Ok(DeviceLock::from_stored(imeis.as_deref(), tacs.as_deref()))
    }
}

impl Es2Repository for Store {
    fn find_call(&self, call: &CallKey) -> Result<Option<StoredCall>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ec::table
            .find((&call.operator_id, &call.requester, &call.call_id))
            .select(CallRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        Ok(row.map(StoredCall::from))
    }

    fn record_call(&self, call: &CallKey, answer: &str) -> Result<StoredCall, RepoError> {
        let now = now_ms();
        match self.write(|conn| write_transaction!(conn, c => insert_call!(c, call, answer, now))) {
            Ok(_) => Ok(StoredCall {
                function: call.function.to_owned(),
                request_digest: call.request_digest.to_vec(),
                response: answer.to_owned(),
            }),
            Err(e) if is_duplicate_call(&e) => self.find_call(call)?.ok_or_else(|| e.into()),
            Err(e) => Err(e.into()),
        }
    }

    fn es2_download_order(
        &self,
        call: &CallKey,
        selector: &ProfileSelector,
        eid: Option<&str>,
        lock: &DeviceLock,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Option<Recorded<ProfileRecord>>, RepoError> {
        let to = ProfileState::ordered_for(eid);
        let now = now_ms();
        let (imeis, tacs) = (DeviceLock::stored(&lock.imeis), DeviceLock::stored(&lock.tacs));
        let available = ProfileState::Available.as_str();
        let operator = call.operator_id.as_str();
        // Moves the row `$id` (still Available) to `to`, with the EID and the lock; the state filter keeps it a CAS.
        macro_rules! take {
            ($c:expr, $filter:expr) => {
                diesel::update(
                    pr::table.filter(pr::operator_id.eq(operator)).filter($filter).filter(pr::state.eq(available)),
                )
                .set((
                    pr::state.eq(to.as_str()),
                    pr::eid.eq(eid),
                    pr::allowed_imeis.eq(&imeis),
                    pr::allowed_tacs.eq(&tacs),
                    pr::updated_at.eq(now),
                ))
                .returning(ProfileRow::as_returning())
                .prepared()
                .get_result($c)
                .optional()
            };
        }
        // Records the answer with the change; `None` (nothing taken) is reported without a record.
        macro_rules! finish {
            ($c:expr, $taken:expr) => {{
                let Some(row) = $taken else { return Ok::<_, DieselError>(Ok(None)) };
                let record = match row.into_record() {
                    Ok(r) => r,
                    Err(e) => return Ok::<_, DieselError>(Err(e)),
                };
                let text = answer(&record);
                insert_call!($c, call, &text, now)?;
                Ok::<_, DieselError>(Ok(Some((record, text))))
            }};
        }
        let outcome = self.write(|conn| {
            match (conn, selector) {
                (conn, ProfileSelector::Iccid(iccid)) => write_transaction!(conn, c => {
                    let taken: Option<ProfileRow> = take!(c, pr::iccid.eq(iccid))?;
                    if taken.is_none() {
                        // Why nothing moved: say it (moved on, or not this operator's profile).
                        let state = state_of!(c, operator, iccid)?;
                        return Ok::<_, DieselError>(Err(match state {
                            Some(actual) => match parse_state(&actual) {
                                Ok(actual) => RepoError::StateConflict { actual },
                                Err(e) => e,
                            },
                            None => RepoError::NotFound,
                        }));
                    }
                    finish!(c, taken)
                }),
                // By profile type: the oldest Available one; rows locked by a concurrent claim are skipped.
                (DbConnection::Pg(conn), ProfileSelector::ProfileType(t)) => conn
                    .build_transaction()
                    .read_write()
                    .run(|c| {
                        // Two copies of one call at once: the second would skip the row the first holds and report
                        // the pool empty, and its failure could be recorded before the first commits. Copies of a
                        // call wait for each other instead (the lock ends with the transaction).
                        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                            .bind::<diesel::sql_types::Text, _>(call_lock_key(call))
                            .execute(c)?;
                        let id = pr::table
                            .filter(pr::operator_id.eq(operator))
                            .filter(pr::profile_type.eq(t))
                            .filter(pr::state.eq(available))
                            .order(pr::id)
                            .select(pr::id)
                            .for_update()
                            .skip_locked()
                            .first::<i64>(c)
                            .optional()?;
                        let Some(id) = id else { return Ok::<_, DieselError>(Ok(None)) };
                        let taken: Option<ProfileRow> = take!(c, pr::id.eq(id))?;
                        finish!(c, taken)
                    })
                    .map_err(StoreError::from),
                // BEGIN IMMEDIATE holds the write lock from the read on: claims are serialized.
                (DbConnection::Sqlite(conn), ProfileSelector::ProfileType(t)) => conn
                    .immediate_transaction(|c| {
                        let id = pr::table
                            .filter(pr::operator_id.eq(operator))
                            .filter(pr::profile_type.eq(t))
                            .filter(pr::state.eq(available))
                            .order(pr::id)
                            .select(pr::id)
                            .first::<i64>(c)
                            .optional()?;
                        let Some(id) = id else { return Ok::<_, DieselError>(Ok(None)) };
                        let taken: Option<ProfileRow> = take!(c, pr::id.eq(id))?;
                        finish!(c, taken)
                    })
                    .map_err(StoreError::from),
            }
        });
        match outcome {
            Ok(Ok(Some((value, answer)))) => Ok(Some(Recorded::Applied { value, answer })),
            Ok(Ok(None)) => Ok(None),
            Ok(Err(e)) => Err(e),
            Err(e) if is_duplicate_call(&e) => {
                Ok(Some(Recorded::Replayed(self.find_call(call)?.ok_or_else(|| RepoError::from(e))?)))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn es2_confirm_order(
        &self,
        call: &CallKey,
        order: &NewOrder,
        from: ProfileState,
        smds_address: Option<&str>,
        lock: Option<&DeviceLock>,
        release: bool,
        answer: Answer<'_, OrderRecord>,
    ) -> Result<Recorded<OrderRecord>, RepoError> {
        let to = if release { ProfileState::Released } else { ProfileState::Confirmed };
        if !from.can_transition_to(ProfileState::Confirmed) {
            return Err(RepoError::IllegalTransition { from, to: ProfileState::Confirmed });
        }
        let now = now_ms();
        let eid = order.eid.as_ref().map(|e| e.as_str().to_owned());
        let cc_hash = order.cc_hash.map(|h| h.to_vec());
        let lock_columns = lock.map(|l| (DeviceLock::stored(&l.imeis), DeviceLock::stored(&l.tacs)));
        self.recorded(call, |conn| {
            write_transaction!(conn, c => {
                // A matchingId in use changes nothing (a racing insert hits the UNIQUE constraint instead).
                let taken = od::table.filter(od::matching_id.eq(order.matching_id.as_str())).count().get_result::<i64>(c)?;
                if taken > 0 {
                    return Ok::<_, DieselError>(Err(RepoError::Conflict));
                }
                let profile = pr::table
                    .filter(pr::operator_id.eq(&order.operator_id))
                    .filter(pr::iccid.eq(&order.iccid))
                    .filter(pr::state.eq(from.as_str()));
                let moved = diesel::update(profile)
                    .set((pr::state.eq(to.as_str()), pr::eid.eq(&eid), pr::updated_at.eq(now)))
                    .prepared().execute(c)?;
                if moved == 0 {
                    let state = state_of!(c, &order.operator_id, &order.iccid)?;
                    return Ok::<_, DieselError>(Err(match state {
                        Some(actual) => match parse_state(&actual) {
                            Ok(actual) => RepoError::StateConflict { actual },
                            Err(e) => e,
                        },
                        None => RepoError::NotFound,
                    }));
                }
                if let Some((imeis, tacs)) = &lock_columns {
                    diesel::update(pr::table.filter(pr::operator_id.eq(&order.operator_id)).filter(pr::iccid.eq(&order.iccid)))
                        .set((pr::allowed_imeis.eq(imeis), pr::allowed_tacs.eq(tacs)))
                        .prepared().execute(c)?;
                }
                let row: OrderRow = diesel::insert_into(od::table)
                    .values((
                        od::operator_id.eq(&order.operator_id),
                        od::iccid.eq(&order.iccid),
                        od::matching_id.eq(order.matching_id.as_str()),
                        od::eid.eq(&eid),
                        od::cc_hash.eq(&cc_hash),
                        od::cc_attempts_left.eq(order.cc_attempts),
                        od::smds_address.eq(smds_address),
                        od::created_at.eq(now),
                        od::updated_at.eq(now),
                    ))
                    .returning(OrderRow::as_returning())
                    .get_result(c)?;
                let record = row.with_state(to);
                let text = answer(&record);
                insert_call!(c, call, &text, now)?;
                Ok::<_, DieselError>(Ok((record, text)))
            })
        })
    }

    fn es2_cancel_order(
        &self,
        call: &CallKey,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError> {
        if !from.can_transition_to(to) {
            return Err(RepoError::IllegalTransition { from, to });
        }
        let now = now_ms();
        let operator = call.operator_id.as_str();
        let back_to_pool = to == ProfileState::Available;
        self.recorded(call, |conn| {
            write_transaction!(conn, c => {
                let expected = pr::table
                    .filter(pr::operator_id.eq(operator))
                    .filter(pr::iccid.eq(iccid))
                    .filter(pr::state.eq(from.as_str()));
                let updated: Option<ProfileRow> = if back_to_pool {
                    diesel::update(expected)
                        .set((
                            pr::state.eq(to.as_str()),
                            pr::eid.eq(None::<String>),
                            pr::allowed_imeis.eq(None::<String>),
                            pr::allowed_tacs.eq(None::<String>),
                            pr::updated_at.eq(now),
                        ))
                        .returning(ProfileRow::as_returning())
                        .prepared().get_result(c)
                        .optional()?
                } else {
                    diesel::update(expected)
                        .set((pr::state.eq(to.as_str()), pr::updated_at.eq(now)))
                        .returning(ProfileRow::as_returning())
                        .prepared().get_result(c)
                        .optional()?
                };
                let Some(row) = updated else {
                    let state = state_of!(c, operator, iccid)?;
                    return Ok::<_, DieselError>(compare_and_set_outcome(Err(state)).map(|r| (r, String::new())));
                };
                // The orders of this profile are withdrawn with their open download sessions.
                let order_ids: Vec<i64> = od::table
                    .filter(od::operator_id.eq(operator))
                    .filter(od::iccid.eq(iccid))
                    .select(od::id)
                    .load(c)?;
                diesel::update(
                    ds::table
                        .filter(ds::operator_id.eq(operator))
                        .filter(ds::order_id.eq_any(&order_ids))
                        .filter(ds::state.eq_any(OPEN_SESSIONS)),
                )
                .set((ds::state.eq(SessionState::Cancelled.as_str()), ds::updated_at.eq(now)))
                .execute(c)?;
                diesel::delete(od::table.filter(od::operator_id.eq(operator)).filter(od::id.eq_any(&order_ids))).execute(c)?;
                let record = match row.into_record() {
                    Ok(r) => r,
                    Err(e) => return Ok::<_, DieselError>(Err(e)),
                };
                let text = answer(&record);
                insert_call!(c, call, &text, now)?;
                Ok::<_, DieselError>(Ok((record, text)))
            })
        })
    }

    fn es2_release_profile(
        &self,
        call: &CallKey,
        iccid: &str,
        answer: Answer<'_, ProfileRecord>,
    ) -> Result<Recorded<ProfileRecord>, RepoError> {
        let now = now_ms();
        let operator = call.operator_id.as_str();
        self.recorded(call, |conn| {
            write_transaction!(conn, c => {
                let updated: Option<ProfileRow> = diesel::update(
                    pr::table
                        .filter(pr::operator_id.eq(operator))
                        .filter(pr::iccid.eq(iccid))
                        .filter(pr::state.eq(ProfileState::Confirmed.as_str())),
                )
                .set((pr::state.eq(ProfileState::Released.as_str()), pr::updated_at.eq(now)))
                .returning(ProfileRow::as_returning())
                .prepared().get_result(c)
                .optional()?;
                let Some(row) = updated else {
                    let state = state_of!(c, operator, iccid)?;
                    return Ok::<_, DieselError>(compare_and_set_outcome(Err(state)).map(|r| (r, String::new())));
                };
                let record = match row.into_record() {
                    Ok(r) => r,
                    Err(e) => return Ok::<_, DieselError>(Err(e)),
                };
                let text = answer(&record);
                insert_call!(c, call, &text, now)?;
                Ok::<_, DieselError>(Ok((record, text)))
            })
        })
    }

    fn orders_of_profile(&self, operator_id: &str, iccid: &str) -> Result<Vec<OrderRecord>, RepoError> {
        let mut conn = self.conn()?;
        let (rows, state) = dispatch!(&mut *conn, c => od::table
            .filter(od::operator_id.eq(operator_id))
            .filter(od::iccid.eq(iccid))
            .order(od::id.desc())
            .select(OrderRow::as_select())
            .load(c)
            .and_then(|rows| state_of!(c, operator_id, iccid).map(|s| (rows, s))))
        .map_err(StoreError::from)?;
        let Some(state) = state else { return Ok(Vec::new()) };
        let state = parse_state(&state)?;
        Ok(rows.into_iter().map(|r| r.with_state(state)).collect())
    }
}
