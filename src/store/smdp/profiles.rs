//! [`ProfileRepository`] for [`Store`]: the SM-DP+ profile inventory (SGP.22 v2.5 §5.3, ES2+).
//!
//! State changes are compare-and-set (`UPDATE … WHERE state = <expected>`); pool claims take a row
//! with `FOR UPDATE SKIP LOCKED` on PostgreSQL and inside an immediate transaction on SQLite, so each
//! profile is handed out at most once across threads and nodes.

use crate::clock::now_ms;
use crate::store::prepared::PreparedExt;

use diesel::prelude::*;

use crate::smdp::{NewProfile, ProfileRecord, ProfileRepository, ProfileState, RepoError};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::error::StoreError;
use crate::store::schema::profiles;
use crate::store::Store;

/// A `profiles` row as stored.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub(in crate::store) struct ProfileRow {
    id: i64,
    operator_id: String,
    iccid: String,
    profile_type: String,
    state: String,
    eid: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ProfileRow {
    pub(in crate::store) fn into_record(self) -> Result<ProfileRecord, RepoError> {
        Ok(ProfileRecord {
            state: parse_state(&self.state)?,
            id: self.id,
            operator_id: self.operator_id,
            iccid: self.iccid,
            profile_type: self.profile_type,
            eid: self.eid,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A `profiles` row to insert.
#[derive(Insertable)]
#[diesel(table_name = profiles)]
struct NewProfileRow<'a> {
    operator_id: &'a str,
    iccid: &'a str,
    profile_type: &'a str,
    state: &'a str,
    eid: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
}

/// The result of a compare-and-set update: the changed row, or — when no row changed — the state the
/// profile is actually in (`StateConflict`), or nothing at all for this operator (`NotFound`).
pub(in crate::store) fn compare_and_set_outcome(
    outcome: Result<ProfileRow, Option<String>>,
) -> Result<ProfileRecord, RepoError> {
    match outcome {
        Ok(row) => row.into_record(),
        Err(Some(actual)) => Err(RepoError::StateConflict { actual: parse_state(&actual)? }),
        Err(None) => Err(RepoError::NotFound),
    }
}

fn parse_state(stored: &str) -> Result<ProfileState, RepoError> {
    stored.parse().map_err(|e| RepoError::Backend(format!("profiles.state: {e}")))
}

impl ProfileRepository for Store {
    fn insert_profile(&self, p: &NewProfile) -> Result<ProfileRecord, RepoError> {
        let now = now_ms();
        let row = NewProfileRow {
            operator_id: &p.operator_id,
            iccid: &p.iccid,
            profile_type: &p.profile_type,
            state: p.state.as_str(),
            eid: p.eid.as_deref(),
            created_at: now,
            updated_at: now,
        };
        let inserted = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(profiles::table)
                .values(&row)
                .returning(ProfileRow::as_returning())
                .get_result(c))
        })?;
        inserted.into_record()
    }

    fn find_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<ProfileRecord>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => profiles::table
            .filter(profiles::operator_id.eq(operator_id))
            .filter(profiles::iccid.eq(iccid))
            .select(ProfileRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        row.map(ProfileRow::into_record).transpose()
    }

    fn transition_profile(
        &self,
        operator_id: &str,
        iccid: &str,
        from: ProfileState,
        to: ProfileState,
    ) -> Result<ProfileRecord, RepoError> {
        if !from.can_transition_to(to) {
            return Err(RepoError::IllegalTransition { from, to });
        }
        let now = now_ms();
        // Back in the pool, the profile is bound to no EID any more.
        let clear_eid = to == ProfileState::Available;
        let outcome = self.write(|conn| {
            write_transaction!(conn, c => {
                let expected = profiles::table
                    .filter(profiles::operator_id.eq(operator_id))
                    .filter(profiles::iccid.eq(iccid))
                    .filter(profiles::state.eq(from.as_str()));
                let updated = if clear_eid {
                    diesel::update(expected)
                        .set((profiles::state.eq(to.as_str()), profiles::updated_at.eq(now), profiles::eid.eq(None::<String>)))
                        .returning(ProfileRow::as_returning())
                        .prepared().get_result(c)
                        .optional()?
                } else {
                    diesel::update(expected)
                        .set((profiles::state.eq(to.as_str()), profiles::updated_at.eq(now)))
                        .returning(ProfileRow::as_returning())
                        .prepared().get_result(c)
                        .optional()?
                };
                match updated {
                    Some(row) => Ok(Ok(row)),
                    // No row changed: say why (moved on, or not this operator's profile).
                    None => profiles::table
                        .filter(profiles::operator_id.eq(operator_id))
                        .filter(profiles::iccid.eq(iccid))
                        .select(profiles::state)
                        .first::<String>(c)
                        .optional()
                        .map(Err),
                }
            })
        })?;
        compare_and_set_outcome(outcome)
    }

    fn reserve_profile(&self, operator_id: &str, iccid: &str, eid: Option<&str>) -> Result<ProfileRecord, RepoError> {
        let to = ProfileState::ordered_for(eid);
        let now = now_ms();
        let outcome = self.write(|conn| {
            write_transaction!(conn, c => {
                let updated = diesel::update(
                    profiles::table
                        .filter(profiles::operator_id.eq(operator_id))
                        .filter(profiles::iccid.eq(iccid))
                        .filter(profiles::state.eq(ProfileState::Available.as_str())),
                )
                .set((profiles::state.eq(to.as_str()), profiles::eid.eq(eid), profiles::updated_at.eq(now)))
                .returning(ProfileRow::as_returning())
                .prepared().get_result(c)
                .optional()?;
                match updated {
                    Some(row) => Ok(Ok(row)),
                    None => profiles::table
                        .filter(profiles::operator_id.eq(operator_id))
                        .filter(profiles::iccid.eq(iccid))
                        .select(profiles::state)
                        .first::<String>(c)
                        .optional()
                        .map(Err),
                }
            })
        })?;
        compare_and_set_outcome(outcome)
    }

    fn claim_available_profile(
        &self,
        operator_id: &str,
        profile_type: &str,
        to: ProfileState,
        eid: Option<&str>,
    ) -> Result<Option<ProfileRecord>, RepoError> {
        if !matches!(to, ProfileState::Allocated | ProfileState::Linked) {
            return Err(RepoError::IllegalTransition { from: ProfileState::Available, to });
        }
        let now = now_ms();
        let available = ProfileState::Available.as_str();
        // The oldest available profile of this operator and type.
        macro_rules! pool_head {
            () => {
                profiles::table
                    .filter(profiles::operator_id.eq(operator_id))
                    .filter(profiles::profile_type.eq(profile_type))
                    .filter(profiles::state.eq(available))
                    .order(profiles::id)
                    .select(profiles::id)
            };
        }
        // Moves the picked row to `to`; the state filter keeps the claim a compare-and-set.
        macro_rules! claim {
            ($c:ident, $id:expr) => {
                match $id {
                    None => Ok(None),
                    Some(id) => diesel::update(profiles::table.find(id).filter(profiles::state.eq(available)))
                        .set((profiles::state.eq(to.as_str()), profiles::eid.eq(eid), profiles::updated_at.eq(now)))
                        .returning(ProfileRow::as_returning())
                        .prepared()
                        .get_result($c)
                        .optional(),
                }
            };
        }
        let claimed = self.write(|conn| {
            match conn {
                // Rows locked by a concurrent claim are skipped, not waited for.
                DbConnection::Pg(conn) => conn.build_transaction().read_write().run(|c| {
                    let id = pool_head!().for_update().skip_locked().first::<i64>(c).optional()?;
                    claim!(c, id)
                }),
                // BEGIN IMMEDIATE holds the write lock from the read on: claims are serialized.
                DbConnection::Sqlite(conn) => conn.immediate_transaction(|c| {
                    let id = pool_head!().first::<i64>(c).optional()?;
                    claim!(c, id)
                }),
            }
            .map_err(StoreError::from)
        })?;
        claimed.map(ProfileRow::into_record).transpose()
    }

    fn count_profiles(&self, operator_id: &str, profile_type: &str, state: ProfileState) -> Result<i64, RepoError> {
        let mut conn = self.conn()?;
        let count = dispatch!(&mut *conn, c => profiles::table
            .filter(profiles::operator_id.eq(operator_id))
            .filter(profiles::profile_type.eq(profile_type))
            .filter(profiles::state.eq(state.as_str()))
            .count()
            .get_result::<i64>(c))
        .map_err(StoreError::from)?;
        Ok(count)
    }
}
