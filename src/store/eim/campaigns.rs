//! [`CampaignRepository`] for [`Store`]: eIM campaigns (`eim_campaigns`) and their orders.
//!
//! - Create is one transaction (campaign + one Pending order per eUICC); an idempotency key already used
//!   returns the first campaign (a racing duplicate hits the unique index and reads the winner).
//! - Release claims the campaign row (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so two nodes never release for
//!   one campaign at once and the rate holds cluster-wide.
//! - Cancel is one transaction: Pending orders and orders whose package is still Queued are Cancelled (the
//!   package Expired with reason `cancelled`, never dispatched afterwards); dispatched ones finish.

use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::eim::campaign::{
    release_allowance, CampaignRecord, CampaignRepository, CampaignState, EimOrderStatus, NewCampaign, ProgressCounts,
};
use crate::eim::orders::CANCELLED;
use crate::eim::{EimError, OrderState as PackageState};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::eim::orders::{is_unique_violation, NewOrderRow, CHUNK};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{eim_campaigns as ec, eim_orders as eo, eim_packages as ep};
use crate::store::Store;

/// At most this many orders leave Pending per campaign and tick.
const RELEASE_BATCH: i64 = 5_000;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ec)]
struct CampaignRow {
    id: i64,
    operator_id: String,
    name: String,
    intent: String,
    state: String,
    rate_per_minute: i64,
    max_in_flight: i64,
    window_start: i64,
    window_released: i64,
    device_count: i64,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl CampaignRow {
    fn into_record(self) -> Result<CampaignRecord, EimError> {
        Ok(CampaignRecord {
            state: self.state.parse().map_err(|e| EimError::Store(format!("eim_campaigns.state: {e}")))?,
            id: self.id,
            operator_id: self.operator_id,
            name: self.name,
            intent: self.intent,
            rate_per_minute: self.rate_per_minute,
            max_in_flight: self.max_in_flight,
            window_start: self.window_start,
            window_released: self.window_released,
            device_count: self.device_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }
}

impl Store {
    fn campaign_by_key(&self, operator_id: &str, key: &str) -> Result<Option<CampaignRecord>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ec::table
            .filter(ec::operator_id.eq(operator_id))
            .filter(ec::idempotency_key.eq(key))
            .select(CampaignRow::as_select())
            .first(c)
            .optional())?;
        row.map(CampaignRow::into_record).transpose()
    }
}

/// The body of one campaign's release, inside its transaction with the campaign row claimed.
macro_rules! release_one {
    ($c:expr, $campaign:expr, $now:expr) => {{
        let campaign: CampaignRecord = match $campaign.map(CampaignRow::into_record).transpose() {
            Ok(Some(c)) => c,
            _ => return Ok(0),
        };
        let in_flight: i64 = eo::table
            .filter(eo::campaign_id.eq(Some(campaign.id)))
            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
            .count()
            .get_result($c)?;
        let (allowance, window_start, released) = release_allowance(&campaign, in_flight, $now);
        let mut n = 0i64;
        if allowance > 0 {
            let ids: Vec<i64> = eo::table
                .filter(eo::campaign_id.eq(Some(campaign.id)))
                .filter(eo::state.eq(EimOrderStatus::Pending.as_str()))
                .order(eo::id.asc())
                .limit(allowance.min(RELEASE_BATCH))
                .select(eo::id)
                .load($c)?;
            for chunk in ids.chunks(CHUNK) {
                n += diesel::update(
                    eo::table.filter(eo::id.eq_any(chunk)).filter(eo::state.eq(EimOrderStatus::Pending.as_str())),
                )
                .set((
                    eo::state.eq(EimOrderStatus::Running.as_str()),
                    eo::version.eq(eo::version + 1),
                    eo::updated_at.eq($now),
                ))
                .execute($c)? as i64;
            }
        }
        diesel::update(ec::table.find(campaign.id))
            .set((ec::window_start.eq(window_start), ec::window_released.eq(released + n)))
            .prepared()
            .execute($c)?;
        Ok::<i64, DieselError>(n)
    }};
}

impl CampaignRepository for Store {
    fn create_campaign(
        &self,
        new: &NewCampaign,
        eids: &[String],
        now: i64,
    ) -> Result<(CampaignRecord, bool), EimError> {
        if let Some(key) = &new.idempotency_key {
            if let Some(existing) = self.campaign_by_key(&new.operator_id, key)? {
                return Ok((existing, false));
            }
        }
        let inserted = self.write(|conn| {
            write_transaction!(conn, c => {
                let campaign = diesel::insert_into(ec::table)
                    .values((
                        ec::operator_id.eq(&new.operator_id),
                        ec::name.eq(&new.name),
                        ec::intent.eq(&new.intent),
                        ec::state.eq(CampaignState::Running.as_str()),
                        ec::rate_per_minute.eq(new.rate_per_minute),
                        ec::max_in_flight.eq(new.max_in_flight),
                        ec::window_start.eq(0i64),
                        ec::window_released.eq(0i64),
                        ec::device_count.eq(eids.len() as i64),
                        ec::idempotency_key.eq(new.idempotency_key.as_deref()),
                        ec::created_at.eq(now),
                        ec::updated_at.eq(now),
                    ))
                    .returning(CampaignRow::as_returning())
                    .get_result::<CampaignRow>(c)?;
                for chunk in eids.chunks(CHUNK) {
                    let rows: Vec<NewOrderRow<'_>> = chunk
                        .iter()
                        .map(|eid| NewOrderRow {
                            operator_id: &new.operator_id,
                            eid,
                            campaign_id: Some(campaign.id),
                            intent: &new.intent,
                            step_count: new.step_count,
                            state: EimOrderStatus::Pending.as_str(),
                            current_step: 0,
                            version: 0,
                            idempotency_key: None,
                            created_at: now,
                            updated_at: now,
                        })
                        .collect();
                    diesel::insert_into(eo::table).values(&rows).execute(c)?;
                }
                Ok::<_, DieselError>(campaign)
            })
        });
        match (inserted, &new.idempotency_key) {
            (Ok(row), _) => Ok((row.into_record()?, true)),
            (Err(e), Some(key)) if is_unique_violation(&e) => {
                self.campaign_by_key(&new.operator_id, key)?.map(|c| (c, false)).ok_or_else(|| e.into())
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    fn find_campaign(&self, operator_id: &str, campaign_id: i64) -> Result<Option<CampaignRecord>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ec::table
            .find(campaign_id)
            .filter(ec::operator_id.eq(operator_id))
            .select(CampaignRow::as_select())
            .first(c)
            .optional())?;
        row.map(CampaignRow::into_record).transpose()
    }

    fn campaign_counts(&self, campaign_id: i64) -> Result<ProgressCounts, EimError> {
        let mut conn = self.conn()?;
        let by_state = dispatch!(&mut *conn, c => eo::table
            .filter(eo::campaign_id.eq(Some(campaign_id)))
            .group_by(eo::state)
            .select((eo::state, diesel::dsl::count_star()))
            .load::<(String, i64)>(c))?;
        // Running orders show their current package's state: queued or dispatched; an order whose next package is
        // not queued yet (just released, or between steps) is still pending.
        let waiting: Vec<(String, i64)> = dispatch!(&mut *conn, c => eo::table
            .inner_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
            .filter(eo::campaign_id.eq(Some(campaign_id)))
            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
            .filter(ep::state.eq_any([PackageState::Queued.as_str(), PackageState::Dispatched.as_str()]))
            .group_by(ep::state)
            .select((ep::state, diesel::dsl::count_star()))
            .load::<(String, i64)>(c))?;
        let mut counts = ProgressCounts::default();
        for (state, n) in by_state {
            match state.parse::<EimOrderStatus>().map_err(EimError::Store)? {
                EimOrderStatus::Running => {
                    let mut rest = n;
                    for (package_state, m) in &waiting {
                        counts.add(package_state, *m);
                        rest -= m;
                    }
                    counts.add("pending", rest);
                }
                status => counts.add(status.as_str(), n),
            }
        }
        Ok(counts)
    }

    fn set_campaign_state(
        &self,
        operator_id: &str,
        campaign_id: i64,
        from: &[CampaignState],
        to: CampaignState,
        now: i64,
    ) -> Result<Option<CampaignRecord>, EimError> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let row = self.write(|conn| {
            write_transaction!(conn, c => diesel::update(
                ec::table
                    .find(campaign_id)
                    .filter(ec::operator_id.eq(operator_id))
                    .filter(ec::state.eq_any(&from)),
            )
            .set((ec::state.eq(to.as_str()), ec::updated_at.eq(now)))
            .returning(CampaignRow::as_returning())
            .prepared().get_result::<CampaignRow>(c)
            .optional())
        })?;
        row.map(CampaignRow::into_record).transpose()
    }

