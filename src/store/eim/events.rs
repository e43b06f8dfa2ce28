//! [`EventSource`] for [`Store`]: the operator's order rows and step packages changed after a
//! `(updated_at, id)` position, for the eIM event stream.

use diesel::prelude::*;

use crate::eim::campaign::EimOrder;
use crate::eim::events::{EventCursor, EventSource, StepEvent};
use crate::eim::{EimError, OrderState as PackageState};
use crate::store::connection::dispatch;
use crate::store::eim::orders::OrderRow;
use crate::store::eim::queue::PackageRow;
use crate::store::schema::{eim_order_steps as es, eim_orders as eo, eim_packages as ep};
use crate::store::Store;

impl EventSource for Store {
    fn order_events(
        &self,
        operator_id: &str,
        after: (i64, i64),
        limit: i64,
    ) -> Result<Vec<(EimOrder, Option<PackageState>)>, EimError> {
        let (at, id) = after;
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => eo::table
            .left_join(ep::table.on(eo::current_package_id.eq(ep::id.nullable())))
            .filter(eo::operator_id.eq(operator_id))
            .filter(eo::updated_at.gt(at).or(eo::updated_at.eq(at).and(eo::id.gt(id))))
            .order((eo::updated_at.asc(), eo::id.asc()))
            .limit(limit)
            .select((OrderRow::as_select(), ep::state.nullable()))
            .load::<(OrderRow, Option<String>)>(c))?;
        rows.into_iter().map(|(o, s)| Ok((o.into_record()?, s.and_then(|s| s.parse().ok())))).collect()
    }

    fn step_events(&self, operator_id: &str, after: (i64, i64), limit: i64) -> Result<Vec<StepEvent>, EimError> {
        let (at, id) = after;
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => es::table
            .inner_join(ep::table.on(es::package_id.eq(ep::id)))
            .inner_join(eo::table.on(es::order_id.eq(eo::id)))
            .filter(eo::operator_id.eq(operator_id))
            .filter(ep::updated_at.gt(at).or(ep::updated_at.eq(at).and(ep::id.gt(id))))
            .order((ep::updated_at.asc(), ep::id.asc()))
            .limit(limit)
            .select((es::order_id, eo::campaign_id, es::step_index, es::kind, PackageRow::as_select()))
            .load::<(i64, Option<i64>, i64, String, PackageRow)>(c))?;
        rows.into_iter()
            .map(|(order_id, campaign_id, step_index, kind, p)| {
                Ok(StepEvent { order_id, campaign_id, step_index, kind, package: p.into_order()? })
            })
            .collect()
    }

    fn event_head(&self, operator_id: &str) -> Result<EventCursor, EimError> {
        let mut conn = self.conn()?;
        let order = dispatch!(&mut *conn, c => eo::table
            .filter(eo::operator_id.eq(operator_id))
            .order((eo::updated_at.desc(), eo::id.desc()))
            .select((eo::updated_at, eo::id))
            .first::<(i64, i64)>(c)
            .optional())?;
        let step = dispatch!(&mut *conn, c => es::table
            .inner_join(ep::table.on(es::package_id.eq(ep::id)))
            .inner_join(eo::table.on(es::order_id.eq(eo::id)))
            .filter(eo::operator_id.eq(operator_id))
            .order((ep::updated_at.desc(), ep::id.desc()))
            .select((ep::updated_at, ep::id))
            .first::<(i64, i64)>(c)
            .optional())?;
        Ok(EventCursor { order: order.unwrap_or_default(), step: step.unwrap_or_default() })
    }
}
