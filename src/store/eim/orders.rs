//! [`EimOrderRepository`] for [`Store`]: eIM orders (`eim_orders`, `eim_order_steps`) and the packages of their
//! steps.
//!
//! - Every operator-facing query filters on `operator_id`.
//! - Create is one transaction; an idempotency key already used returns the first order (a racing duplicate
//!   hits the unique index and reads the winner).
//! - A step's package is inserted, its counterValue taken and the order pointed at it in one transaction,
//!   guarded by the order's `version` (PostgreSQL: the order row claimed `FOR UPDATE SKIP LOCKED`).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::eim::campaign::{EimOrder, EimOrderRepository, EimOrderStatus, NewEimOrder, StepRecord};
use crate::eim::{EimError, OrderState as PackageState, PackageOrder, QueueSlot};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::eim::queue::PackageRow;
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{eim_euiccs as ee, eim_order_steps as es, eim_orders as eo, eim_packages as ep};
use crate::store::Store;

/// Rows per multi-row INSERT / IN list (SQLite's variable limit).
pub(in crate::store) const CHUNK: usize = 500;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = eo)]
pub(in crate::store) struct OrderRow {
    id: i64,
    operator_id: String,
    eid: String,
    campaign_id: Option<i64>,
    intent: String,
    step_count: i64,
    state: String,
    current_step: i64,
    current_package_id: Option<i64>,
    version: i64,
    failure_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl OrderRow {
    pub(in crate::store) fn into_record(self) -> Result<EimOrder, EimError> {
        Ok(EimOrder {
            status: self.state.parse().map_err(|e| EimError::Store(format!("eim_orders.state: {e}")))?,
            id: self.id,
            operator_id: self.operator_id,
            eid: self.eid,
            campaign_id: self.campaign_id,
            intent: self.intent,
            step_count: self.step_count,
            current_step: self.current_step,
            current_package_id: self.current_package_id,
            version: self.version,
            failure_reason: self.failure_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = eo)]
pub(in crate::store) struct NewOrderRow<'a> {
    pub operator_id: &'a str,
    pub eid: &'a str,
    pub campaign_id: Option<i64>,
    pub intent: &'a str,
    pub step_count: i64,
    pub state: &'static str,
    pub current_step: i64,
    pub version: i64,
    pub idempotency_key: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(in crate::store) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
}

fn package_state(s: Option<String>) -> Option<PackageState> {
    s.and_then(|s| s.parse().ok())
}

const FINAL_PACKAGE_STATES: [&str; 3] = ["succeeded", "failed", "expired"];

impl Store {
    fn order_by_key(&self, operator_id: &str, key: &str) -> Result<Option<EimOrder>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => eo::table
            .filter(eo::operator_id.eq(operator_id))
            .filter(eo::idempotency_key.eq(key))
            .select(OrderRow::as_select())
            .first(c)
            .optional())?;
        row.map(OrderRow::into_record).transpose()
    }
}

