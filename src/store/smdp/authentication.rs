//! ES9+ AuthenticateClient's round trips for [`Store`] (SGP.22 v2.5 §5.6.3): one read phase
//! ([`DownloadRepository::authentication_facts`](crate::smdp::DownloadRepository::authentication_facts)) and one
//! write transaction
//! ([`DownloadRepository::record_authentication`](crate::smdp::DownloadRepository::record_authentication)).
//!
//! The read phase runs its few statements on one pooled connection, outside a transaction: what it reads is only
//! what the step decides on. Every change the decision leads to is then made by compare-and-set in the write
//! transaction (`BEGIN IMMEDIATE` on SQLite), so a session or order that moved in between makes the write lose
//! cleanly — the session is cancelled (its serverChallenge is single-use) and the refusal is enqueued for the
//! operator in that same transaction.
//!
//! The StoreMetadataRequest of the response needs the profile's names only, so the read takes them from the
//! package row (or the template-backed profile's type) without opening the sealed package: that is
//! GetBoundProfilePackage's job, which binds it.

use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::clock::now_ms;
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::download_repository::{
    AuthenticationFacts, AuthenticationOutcome, BindError, OrderFacts, OrderKey, ProfileNames,
};
use crate::smdp::session::{AuthenticatedUpdate, SessionState};
use crate::smdp::{OrderRecord, ProfileState, RepoError, TransactionId};
use crate::store::connection::{dispatch, write_transaction};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{
    download_sessions as ds, orders as od, profile_packages as pp, profile_personalizations as ppz,
    profile_templates as pt, profile_types as ty, profiles as pr,
};
use crate::store::smdp::downloads::{claim_order, parse_profile_state, profile_state, Lost, OrderRow, SessionRow};
use crate::store::smdp::inventory::TypeRow;
use crate::store::smdp::progress::insert_progress;
use crate::store::Store;

/// The profile row of a candidate order: state, device lock, type.
type ProfileRow = (String, Option<String>, Option<String>, String);

/// How the profile's package is held.
enum PackageSource {
    /// A prepared package: its StoreMetadata names as stored (empty / negative: open).
    Prepared {
        service_provider_name: String,
        profile_name: String,
        profile_class: i64,
    },
    /// A template-backed profile (generated when bound): names from its type.
    Generated,
    /// A personalization row whose template was deleted.
    TemplateGone(String),
    None,
}

/// What the read phase brings back, before it becomes [`AuthenticationFacts`].
struct Read {
    session: Option<SessionRow>,
    order: Option<(OrderRow, ProfileRow, PackageSource, Option<TypeRow>)>,
}

/// Why a claim inside [`Store::record_authentication_outcome`]'s savepoint did not bind.
enum Savepoint {
    Lost(Lost),
    Db(DieselError),
}

impl From<DieselError> for Savepoint {
    fn from(e: DieselError) -> Savepoint {
        Savepoint::Db(e)
    }
}

/// Initiated → Cancelled (compare-and-set; 0 rows when the session moved on).
macro_rules! cancel_initiated {
    ($c:expr, $transaction_id:expr, $now:expr) => {
        diesel::update(ds::table.find($transaction_id).filter(ds::state.eq(SessionState::Initiated.as_str())))
            .set((ds::state.eq(SessionState::Cancelled.as_str()), ds::updated_at.eq($now)))
            .prepared()
            .execute($c)
    };
}