    fn cancel_campaign(
        &self,
        operator_id: &str,
        campaign_id: i64,
        now: i64,
    ) -> Result<Option<CampaignRecord>, EimError> {
        let live = [CampaignState::Running.as_str(), CampaignState::Paused.as_str()];
        let row = self.write(|conn| {
            write_transaction!(conn, c => {
                let Some(row) = diesel::update(
                    ec::table.find(campaign_id).filter(ec::operator_id.eq(operator_id)).filter(ec::state.eq_any(live)),
                )
                .set((
                    ec::state.eq(CampaignState::Cancelled.as_str()),
                    ec::updated_at.eq(now),
                    ec::finished_at.eq(Some(now)),
                ))
                .returning(CampaignRow::as_returning())
                .prepared().get_result::<CampaignRow>(c)
                .optional()?
                else {
                    return Ok(None);
                };
                let cancel = (
                    eo::state.eq(EimOrderStatus::Cancelled.as_str()),
                    eo::version.eq(eo::version + 1),
                    eo::updated_at.eq(now),
                    eo::finished_at.eq(Some(now)),
                );
                diesel::update(
                    eo::table
                        .filter(eo::campaign_id.eq(Some(campaign_id)))
                        .filter(eo::state.eq(EimOrderStatus::Pending.as_str())),
                )
                .set((cancel, eo::failure_reason.eq(Some("campaign cancelled before release"))))
                .prepared().execute(c)?;
                diesel::update(
                    eo::table
                        .filter(eo::campaign_id.eq(Some(campaign_id)))
                        .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
                        .filter(eo::current_package_id.is_null()),
                )
                .set((cancel, eo::failure_reason.eq(Some("campaign cancelled before dispatch"))))
                .prepared().execute(c)?;
                // Packages not fetched yet: expired (never dispatched afterwards); dispatched ones finish.
                let queued: Vec<i64> = eo::table
                    .inner_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
                    .filter(eo::campaign_id.eq(Some(campaign_id)))
                    .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
                    .filter(ep::state.eq(PackageState::Queued.as_str()))
                    .select(ep::id)
                    .load(c)?;
                for chunk in queued.chunks(CHUNK) {
                    let expired: Vec<i64> = diesel::update(
                        ep::table.filter(ep::id.eq_any(chunk)).filter(ep::state.eq(PackageState::Queued.as_str())),
                    )
                    .set((
                        ep::state.eq(PackageState::Expired.as_str()),
                        ep::failure_reason.eq(Some(CANCELLED)),
                        ep::expires_at.eq(None::<i64>),
                        ep::finished_at.eq(Some(now)),
                        ep::updated_at.eq(now),
                    ))
                    .returning(ep::id)
                    .get_results(c)?;
                    let expired: Vec<Option<i64>> = expired.into_iter().map(Some).collect();
                    diesel::update(
                        eo::table
                            .filter(eo::campaign_id.eq(Some(campaign_id)))
                            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
                            .filter(eo::current_package_id.eq_any(&expired)),
                    )
                    .set((cancel, eo::failure_reason.eq(Some("campaign cancelled before dispatch"))))
                    .execute(c)?;
                }
                Ok::<_, DieselError>(Some(row))
            })
        })?;
        row.map(CampaignRow::into_record).transpose()
    }

