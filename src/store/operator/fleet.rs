//! Fleet API reads (issue 5 item 8): one operator's profiles and orders with filters and keyset pagination
//! (`id > cursor ORDER BY id`). Every query is scoped by `operator_id`; an unknown id and another operator's id
//! give the same empty answer.

use diesel::prelude::*;

use crate::store::connection::dispatch;
use crate::store::error::StoreError;
use crate::store::schema::{orders as od, profiles as pr};
use crate::store::Store;

/// A profile as the fleet API shows it (no package, no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = pr)]
#[serde(rename_all = "camelCase")]
pub struct FleetProfile {
    #[serde(skip)]
    pub id: i64,
    pub iccid: String,
    pub profile_type: String,
    pub state: String,
    pub eid: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An order as the fleet API shows it: its state is its profile's (no confirmation code hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetOrder {
    pub id: i64,
    pub matching_id: String,
    pub iccid: String,
    pub eid: Option<String>,
    pub state: String,
    pub confirmation_code_required: bool,
    pub session_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Filters of `GET /api/v1/profiles`.
#[derive(Debug, Clone, Default)]
pub struct ProfileFilter {
    pub state: Option<String>,
    pub profile_type: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
}

/// Filters of `GET /api/v1/orders`.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<String>,
    pub matching_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
}

type OrderColumns = (
    od::id,
    od::matching_id,
    od::iccid,
    od::eid,
    pr::state,
    diesel::dsl::IsNotNull<od::cc_hash>,
    od::session_id,
    od::created_at,
    od::updated_at,
);
type OrderTuple = (i64, String, String, Option<String>, String, bool, Option<String>, i64, i64);

fn order_columns() -> OrderColumns {
    (
        od::id,
        od::matching_id,
        od::iccid,
        od::eid,
        pr::state,
        od::cc_hash.is_not_null(),
        od::session_id,
        od::created_at,
        od::updated_at,
    )
}

fn into_order(t: OrderTuple) -> FleetOrder {
    let (id, matching_id, iccid, eid, state, confirmation_code_required, session_id, created_at, updated_at) = t;
    FleetOrder { id, matching_id, iccid, eid, state, confirmation_code_required, session_id, created_at, updated_at }
}

impl Store {
    /// One operator's profiles matching `f` with `id > after`, by id, at most `limit`.
    pub fn fleet_profiles(
        &self,
        operator_id: &str,
        f: &ProfileFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetProfile>, StoreError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => {
            let mut q = pr::table.filter(pr::operator_id.eq(operator_id)).filter(pr::id.gt(after)).into_boxed();
            if let Some(v) = &f.state {
                q = q.filter(pr::state.eq(v));
            }
            if let Some(v) = &f.profile_type {
                q = q.filter(pr::profile_type.eq(v));
            }
            if let Some(v) = &f.iccid {
                q = q.filter(pr::iccid.eq(v));
            }
            if let Some(v) = &f.eid {
                q = q.filter(pr::eid.eq(v));
            }
            q.order(pr::id).limit(limit).select(FleetProfile::as_select()).load(c)
        })?;
        Ok(rows)
    }

    /// One operator's profile by ICCID.
    pub fn fleet_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<FleetProfile>, StoreError> {
        let f = ProfileFilter { iccid: Some(iccid.to_owned()), ..ProfileFilter::default() };
        Ok(self.fleet_profiles(operator_id, &f, i64::MIN, 1)?.pop())
    }

    /// One operator's orders matching `f` with `id > after`, by id, at most `limit`.
    pub fn fleet_orders(
        &self,
        operator_id: &str,
        f: &OrderFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetOrder>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<OrderTuple> = dispatch!(&mut *conn, c => {
            let mut q = od::table
                .inner_join(pr::table.on(pr::iccid.eq(od::iccid).and(pr::operator_id.eq(od::operator_id))))
                .filter(od::operator_id.eq(operator_id))
                .filter(od::id.gt(after))
                .into_boxed();
            if let Some(v) = &f.state {
                q = q.filter(pr::state.eq(v));
            }
            if let Some(v) = &f.matching_id {
                q = q.filter(od::matching_id.eq(v));
            }
            if let Some(v) = &f.iccid {
                q = q.filter(od::iccid.eq(v));
            }
            if let Some(v) = &f.eid {
                q = q.filter(od::eid.eq(v));
            }
            q.order(od::id).limit(limit).select(order_columns()).load(c)
        })?;
        Ok(rows.into_iter().map(into_order).collect())
    }

    /// One operator's order by id.
    pub fn fleet_order(&self, operator_id: &str, id: i64) -> Result<Option<FleetOrder>, StoreError> {
        Ok(self
            .fleet_orders(operator_id, &OrderFilter::default(), id.saturating_sub(1), 1)?
            .into_iter()
            .find(|o| o.id == id))
    }
}
