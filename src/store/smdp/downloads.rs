//! [`DownloadRepository`] for [`Store`]: profile packages, orders, ES9+ download sessions and the
//! notification inbox (SGP.22 v2.5 §3.1, §5.6).
//!
//! Every state change is compare-and-set (`UPDATE … WHERE state = <expected>`) inside one write
//! transaction (`BEGIN IMMEDIATE` on SQLite), so two devices racing for one matchingId or two nodes
//! serving one transactionId get exactly one success. An order's state is its profile's `profiles.state`.
//! The ES2+ progress event of a change (§5.3.5), when the caller gives one, is inserted in the same transaction.

use crate::clock::now_ms;
use crate::store::prepared::PreparedExt;
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::smdp::download_repository::{
    AuthenticationFacts, AuthenticationOutcome, BindError, DownloadFacts, DownloadRepository, ExpiredSession,
    InstallOutcome, OrderKey, OrderOutcome, StoredNotification, StoredPackage,
};
use crate::smdp::inventory::ProfilePackageRecord;
use crate::smdp::progress::ProgressEvent;
use crate::smdp::session::{AuthenticatedUpdate, NewSession, SessionRecord, SessionState};
use crate::smdp::{NewOrder, OrderRecord, ProfileState, RepoError, TransactionId};
use crate::store::connection::{dispatch, write_transaction};
use crate::store::error::StoreError;
use crate::store::schema::{download_sessions as ds, notifications as nt, orders as od, profiles as pr};
use crate::store::smdp::package_lookup::{read_package_rows, PackageRows};
use crate::store::smdp::progress::insert_progress;
use crate::store::Store;

/// An `orders` row; its state is the profile's (also read by the ES2+ store, `crate::store::smdp::es2`).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = od)]
pub(in crate::store) struct OrderRow {
    id: i64,
    pub(in crate::store) operator_id: String,
    pub(in crate::store) iccid: String,
    matching_id: String,
    eid: Option<String>,
    cc_hash: Option<Vec<u8>>,
    cc_attempts_left: i32,
    session_id: Option<String>,
}

impl OrderRow {
    /// The order with its profile's `state`.
    pub(in crate::store) fn with_state(self, state: ProfileState) -> OrderRecord {
        OrderRecord {
            id: self.id,
            operator_id: self.operator_id,
            iccid: self.iccid,
            matching_id: self.matching_id,
            eid: self.eid,
            cc_hash: self.cc_hash,
            cc_attempts_left: self.cc_attempts_left,
            session_id: self.session_id,
            state,
        }
    }

    fn into_record(self, state: &str) -> Result<OrderRecord, RepoError> {
        Ok(self.with_state(parse_profile_state(state)?))
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ds)]
pub(in crate::store) struct SessionRow {
    transaction_id: String,
    state: String,
    server_address: String,
    curve: String,
    ci_pkid: Vec<u8>,
    server_challenge: Vec<u8>,
    euicc_challenge: Vec<u8>,
    eid: Option<String>,
    order_id: Option<i64>,
    operator_id: Option<String>,
    iccid: Option<String>,
    euicc_public_key: Option<Vec<u8>>,
    smdp_signature2: Option<Vec<u8>>,
    cc_required: bool,
    otpk_euicc: Option<Vec<u8>>,
    bpp: Option<Vec<u8>>,
    expires_at: i64,
}

impl SessionRow {
    pub(in crate::store) fn into_record(self) -> Result<SessionRecord, RepoError> {
        Ok(SessionRecord {
            state: self.state.parse().map_err(|e| RepoError::Backend(format!("download_sessions.state: {e}")))?,
            curve: self.curve.parse().map_err(|e| RepoError::Backend(format!("download_sessions.curve: {e}")))?,
            transaction_id: self.transaction_id,
            server_address: self.server_address,
            ci_pkid: self.ci_pkid,
            server_challenge: self.server_challenge,
            euicc_challenge: self.euicc_challenge,
            eid: self.eid,
            order_id: self.order_id,
            operator_id: self.operator_id,
            iccid: self.iccid,
            euicc_public_key: self.euicc_public_key,
            smdp_signature2: self.smdp_signature2,
            cc_required: self.cc_required,
            otpk_euicc: self.otpk_euicc,
            bpp: self.bpp,
            expires_at: self.expires_at,
        })
    }
}