/// The body of [`EimOrderRepository::queue_order_step`] once the order is claimed.
macro_rules! queue_step_body {
    ($c:expr, $o:expr, $step:expr, $kind:expr, $tid:expr, $expires:expr, $build:expr, $err:expr, $now:expr) => {{
        let eid_value = crate::eim::registry::eid_value(&$o.eid).map_err(|_| DieselError::RollbackTransaction)?;
        let Some((counter_value, association_token)) = diesel::update(ee::table.find(&$o.eid))
            .set((ee::counter_value.eq(ee::counter_value + 1), ee::updated_at.eq($now)))
            .returning((ee::counter_value, ee::association_token))
            .prepared()
            .get_result::<(i64, Option<i64>)>($c)
            .optional()?
        else {
            return Ok(None);
        };
        let slot = QueueSlot { eid_value, counter_value, eim_transaction_id: $tid, association_token };
        let package_der = match $build(&slot) {
            Ok(der) => der,
            Err(e) => {
                *$err = Some(e);
                return Err(DieselError::RollbackTransaction);
            }
        };
        let package_id: i64 = diesel::insert_into(ep::table)
            .values((
                ep::eid.eq(&$o.eid),
                ep::state.eq(PackageState::Queued.as_str()),
                ep::counter_value.eq(counter_value),
                ep::eim_transaction_id.eq($tid.to_vec()),
                ep::package_der.eq(package_der),
                ep::expires_at.eq(Some($expires)),
                ep::created_at.eq($now),
                ep::updated_at.eq($now),
            ))
            .returning(ep::id)
            .get_result($c)?;
        diesel::insert_into(es::table)
            .values((
                es::order_id.eq($o.id),
                es::step_index.eq($step),
                es::kind.eq($kind),
                es::package_id.eq(package_id),
            ))
            .execute($c)?;
        let moved = diesel::update(eo::table.find($o.id).filter(eo::version.eq($o.version)))
            .set((
                eo::state.eq(EimOrderStatus::Running.as_str()),
                eo::current_step.eq($step),
                eo::current_package_id.eq(Some(package_id)),
                eo::version.eq(eo::version + 1),
                eo::updated_at.eq($now),
            ))
            .prepared()
            .execute($c)?;
        if moved != 1 {
            return Err(DieselError::RollbackTransaction);
        }
        Ok(Some(package_id))
    }};
}

