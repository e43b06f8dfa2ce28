//! Fleet API reads (issue 5 item 8): one operator's profiles and orders with filters and keyset pagination
//! (`id > cursor ORDER BY id`). Every query is scoped by `operator_id`; an unknown id and another operator's id
//! give the same empty answer.

use diesel::prelude::*;

use crate::fleet::{FleetOrder, FleetProfile, OrderFilter, ProfileFilter};
use crate::store::connection::dispatch;
use crate::store::error::StoreError;
use crate::store::schema::{orders as od, profiles as pr};
use crate::store::Store;

/// A profile row as the fleet API reads it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = pr)]
struct ProfileRow {
    id: i64,
    iccid: String,
    profile_type: String,
    state: String,
    eid: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<ProfileRow> for FleetProfile {
    fn from(r: ProfileRow) -> FleetProfile {
        let ProfileRow { id, iccid, profile_type, state, eid, created_at, updated_at } = r;
        FleetProfile { id, iccid, profile_type, state, eid, created_at, updated_at }
    }
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
            q.order(pr::id).limit(limit).select(ProfileRow::as_select()).load::<ProfileRow>(c)
        })?;
        Ok(rows.into_iter().map(FleetProfile::from).collect())
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