pub(in crate::store) fn parse_profile_state(stored: &str) -> Result<ProfileState, RepoError> {
    stored.parse().map_err(|e| RepoError::Backend(format!("profiles.state: {e}")))
}

pub(in crate::store) const OPEN_STATES: [&str; 3] = ["initiated", "authenticated", "bpp_delivered"];

/// The state of an operator's profile, inside any transaction.
macro_rules! profile_state {
    ($c:expr, $operator:expr, $iccid:expr) => {
        pr::table
            .filter(pr::operator_id.eq($operator))
            .filter(pr::iccid.eq($iccid))
            .select(pr::state)
            .first::<String>($c)
            .optional()
    };
}

/// Moves an operator's profile `from` (any of) → `to`; the number of rows changed.
macro_rules! move_profile {
    ($c:expr, $operator:expr, $iccid:expr, $from:expr, $to:expr, $now:expr) => {
        diesel::update(
            pr::table
                .filter(pr::operator_id.eq($operator))
                .filter(pr::iccid.eq($iccid))
                .filter(pr::state.eq_any($from)),
        )
        .set((pr::state.eq($to), pr::updated_at.eq($now)))
        .prepared()
        .execute($c)
    };
}

/// Why [`claim_order!`] did not bind.
pub(in crate::store) enum Lost {
    /// The order is held by another session or its profile left Released (the profile's state).
    Taken(String),
    /// The session is no longer Initiated.
    SessionGone,
}

/// AuthenticateClient's claim (§5.6.3), inside the caller's write transaction: the order claimed by the session
/// (compare-and-set on its holder and its profile's state) and the session Initiated → Authenticated. The same
/// eUICC starting over (its LPA lost an earlier session before the BPP) takes the order over from that session,
/// which is cancelled; any other holder keeps it. Yields `Result<Result<(), Lost>, DieselError>`; on `Lost` the
/// caller rolls back what was changed (a lost claim may have cancelled the old session already).
macro_rules! claim_order {
    ($c:expr, $transaction_id:expr, $order:expr, $u:expr, $now:expr) => {{
        let (transaction_id, order, u, now): (&str, &OrderRecord, &AuthenticatedUpdate, i64) =
            ($transaction_id, $order, $u, $now);
        (|| -> Result<Result<(), Lost>, DieselError> {
            let state = profile_state!($c, &order.operator_id, &order.iccid)?.unwrap_or_default();
            if state != ProfileState::Released.as_str() {
                return Ok(Err(Lost::Taken(state)));
            }
            let holder: Option<String> = od::table
                .filter(od::operator_id.eq(&order.operator_id))
                .filter(od::id.eq(order.id))
                .select(od::session_id)
                .first::<Option<String>>($c)
                .optional()?
                .flatten();
            let mut expected = None::<String>;
            if let Some(old) = holder.filter(|old| old != transaction_id) {
                let abandoned = diesel::update(ds::table.find(&old).filter(ds::eid.eq(&u.eid)).filter(
                    ds::state.eq_any([SessionState::Initiated.as_str(), SessionState::Authenticated.as_str()]),
                ))
                .set((ds::state.eq(SessionState::Cancelled.as_str()), ds::updated_at.eq(now)))
                .prepared()
                .execute($c)?;
                if abandoned == 0 {
                    return Ok(Err(Lost::Taken(state)));
                }
                expected = Some(old);
            }
            let claimed = match &expected {
                Some(old) => diesel::update(
                    od::table
                        .filter(od::operator_id.eq(&order.operator_id))
                        .filter(od::id.eq(order.id))
                        .filter(od::session_id.eq(old)),
                )
                .set((od::session_id.eq(transaction_id), od::updated_at.eq(now)))
                .prepared()
                .execute($c)?,
                None => diesel::update(
                    od::table
                        .filter(od::operator_id.eq(&order.operator_id))
                        .filter(od::id.eq(order.id))
                        .filter(od::session_id.is_null().or(od::session_id.eq(transaction_id))),
                )
                .set((od::session_id.eq(transaction_id), od::updated_at.eq(now)))
                .prepared()
                .execute($c)?,
            };
            if claimed == 0 {
                return Ok(Err(Lost::Taken(state)));
            }
            let moved =
                diesel::update(ds::table.find(transaction_id).filter(ds::state.eq(SessionState::Initiated.as_str())))
                    .set((
                        ds::state.eq(SessionState::Authenticated.as_str()),
                        ds::eid.eq(&u.eid),
                        ds::order_id.eq(u.order_id),
                        ds::operator_id.eq(&u.operator_id),
                        ds::iccid.eq(&u.iccid),
                        ds::euicc_public_key.eq(&u.euicc_public_key),
                        ds::smdp_signature2.eq(&u.smdp_signature2),
                        ds::cc_required.eq(u.cc_required),
                        ds::updated_at.eq(now),
                    ))
                    .prepared()
                    .execute($c)?;
            if moved == 0 {
                return Ok(Err(Lost::SessionGone));
            }
            Ok(Ok(()))
        })()
    }};
}