impl EimOrderRepository for Store {
    fn create_order(&self, new: &NewEimOrder, now: i64) -> Result<(EimOrder, bool), EimError> {
        if let Some(key) = &new.idempotency_key {
            if let Some(existing) = self.order_by_key(&new.operator_id, key)? {
                return Ok((existing, false));
            }
        }
        let row = NewOrderRow {
            operator_id: &new.operator_id,
            eid: &new.eid,
            campaign_id: None,
            intent: &new.intent,
            step_count: new.step_count,
            state: EimOrderStatus::Running.as_str(),
            current_step: 0,
            version: 0,
            idempotency_key: new.idempotency_key.as_deref(),
            created_at: now,
            updated_at: now,
        };
        let inserted = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(eo::table)
                .values(&row)
                .returning(OrderRow::as_returning())
                .get_result::<OrderRow>(c))
        });
        match (inserted, &new.idempotency_key) {
            (Ok(row), _) => Ok((row.into_record()?, true)),
            (Err(e), Some(key)) if is_unique_violation(&e) => {
                self.order_by_key(&new.operator_id, key)?.map(|o| (o, false)).ok_or_else(|| e.into())
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    fn find_eim_order(&self, operator_id: &str, order_id: i64) -> Result<Option<EimOrder>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => eo::table
            .find(order_id)
            .filter(eo::operator_id.eq(operator_id))
            .select(OrderRow::as_select())
            .first(c)
            .optional())?;
        row.map(OrderRow::into_record).transpose()
    }

    fn order_steps(&self, order_id: i64) -> Result<Vec<StepRecord>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => es::table
            .inner_join(ep::table.on(es::package_id.eq(ep::id)))
            .filter(es::order_id.eq(order_id))
            .order(es::step_index.asc())
            .select((es::step_index, es::kind, PackageRow::as_select()))
            .load::<(i64, String, PackageRow)>(c))?;
        rows.into_iter()
            .map(|(step_index, kind, p)| Ok(StepRecord { step_index, kind, package: p.into_order()? }))
            .collect()
    }

    fn list_orders(
        &self,
        operator_id: &str,
        campaign_id: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(EimOrder, Option<PackageState>)>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => {
            let mut q = eo::table
                .left_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
                .filter(eo::operator_id.eq(operator_id))
                .order(eo::id.asc())
                .limit(limit)
                .select((OrderRow::as_select(), ep::state.nullable()))
                .into_boxed();
            if let Some(campaign_id) = campaign_id {
                q = q.filter(eo::campaign_id.eq(Some(campaign_id)));
            }
            if let Some(after) = after {
                q = q.filter(eo::id.gt(after));
            }
            q.load::<(OrderRow, Option<String>)>(c)
        })?;
        rows.into_iter().map(|(o, s)| Ok((o.into_record()?, package_state(s)))).collect()
    }

    fn orders_to_queue(&self, limit: i64) -> Result<Vec<EimOrder>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => eo::table
            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
            .filter(eo::current_package_id.is_null())
            .order(eo::id.asc())
            .limit(limit)
            .select(OrderRow::as_select())
            .load::<OrderRow>(c))?;
        rows.into_iter().map(OrderRow::into_record).collect()
    }

    fn orders_to_advance(&self, limit: i64) -> Result<Vec<(EimOrder, PackageOrder)>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => eo::table
            .inner_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
            .filter(ep::state.eq_any(FINAL_PACKAGE_STATES))
            .order(eo::id.asc())
            .limit(limit)
            .select((OrderRow::as_select(), PackageRow::as_select()))
            .load::<(OrderRow, PackageRow)>(c))?;
        rows.into_iter().map(|(o, p)| Ok((o.into_record()?, p.into_order()?))).collect()
    }

    fn order_for_package(&self, package_id: i64) -> Result<Option<(EimOrder, PackageOrder)>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => eo::table
            .inner_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
            .filter(eo::state.eq(EimOrderStatus::Running.as_str()))
            .filter(ep::id.eq(package_id))
            .select((OrderRow::as_select(), PackageRow::as_select()))
            .first::<(OrderRow, PackageRow)>(c)
            .optional())?;
        row.map(|(o, p)| Ok((o.into_record()?, p.into_order()?))).transpose()
    }

    fn queue_order_step(
        &self,
        order: &EimOrder,
        step_index: i64,
        kind: &str,
        eim_transaction_id: [u8; 16],
        expires_at: i64,
        build: &mut dyn FnMut(&QueueSlot) -> Result<Vec<u8>, EimError>,
        now: i64,
    ) -> Result<Option<i64>, EimError> {
        let live = [EimOrderStatus::Pending.as_str(), EimOrderStatus::Running.as_str()];
        let mut build_error: Option<EimError> = None;
        let queued = self.write(|conn| {
            match conn {
                DbConnection::Pg(pg) => pg.build_transaction().read_write().run(|c| {
                    let claimed = eo::table
                        .find(order.id)
                        .filter(eo::version.eq(order.version))
                        .filter(eo::state.eq_any(live))
                        .select(eo::id)
                        .for_update()
                        .skip_locked()
                        .first::<i64>(c)
                        .optional()?;
                    if claimed.is_none() {
                        return Ok(None);
                    }
                    queue_step_body!(
                        c,
                        order,
                        step_index,
                        kind,
                        eim_transaction_id,
                        expires_at,
                        build,
                        &mut build_error,
                        now
                    )
                }),
                DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                    let claimed = eo::table
                        .find(order.id)
                        .filter(eo::version.eq(order.version))
                        .filter(eo::state.eq_any(live))
                        .select(eo::id)
                        .first::<i64>(c)
                        .optional()?;
                    if claimed.is_none() {
                        return Ok(None);
                    }
                    queue_step_body!(
                        c,
                        order,
                        step_index,
                        kind,
                        eim_transaction_id,
                        expires_at,
                        build,
                        &mut build_error,
                        now
                    )
                }),
            }
            .map_err(StoreError::from)
        });
        if let Some(e) = build_error {
            return Err(e);
        }
        match queued {
            Ok(id) => Ok(id),
            Err(StoreError::Query(DieselError::RollbackTransaction)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn finish_order(
        &self,
        order_id: i64,
        version: i64,
        status: EimOrderStatus,
        failure_reason: Option<&str>,
        now: i64,
    ) -> Result<bool, EimError> {
        let changed = self.write(|conn| {
            write_transaction!(conn, c => diesel::update(eo::table.find(order_id).filter(eo::version.eq(version)))
                .set((
                    eo::state.eq(status.as_str()),
                    eo::failure_reason.eq(failure_reason),
                    eo::version.eq(eo::version + 1),
                    eo::updated_at.eq(now),
                    eo::finished_at.eq(Some(now)),
                ))
                .prepared().execute(c))
        })?;
        Ok(changed == 1)
    }
}
