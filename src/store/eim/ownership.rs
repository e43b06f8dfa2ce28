//! [`OperatorEuiccs`] for [`Store`]: which operator each registered eUICC belongs to (`eim_euiccs.operator_id`,
//! `label`), bulk import and the operator-scoped eUICC queries. Another operator's eUICC is never returned.

use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::eim::campaign::{EuiccFilter, ImportOutcome, OperatorEuiccs, OwnedEuicc};
use crate::eim::{DeviceContact, EimError, NewEuicc};
use crate::store::connection::{dispatch, write_transaction};
use crate::store::eim::orders::is_unique_violation;
use crate::store::prepared::PreparedExt;
use crate::store::schema::eim_euiccs as ee;
use crate::store::Store;

/// Rows per IN list (SQLite's variable limit).
const CHUNK: usize = 500;

type OwnedRow = (String, Option<String>, i64, Option<i64>, i64, Option<i64>, Option<Vec<u8>>, Option<i64>);

fn owned(row: OwnedRow) -> OwnedEuicc {
    let (eid, label, counter_value, token, created_at, last_seen, r_plmn, state_change_cause) = row;
    let contact =
        DeviceContact { r_plmn: r_plmn.and_then(|p| <[u8; 3]>::try_from(p.as_slice()).ok()), state_change_cause };
    OwnedEuicc { eid, label, counter_value, associated: token.is_some(), created_at, last_seen, contact }
}

impl OperatorEuiccs for Store {
    fn import_euicc(&self, new: &NewEuicc, operator_id: &str, label: Option<&str>) -> Result<ImportOutcome, EimError> {
        let now = crate::clock::now_ms();
        let attempt = self.write(|conn| {
            write_transaction!(conn, c => {
                let existing: Option<String> =
                    ee::table.find(&new.eid).select(ee::operator_id).first(c).optional()?;
                if let Some(owner) = existing {
                    return Ok::<_, DieselError>(if owner == operator_id { ImportOutcome::AlreadyRegistered } else { ImportOutcome::Refused });
                }
                diesel::insert_into(ee::table)
                    .values((
                        ee::eid.eq(&new.eid),
                        ee::euicc_certificate.eq(&new.euicc_certificate),
                        ee::eim_id.eq(&new.eim_id),
                        ee::eim_key_curve.eq(new.eim_key_curve.short_name()),
                        ee::counter_value.eq(new.counter_value),
                        ee::association_token.eq(new.association_token),
                        ee::created_at.eq(now),
                        ee::updated_at.eq(now),
                        ee::operator_id.eq(operator_id),
                        ee::label.eq(label),
                    ))
                    .execute(c)?;
                Ok(ImportOutcome::Registered)
            })
        });
        match attempt {
            Err(e) if is_unique_violation(&e) => match self.owned_euicc(operator_id, &new.eid)? {
                Some(_) => Ok(ImportOutcome::AlreadyRegistered),
                None => Ok(ImportOutcome::Refused),
            },
            other => Ok(other?),
        }
    }

    fn assign_operator(&self, eid: &str, operator_id: &str, label: Option<&str>) -> Result<(), EimError> {
        let now = crate::clock::now_ms();
        let changed = self.write(|conn| {
            write_transaction!(conn, c => diesel::update(
                ee::table.find(eid).filter(ee::operator_id.eq("").or(ee::operator_id.eq(operator_id))),
            )
            .set((ee::operator_id.eq(operator_id), ee::label.eq(label), ee::updated_at.eq(now)))
            .prepared().execute(c))
        })?;
        if changed == 0 {
            return Err(EimError::AlreadyRegistered(format!("{eid} (to another operator, or not at all)")));
        }
        Ok(())
    }

    fn owned_euicc(&self, operator_id: &str, eid: &str) -> Result<Option<OwnedEuicc>, EimError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ee::table
            .find(eid)
            .filter(ee::operator_id.eq(operator_id))
            .select((
                    ee::eid,
                    ee::label,
                    ee::counter_value,
                    ee::association_token,
                    ee::created_at,
                    ee::last_seen,
                    ee::r_plmn,
                    ee::state_change_cause,
                ))
            .first(c)
            .optional())?;
        Ok(row.map(owned))
    }

    fn list_euiccs(
        &self,
        operator_id: &str,
        filter: &EuiccFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OwnedEuicc>, EimError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => {
            let mut q = ee::table
                .filter(ee::operator_id.eq(operator_id))
                .select((
                    ee::eid,
                    ee::label,
                    ee::counter_value,
                    ee::association_token,
                    ee::created_at,
                    ee::last_seen,
                    ee::r_plmn,
                    ee::state_change_cause,
                ))
                .order(ee::eid.asc())
                .limit(limit)
                .into_boxed();
            if let Some(after) = after {
                q = q.filter(ee::eid.gt(after));
            }
            if let Some(prefix) = &filter.eid_prefix {
                // Digits only (checked by the caller): no LIKE wildcard can slip in.
                q = q.filter(ee::eid.like(format!("{prefix}%")));
            }
            if let Some(label) = &filter.label {
                q = q.filter(ee::label.eq(label));
            }
            q.load::<OwnedRow>(c)
        })?;
        Ok(rows.into_iter().map(owned).collect())
    }

    fn owned_eids(&self, operator_id: &str, eids: &[String]) -> Result<Vec<String>, EimError> {
        let mut conn = self.conn()?;
        let mut found = Vec::new();
        for chunk in eids.chunks(CHUNK) {
            let rows: Vec<String> = dispatch!(&mut *conn, c => ee::table
                .filter(ee::operator_id.eq(operator_id))
                .filter(ee::eid.eq_any(chunk))
                .select(ee::eid)
                .load(c))?;
            found.extend(rows);
        }
        Ok(found)
    }
}