pub(in crate::store) use {claim_order, profile_state};

impl Store {
    fn order_with_state(&self, row: Option<OrderRow>) -> Result<Option<OrderRecord>, RepoError> {
        let Some(row) = row else { return Ok(None) };
        let mut conn = self.conn()?;
        let state =
            dispatch!(&mut *conn, c => profile_state!(c, &row.operator_id, &row.iccid)).map_err(StoreError::from)?;
        let state = state.ok_or_else(|| RepoError::Backend(format!("order {} has no profile", row.id)))?;
        row.into_record(&state).map(Some)
    }
}

impl DownloadRepository for Store {
    fn import_profile_package(&self, package: &ProfilePackageRecord, profile_type: &str) -> Result<(), RepoError> {
        use crate::smdp::inventory::InventoryRepository;
        match self.import_packages(std::slice::from_ref(package), profile_type, true)?.pop() {
            Some(Ok(())) => Ok(()),
            Some(Err(reason)) if reason.ends_with("already exists") => Err(RepoError::Conflict),
            Some(Err(reason)) => Err(RepoError::Backend(reason)),
            None => Err(RepoError::Backend("nothing imported".into())),
        }
    }

    fn stored_package(&self, operator_id: &str, iccid: &str) -> Result<Option<StoredPackage>, RepoError> {
        self.load_stored_package(operator_id, iccid)
    }

    // ES2+ ConfirmOrder (§5.3.2). The caller checked `from` ∈ {Allocated, Linked}; the CAS re-checks it.
    fn confirm_order(&self, order: &NewOrder, from: ProfileState) -> Result<OrderRecord, RepoError> {
        if !from.can_transition_to(ProfileState::Confirmed) {
            return Err(RepoError::IllegalTransition { from, to: ProfileState::Confirmed });
        }
        let now = now_ms();
        let eid = order.eid.as_ref().map(|e| e.as_str().to_owned());
        let cc_hash = order.cc_hash.map(|h| h.to_vec());
        let confirmed = ProfileState::Confirmed.as_str();
        let outcome = self.write(|conn| {
            write_transaction!(conn, c => {
                let moved = diesel::update(
                    pr::table
                        .filter(pr::operator_id.eq(&order.operator_id))
                        .filter(pr::iccid.eq(&order.iccid))
                        .filter(pr::state.eq(from.as_str())),
                )
                .set((pr::state.eq(confirmed), pr::eid.eq(&eid), pr::updated_at.eq(now)))
                .prepared().execute(c)?;
                if moved == 0 {
                    return profile_state!(c, &order.operator_id, &order.iccid).map(Err);
                }
                diesel::insert_into(od::table)
                    .values((
                        od::operator_id.eq(&order.operator_id),
                        od::iccid.eq(&order.iccid),
                        od::matching_id.eq(order.matching_id.as_str()),
                        od::eid.eq(&eid),
                        od::cc_hash.eq(&cc_hash),
                        od::cc_attempts_left.eq(order.cc_attempts),
                        od::created_at.eq(now),
                        od::updated_at.eq(now),
                    ))
                    .returning(OrderRow::as_returning())
                    .get_result(c)
                    .map(Ok)
            })
        })?;
        match outcome {
            Ok(row) => row.into_record(confirmed),
            Err(Some(actual)) => Err(RepoError::StateConflict { actual: parse_profile_state(&actual)? }),
            Err(None) => Err(RepoError::NotFound),
        }
    }

    fn find_order_by_matching_id(&self, matching_id: &str) -> Result<Option<OrderRecord>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => od::table
            .filter(od::matching_id.eq(matching_id))
            .select(OrderRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        self.order_with_state(row)
    }