impl Store {
    /// [`crate::smdp::DownloadRepository::authentication_facts`].
    pub(in crate::store) fn load_authentication_facts(
        &self,
        transaction_id: &TransactionId,
        order_key: Option<OrderKey<'_>>,
    ) -> Result<AuthenticationFacts, RepoError> {
        let mut conn = self.conn()?;
        let tx = transaction_id.as_hex();
        let read = dispatch!(&mut *conn, c => (|| -> QueryResult<Read> {
            let session = ds::table.find(tx).select(SessionRow::as_select()).first(c).optional()?;
            let order = match order_key {
                None => None,
                Some(OrderKey::MatchingId(matching_id)) => od::table
                    .filter(od::matching_id.eq(matching_id))
                    .select(OrderRow::as_select())
                    .first(c)
                    .optional()?,
                // §3.1.1 default SM-DP+: the oldest released, unclaimed order bound to this EID.
                Some(OrderKey::Eid(eid)) => od::table
                    .filter(od::eid.eq(eid))
                    .filter(od::session_id.is_null())
                    .filter(diesel::dsl::exists(
                        pr::table
                            .filter(pr::operator_id.eq(od::operator_id))
                            .filter(pr::iccid.eq(od::iccid))
                            .filter(pr::state.eq(ProfileState::Released.as_str())),
                    ))
                    .order(od::id)
                    .select(OrderRow::as_select())
                    .first(c)
                    .optional()?,
            };
            let Some(order) = order else { return Ok(Read { session, order: None }) };
            let (operator_id, iccid) = (order.operator_id.clone(), order.iccid.clone());
            let Some(profile) = pr::table
                .filter(pr::operator_id.eq(&operator_id))
                .filter(pr::iccid.eq(&iccid))
                .select((pr::state, pr::allowed_imeis, pr::allowed_tacs, pr::profile_type))
                .first::<ProfileRow>(c)
                .optional()?
            else {
                // Reported as today's lookup did: an order without its profile is the store's fault.
                return Err(DieselError::NotFound);
            };
            let prepared = pp::table
                .filter(pp::operator_id.eq(&operator_id))
                .filter(pp::iccid.eq(&iccid))
                .select((pp::service_provider_name, pp::profile_name, pp::profile_class))
                .first::<(String, String, i64)>(c)
                .optional()?;
            let source = match prepared {
                Some((service_provider_name, profile_name, profile_class)) => {
                    PackageSource::Prepared { service_provider_name, profile_name, profile_class }
                }
                None => match ppz::table
                    .filter(ppz::operator_id.eq(&operator_id))
                    .filter(ppz::iccid.eq(&iccid))
                    .select(ppz::template)
                    .first::<String>(c)
                    .optional()?
                {
                    None => PackageSource::None,
                    Some(template) => {
                        let exists = pt::table
                            .filter(pt::operator_id.eq(&operator_id))
                            .filter(pt::name.eq(&template))
                            .select(pt::name)
                            .first::<String>(c)
                            .optional()?
                            .is_some();
                        if exists { PackageSource::Generated } else { PackageSource::TemplateGone(template) }
                    }
                },
            };
            let profile_type = ty::table
                .filter(ty::operator_id.eq(&operator_id))
                .filter(ty::name.eq(&profile.3))
                .select(TypeRow::as_select())
                .first(c)
                .optional()?;
            Ok(Read { session, order: Some((order, profile, source, profile_type)) })
        })());
        drop(conn);
        let read = match read {
            Err(DieselError::NotFound) => return Err(RepoError::Backend("an order has no profile".into())),
            other => other.map_err(StoreError::from)?,
        };
        let session = read.session.map(SessionRow::into_record).transpose()?;
        let Some((order, (state, imeis, tacs, _), source, profile_type)) = read.order else {
            return Ok(AuthenticationFacts { session, order: None });
        };
        let order = order.with_state(parse_profile_state(&state)?);
        let profile_type = profile_type.map(TypeRow::into_type).transpose()?;
        let names = match source {
            PackageSource::Prepared { service_provider_name, profile_name, profile_class } => {
                Some(ProfileNames { iccid: order.iccid.clone(), service_provider_name, profile_name, profile_class })
            }
            PackageSource::Generated => Some(ProfileNames::open(&order.iccid)),
            PackageSource::TemplateGone(template) => {
                return Err(RepoError::Backend(format!("template {template} of profile {} is gone", order.iccid)))
            }
            PackageSource::None => None,
        }
        .map(|names| names.resolve(profile_type.as_ref()));
        Ok(AuthenticationFacts {
            session,
            order: Some(OrderFacts {
                order,
                device_lock: DeviceLock::from_stored(imeis.as_deref(), tacs.as_deref()),
                names,
                type_metadata: profile_type.map(|t| t.metadata),
            }),
        })
    }

    /// [`crate::smdp::DownloadRepository::record_authentication`].
    pub(in crate::store) fn record_authentication_outcome(
        &self,
        transaction_id: &TransactionId,
        outcome: AuthenticationOutcome<'_>,
    ) -> Result<Result<(), BindError>, RepoError> {
        let now = now_ms();
        let tx = transaction_id.as_hex();
        let recorded = self.write(|conn| {
            write_transaction!(conn, c => {
                match outcome {
                    AuthenticationOutcome::Refuse { progress } => {
                        cancel_initiated!(c, tx, now)?;
                        if let Some(event) = progress {
                            insert_progress!(c, event)?;
                        }
                        Ok::<_, DieselError>(Ok(()))
                    }
                    AuthenticationOutcome::Bind { order, update, progress, lost } => {
                        // The claim in a savepoint: a lost claim leaves nothing behind but the refusal below.
                        let claimed = c.transaction(|c| match claim_order!(c, tx, order, update, now)? {
                            Ok(()) => Ok(()),
                            Err(lost) => Err(Savepoint::Lost(lost)),
                        });
                        let why = match claimed {
                            Ok(()) => {
                                if let Some(event) = progress {
                                    insert_progress!(c, event)?;
                                }
                                return Ok(Ok(()));
                            }
                            Err(Savepoint::Db(e)) => return Err(e),
                            Err(Savepoint::Lost(Lost::SessionGone)) => BindError::SessionGone,
                            Err(Savepoint::Lost(Lost::Taken(state))) => BindError::OrderTaken {
                                state: parse_profile_state(&state).unwrap_or(ProfileState::Error),
                            },
                        };
                        // The serverChallenge is single-use: the session ends (a no-op if it moved on).
                        cancel_initiated!(c, tx, now)?;
                        if let Some(event) = lost(&why) {
                            insert_progress!(c, &event)?;
                        }
                        Ok(Err(why))
                    }
                }
            })
        })?;
        Ok(recorded)
    }
}