    fn release_campaigns(&self, now: i64) -> Result<Vec<(i64, i64)>, EimError> {
        let ids: Vec<i64> = {
            let mut conn = self.conn()?;
            dispatch!(&mut *conn, c => ec::table
                .filter(ec::state.eq(CampaignState::Running.as_str()))
                .order(ec::id.asc())
                .select(ec::id)
                .load(c))?
        };
        let mut released = Vec::new();
        for id in ids {
            let n = self.write(|conn| {
                match conn {
                    DbConnection::Pg(pg) => pg.build_transaction().read_write().run(|c| {
                        // Another node releasing for this campaign holds the row: skip it this tick.
                        let campaign = ec::table
                            .find(id)
                            .filter(ec::state.eq(CampaignState::Running.as_str()))
                            .select(CampaignRow::as_select())
                            .for_update()
                            .skip_locked()
                            .first::<CampaignRow>(c)
                            .optional()?;
                        release_one!(c, campaign, now)
                    }),
                    DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                        let campaign = ec::table
                            .find(id)
                            .filter(ec::state.eq(CampaignState::Running.as_str()))
                            .select(CampaignRow::as_select())
                            .first::<CampaignRow>(c)
                            .optional()?;
                        release_one!(c, campaign, now)
                    }),
                }
                .map_err(StoreError::from)
            })?;
            released.push((id, n));
        }
        Ok(released)
    }

    fn complete_campaigns(&self, now: i64) -> Result<usize, EimError> {
        let mut conn = self.conn()?;
        let running: Vec<i64> = dispatch!(&mut *conn, c => ec::table
            .filter(ec::state.eq(CampaignState::Running.as_str()))
            .select(ec::id)
            .load(c))?;
        drop(conn);
        let live = [EimOrderStatus::Pending.as_str(), EimOrderStatus::Running.as_str()];
        let mut completed = 0;
        for id in running {
            completed += self.write(|conn| {
                write_transaction!(conn, c => {
                    let left: i64 = eo::table
                        .filter(eo::campaign_id.eq(Some(id)))
                        .filter(eo::state.eq_any(live))
                        .count()
                        .get_result(c)?;
                    if left > 0 {
                        return Ok(0);
                    }
                    diesel::update(ec::table.find(id).filter(ec::state.eq(CampaignState::Running.as_str())))
                        .set((
                            ec::state.eq(CampaignState::Completed.as_str()),
                            ec::updated_at.eq(now),
                            ec::finished_at.eq(Some(now)),
                        ))
                        .prepared().execute(c)
                })
            })?;
        }
        Ok(completed)
    }
}