    fn find_order_by_id(&self, operator_id: &str, id: i64) -> Result<Option<OrderRecord>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => od::table
            .filter(od::operator_id.eq(operator_id))
            .filter(od::id.eq(id))
            .select(OrderRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        self.order_with_state(row)
    }

    fn device_lock(&self, operator_id: &str, iccid: &str) -> Result<crate::smdp::device_lock::DeviceLock, RepoError> {
        self.profile_device_lock(operator_id, iccid)
    }

    fn find_order_for_eid(&self, eid: &str) -> Result<Option<OrderRecord>, RepoError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => od::table
            .filter(od::eid.eq(eid))
            .filter(od::session_id.is_null())
            .order(od::id)
            .select(OrderRow::as_select())
            .load(c))
        .map_err(StoreError::from)?;
        drop(conn);
        for row in rows {
            if let Some(order) = self.order_with_state(Some(row))? {
                if order.state == ProfileState::Released {
                    return Ok(Some(order));
                }
            }
        }
        Ok(None)
    }

    fn record_confirmation_code_failure_reporting(
        &self,
        operator_id: &str,
        order_id: i64,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError> {
        let now = now_ms();
        let left = self.write(|conn| {
            write_transaction!(conn, c => {
                let left: i32 = diesel::update(od::table.filter(od::operator_id.eq(operator_id)).filter(od::id.eq(order_id)))
                    .set((od::cc_attempts_left.eq(od::cc_attempts_left - 1), od::updated_at.eq(now)))
                    .returning(od::cc_attempts_left)
                    .prepared().get_result(c)?;
                if left <= 0 {
                    let iccid: String = od::table.find(order_id).select(od::iccid).first(c)?;
                    move_profile!(c, operator_id, &iccid, [ProfileState::Released.as_str()], ProfileState::Error.as_str(), now)?;
                }
                if let Some(event) = progress(left) {
                    insert_progress!(c, &event)?;
                }
                Ok::<_, DieselError>(left)
            })
        })?;
        Ok(left)
    }

    fn insert_session(&self, s: &NewSession) -> Result<(), RepoError> {
        let now = now_ms();
        self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(ds::table)
                .values((
                    ds::transaction_id.eq(s.transaction_id.to_hex()),
                    ds::state.eq(SessionState::Initiated.as_str()),
                    ds::server_address.eq(&s.server_address),
                    ds::curve.eq(s.curve.short_name()),
                    ds::ci_pkid.eq(&s.ci_pkid),
                    ds::server_challenge.eq(s.server_challenge.as_slice()),
                    ds::euicc_challenge.eq(s.euicc_challenge.as_slice()),
                    ds::cc_required.eq(false),
                    ds::expires_at.eq(s.expires_at),
                    ds::created_at.eq(now),
                    ds::updated_at.eq(now),
                ))
                .execute(c))
        })?;
        Ok(())
    }

    fn count_unbound_sessions(&self) -> Result<u64, RepoError> {
        let mut conn = self.conn()?;
        let n: i64 = dispatch!(&mut *conn, c => ds::table.filter(ds::order_id.is_null()).count().get_result(c))
            .map_err(StoreError::from)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    // Issue 10 item 4: nothing refers to a session that never bound an order (no order row, no audit row — the
    // audit triggers of migration `…_abuse_limits` start a session's trail when it binds).
    fn delete_unbound_sessions(&self, now: i64) -> Result<usize, RepoError> {
        let deleted = self.write(|conn| {
            write_transaction!(conn, c => diesel::delete(
                ds::table.filter(ds::order_id.is_null()).filter(ds::expires_at.le(now)),
            )
            .execute(c))
        })?;
        Ok(deleted)
    }

    fn find_session(&self, transaction_id: &str) -> Result<Option<SessionRecord>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ds::table
            .find(transaction_id)
            .select(SessionRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        row.map(SessionRow::into_record).transpose()
    }

    fn authentication_facts(
        &self,
        transaction_id: &TransactionId,
        order_key: Option<OrderKey<'_>>,
    ) -> Result<AuthenticationFacts, RepoError> {
        self.load_authentication_facts(transaction_id, order_key)
    }

    fn record_authentication(
        &self,
        transaction_id: &TransactionId,
        outcome: AuthenticationOutcome<'_>,
    ) -> Result<Result<(), BindError>, RepoError> {
        self.record_authentication_outcome(transaction_id, outcome)
    }

    fn bind_session_to_order_reporting(
        &self,
        transaction_id: &str,
        order: &OrderRecord,
        u: &AuthenticatedUpdate,
        progress: Option<&ProgressEvent>,
    ) -> Result<(), BindError> {
        let now = now_ms();
        let outcome = self.write(|conn| {
            write_transaction!(conn, c => {
                match claim_order!(c, transaction_id, order, u, now)? {
                    Err(Lost::Taken(state)) => Ok::<_, DieselError>(Err(state)),
                    // Undo the claim: the session was used or ended meanwhile.
                    Err(Lost::SessionGone) => Err(DieselError::RollbackTransaction),
                    Ok(()) => {
                        if let Some(event) = progress {
                            insert_progress!(c, event)?;
                        }
                        Ok(Ok(()))
                    }
                }
            })
        });
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(state)) => {
                Err(BindError::OrderTaken { state: parse_profile_state(&state).unwrap_or(ProfileState::Error) })
            }
            Err(StoreError::Query(DieselError::RollbackTransaction)) => Err(BindError::SessionGone),
            Err(e) => Err(BindError::Repo(e.into())),
        }
    }

    fn download_facts(&self, transaction_id: &TransactionId) -> Result<DownloadFacts, RepoError> {
        let mut conn = self.conn()?;
        let tx = transaction_id.as_hex();
        let authenticated = SessionState::Authenticated.as_str();
        type Read = (Option<SessionRow>, Option<Vec<u8>>, Option<PackageRows>);
        let (session, cc_hash, rows) = dispatch!(&mut *conn, c => (|| -> QueryResult<Read> {
            let session = ds::table.find(tx).select(SessionRow::as_select()).first(c).optional()?;
            let bound = session.as_ref().filter(|s| s.state == authenticated).and_then(|s| {
                Some((s.operator_id.clone()?, s.iccid.clone()?, s.order_id?, s.cc_required))
            });
            let Some((operator_id, iccid, order_id, cc_required)) = bound else { return Ok((session, None, None)) };
            let cc_hash = if cc_required {
                od::table
                    .filter(od::operator_id.eq(&operator_id))
                    .filter(od::id.eq(order_id))
                    .select(od::cc_hash)
                    .first::<Option<Vec<u8>>>(c)
                    .optional()?
                    .flatten()
            } else {
                None
            };
            let rows = read_package_rows!(c, &operator_id, &iccid)?;
            Ok((session, cc_hash, Some(rows)))
        })())
        .map_err(StoreError::from)?;
        drop(conn);
        let session = session.map(SessionRow::into_record).transpose()?;
        let package = match (&session, rows) {
            (Some(s), Some(rows)) => match (&s.operator_id, &s.iccid) {
                (Some(operator_id), Some(iccid)) => self.open_package_rows(operator_id, iccid, rows)?,
                _ => None,
            },
            _ => None,
        };
        Ok(DownloadFacts { session, cc_hash, package })
    }

    fn refuse_confirmation_code(
        &self,
        transaction_id: &str,
        operator_id: &str,
        order_id: i64,
        wrong_code: bool,
        progress: &dyn Fn(i32) -> Option<ProgressEvent>,
    ) -> Result<i32, RepoError> {
        let now = now_ms();
        let authenticated = SessionState::Authenticated.as_str();
        let left = self.write(|conn| {
            write_transaction!(conn, c => {
                let order = od::table.filter(od::operator_id.eq(operator_id)).filter(od::id.eq(order_id));
                let left: i32 = if wrong_code {
                    diesel::update(order)
                        .set((od::cc_attempts_left.eq(od::cc_attempts_left - 1), od::updated_at.eq(now)))
                        .returning(od::cc_attempts_left)
                        .prepared().get_result(c)?
                } else {
                    order.select(od::cc_attempts_left).first(c)?
                };
                let iccid: String = od::table.find(order_id).select(od::iccid).first(c)?;
                if wrong_code && left <= 0 {
                    move_profile!(c, operator_id, &iccid, [ProfileState::Released.as_str()], ProfileState::Error.as_str(), now)?;
                }
                // The session ends (the LPA starts again) and its order is free for the next attempt.
                let ended = diesel::update(ds::table.find(transaction_id).filter(ds::state.eq(authenticated)))
                    .set((ds::state.eq(SessionState::Cancelled.as_str()), ds::updated_at.eq(now)))
                    .prepared().execute(c)?;
                if ended == 1 {
                    diesel::update(order.filter(od::session_id.eq(transaction_id)))
                        .set((od::session_id.eq(None::<String>), od::updated_at.eq(now)))
                        .prepared().execute(c)?;
                }
                if let Some(event) = progress(left) {
                    insert_progress!(c, &event)?;
                }
                Ok::<_, DieselError>(left)
            })
        })?;
        Ok(left)
    }

    fn store_bpp_reporting(
        &self,
        transaction_id: &str,
        operator_id: &str,
        iccid: &str,
        otpk_euicc: &[u8],
        bpp: &[u8],
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError> {
        let now = now_ms();
        let stored = self.write(|conn| {
            write_transaction!(conn, c => {
                let moved = diesel::update(
                    ds::table.find(transaction_id).filter(ds::state.eq(SessionState::Authenticated.as_str())),
                )
                .set((
                    ds::state.eq(SessionState::BppDelivered.as_str()),
                    ds::otpk_euicc.eq(otpk_euicc),
                    ds::bpp.eq(bpp),
                    ds::updated_at.eq(now),
                ))
                .prepared().execute(c)?;
                if moved == 1 {
                    move_profile!(c, operator_id, iccid, [ProfileState::Released.as_str()], ProfileState::Downloaded.as_str(), now)?;
                    if let Some(event) = progress {
                        insert_progress!(c, event)?;
                    }
                }
                Ok::<_, DieselError>(moved == 1)
            })
        })?;
        Ok(stored)
    }

    fn end_session_reporting(
        &self,
        transaction_id: &str,
        from: &[SessionState],
        to: SessionState,
        outcome: OrderOutcome,
        progress: Option<&ProgressEvent>,
    ) -> Result<bool, RepoError> {
        let now = now_ms();
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let ended = self.write(|conn| {
            write_transaction!(conn, c => {
                let row: Option<(Option<i64>, Option<String>, Option<String>)> = ds::table
                    .find(transaction_id)
                    .filter(ds::state.eq_any(&from))
                    .select((ds::order_id, ds::operator_id, ds::iccid))
                    .first(c)
                    .optional()?;
                let Some((order_id, operator_id, iccid)) = row else { return Ok::<_, DieselError>(false) };
                diesel::update(ds::table.find(transaction_id).filter(ds::state.eq_any(&from)))
                    .set((ds::state.eq(to.as_str()), ds::updated_at.eq(now)))
                    .prepared().execute(c)?;
                if let (Some(order_id), Some(operator_id), Some(iccid)) = (order_id, operator_id, iccid) {
                    match outcome {
                        OrderOutcome::Release => {
                            diesel::update(
                                od::table
                                    .filter(od::operator_id.eq(&operator_id))
                                    .filter(od::id.eq(order_id))
                                    .filter(od::session_id.eq(transaction_id)),
                            )
                            .set((od::session_id.eq(None::<String>), od::updated_at.eq(now)))
                            .prepared().execute(c)?;
                        }
                        OrderOutcome::Error => {
                            move_profile!(c, &operator_id, &iccid,
                                [ProfileState::Released.as_str(), ProfileState::Downloaded.as_str()],
                                ProfileState::Error.as_str(), now)?;
                        }
                        OrderOutcome::Keep => {}
                    }
                }
                if let Some(event) = progress {
                    insert_progress!(c, event)?;
                }
                Ok::<_, DieselError>(true)
            })
        })?;
        Ok(ended)
    }

    fn record_installation_reporting(
        &self,
        transaction_id: &str,
        success: bool,
        progress: Option<&ProgressEvent>,
    ) -> Result<InstallOutcome, RepoError> {
        let now = now_ms();
        let target = if success { ProfileState::Installed } else { ProfileState::Error };
        let result = self.write(|conn| {
            write_transaction!(conn, c => {
                let row: Option<(Option<String>, Option<String>)> = ds::table
                    .find(transaction_id)
                    .filter(ds::bpp.is_not_null())
                    .select((ds::operator_id, ds::iccid))
                    .first(c)
                    .optional()?;
                let Some((Some(operator_id), Some(iccid))) = row else { return Ok::<_, DieselError>(None) };
                diesel::update(
                    ds::table
                        .find(transaction_id)
                        .filter(ds::state.eq_any([SessionState::BppDelivered.as_str(), SessionState::Expired.as_str()])),
                )
                .set((ds::state.eq(SessionState::Completed.as_str()), ds::updated_at.eq(now)))
                .prepared().execute(c)?;
                let moved = move_profile!(c, &operator_id, &iccid, [ProfileState::Downloaded.as_str()], target.as_str(), now)?;
                let state = profile_state!(c, &operator_id, &iccid)?.unwrap_or_default();
                if let Some(event) = progress {
                    insert_progress!(c, event)?;
                }
                Ok::<_, DieselError>(Some((moved, state)))
            })
        })?;
        match result {
            None => Err(RepoError::NotFound),
            Some((1, _)) => Ok(InstallOutcome::Applied(target)),
            Some((_, state)) => Ok(InstallOutcome::AlreadyFinal(parse_profile_state(&state)?)),
        }
    }

    fn expire_sessions_reporting(&self, now: i64) -> Result<Vec<ExpiredSession>, RepoError> {
        type Due = (String, String, Option<String>, Option<String>, Option<String>);
        let expired: Vec<Due> = self.write(|conn| {
            write_transaction!(conn, c => {
                let due: Vec<Due> = ds::table
                    .filter(ds::state.eq_any(OPEN_STATES))
                    .filter(ds::expires_at.le(now))
                    .select((ds::transaction_id, ds::state, ds::operator_id, ds::iccid, ds::eid))
                    .load(c)?;
                if due.is_empty() {
                    return Ok::<_, DieselError>(due);
                }
                let ids: Vec<&str> = due.iter().map(|d| d.0.as_str()).collect();
                diesel::update(ds::table.filter(ds::transaction_id.eq_any(&ids)).filter(ds::state.eq_any(OPEN_STATES)))
                    .set((ds::state.eq(SessionState::Expired.as_str()), ds::updated_at.eq(now)))
                    .execute(c)?;
                // Orders of sessions without a BPP go back to the pool of claimable orders (profile stays Released).
                let unbound: Vec<&str> =
                    due.iter().filter(|d| d.1 != SessionState::BppDelivered.as_str()).map(|d| d.0.as_str()).collect();
                diesel::update(od::table.filter(od::session_id.eq_any(&unbound)))
                    .set((od::session_id.eq(None::<String>), od::updated_at.eq(now)))
                    .execute(c)?;
                Ok::<_, DieselError>(due)
            })
        })?;
        expired
            .into_iter()
            .map(|(transaction_id, state, operator_id, iccid, eid)| {
                let state = state.parse().map_err(|e| RepoError::Backend(format!("download_sessions.state: {e}")))?;
                Ok(ExpiredSession { transaction_id, state, operator_id, iccid, eid })
            })
            .collect()
    }

    fn insert_notification(&self, pending_notification: &[u8]) -> Result<i64, RepoError> {
        let now = now_ms();
        let id = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(nt::table)
                .values((nt::pending_notification.eq(pending_notification), nt::received_at.eq(now)))
                .returning(nt::id)
                .get_result::<i64>(c))
        })?;
        Ok(id)
    }

    fn unprocessed_notifications(&self, limit: i64) -> Result<Vec<StoredNotification>, RepoError> {
        let mut conn = self.conn()?;
        let rows: Vec<(i64, Vec<u8>, i64)> = dispatch!(&mut *conn, c => nt::table
            .filter(nt::processed_at.is_null())
            .order(nt::id)
            .limit(limit)
            .select((nt::id, nt::pending_notification, nt::received_at))
            .load(c))
        .map_err(StoreError::from)?;
        Ok(rows
            .into_iter()
            .map(|(id, pending_notification, received_at)| StoredNotification { id, pending_notification, received_at })
            .collect())
    }

    fn mark_notification_processed(&self, id: i64, outcome: &str) -> Result<(), RepoError> {
        let now = now_ms();
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(nt::table.find(id).filter(nt::processed_at.is_null()))
                .set((nt::processed_at.eq(now), nt::outcome.eq(outcome)))
                .prepared().execute(c))
        })?;
        Ok(())
    }
}
