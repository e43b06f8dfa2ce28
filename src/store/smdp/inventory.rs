//! [`InventoryRepository`] for [`Store`]: profile types, prepared packages in bulk, templates, personalization
//! batches and stock (SGP.22 v2.5 §5.3.1 pool, §5.5.3 StoreMetadata); the package lookup of the download is in
//! `package_lookup`. Packages, templates and personalization rows are sealed with [`crate::secrets`]; the AAD
//! binds each to its table and primary key.

use crate::clock::now_ms;
use crate::store::prepared::PreparedExt;
use std::collections::BTreeMap;

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::secrets::{RowBinding, SecretsError};
use crate::smdp::inventory::ProfilePackageRecord;
use crate::smdp::inventory::{
    BatchRow, InventoryRepository, ItemOutcome, NotificationConfig, ProfileMetadata, ProfileType, StockLevel,
    TemplateRecord,
};
use crate::smdp::{ProfileState, RepoError};
use crate::store::connection::{dispatch, write_transaction};
use crate::store::error::StoreError;
use crate::store::schema::{
    personalization_batches as pb, profile_packages as pp, profile_personalizations as ppz, profile_templates as pt,
    profile_types as ty, profiles as pr,
};
use crate::store::Store;

pub(in crate::store) const PACKAGES: &str = "profile_packages";
pub(in crate::store) const TEMPLATES: &str = "profile_templates";
pub(in crate::store) const PERSONALIZATIONS: &str = "profile_personalizations";

/// The AAD primary key of a template row.
pub(in crate::store) fn template_key(operator_id: &str, name: &str) -> String {
    format!("{operator_id}/{name}")
}

pub(in crate::store) fn secrets_error(e: SecretsError) -> RepoError {
    RepoError::Backend(e.to_string())
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pp)]
pub(in crate::store) struct PackageRow {
    pub iccid: String,
    pub operator_id: String,
    pub package_der: Vec<u8>,
    pub service_provider_name: String,
    pub profile_name: String,
    pub profile_class: i64,
    pub created_at: i64,
    pub key_id: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ty)]
pub(in crate::store) struct TypeRow {
    operator_id: String,
    name: String,
    service_provider_name: String,
    profile_name: String,
    profile_class: i64,
    profile_policy_rules: Option<String>,
    notification_configuration_info: Option<String>,
    low_stock_threshold: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TypeRow {
    pub(in crate::store) fn into_type(self) -> Result<ProfileType, RepoError> {
        let nci: Vec<NotificationConfig> = match &self.notification_configuration_info {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| RepoError::Backend(format!("profile_types.notification_configuration_info: {e}")))?,
            None => Vec::new(),
        };
        Ok(ProfileType {
            operator_id: self.operator_id,
            name: self.name,
            metadata: ProfileMetadata {
                service_provider_name: self.service_provider_name,
                profile_name: self.profile_name,
                profile_class: self.profile_class,
                profile_policy_rules: self
                    .profile_policy_rules
                    .map(|s| s.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect())
                    .unwrap_or_default(),
                notification_configuration_info: nci,
            },
            low_stock_threshold: self.low_stock_threshold,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pt)]
pub(in crate::store) struct TemplateRow {
    pub(in crate::store) operator_id: String,
    pub(in crate::store) name: String,
    pub(in crate::store) profile_type: String,
    pub(in crate::store) key_id: String,
    pub(in crate::store) package_sealed: Vec<u8>,
    pub(in crate::store) created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ppz)]
pub(in crate::store) struct PersonalizationRow {
    pub(in crate::store) iccid: String,
    pub(in crate::store) operator_id: String,
    pub(in crate::store) template: String,
    pub(in crate::store) batch_id: Option<i64>,
    pub(in crate::store) key_id: String,
    pub(in crate::store) data_sealed: Vec<u8>,
    pub(in crate::store) created_at: i64,
}

/// The one refusal of an ICCID that is taken (ICCIDs are unique across the server): the same words whether the
/// caller or another operator holds it, naming no holder (tenant isolation, issue 10 item 3).
fn iccid_taken(iccid: &str) -> String {
    format!("ICCID {iccid} already exists")
}

/// Personalization rows written per statement (one multi-row INSERT per table), and per transaction by a batch that
/// is not all-or-nothing (within SQLite's 32,766 bound parameters: 7 per row).
const ROWS_PER_TRANSACTION: usize = 500;

/// Per-item outcome of a failed insert, in words an operator can act on.
fn item_error(e: RepoError, iccid: &str) -> String {
    match e {
        RepoError::Conflict => iccid_taken(iccid),
        other => other.to_string(),
    }
}

impl Store {
    /// A sealed `profile_packages` row for `package`.
    fn package_row(&self, package: &ProfilePackageRecord, now: i64) -> Result<PackageRow, RepoError> {
        let sealed = self
            .keyring()?
            .seal(RowBinding { table: PACKAGES, primary_key: &package.iccid }, &package.package_der)
            .map_err(secrets_error)?;
        Ok(PackageRow {
            iccid: package.iccid.clone(),
            operator_id: package.operator_id.clone(),
            package_der: sealed.blob,
            service_provider_name: package.service_provider_name.clone(),
            profile_name: package.profile_name.clone(),
            profile_class: package.profile_class,
            created_at: now,
            key_id: Some(sealed.key_id),
        })
    }

    /// The ICCIDs among `iccids` that are already profiles (of any operator: ICCIDs are unique SM-DP+-wide).
    fn existing_iccids(&self, iccids: &[String]) -> Result<Vec<String>, RepoError> {
        let mut conn = self.conn()?;
        let mut found = Vec::new();
        for chunk in iccids.chunks(500) {
            let mut part = dispatch!(&mut *conn, c => pr::table
                .filter(pr::iccid.eq_any(chunk))
                .select(pr::iccid)
                .load::<String>(c))
            .map_err(StoreError::from)?;
            found.append(&mut part);
        }
        Ok(found)
    }

    /// Outcomes when an all-or-nothing write is refused before it starts.
    fn refused_all(&self, iccids: &[String], failures: &BTreeMap<usize, String>) -> Vec<ItemOutcome> {
        (0..iccids.len())
            .map(|i| match failures.get(&i) {
                Some(reason) => Err(reason.clone()),
                None => Err("not written: another item failed and allOrNothing is set".into()),
            })
            .collect()
    }
}

/// Inserts the `profiles` row of a new Available profile, inside a transaction.
macro_rules! insert_available {
    ($c:expr, $operator:expr, $iccid:expr, $type:expr, $now:expr) => {
        diesel::insert_into(pr::table)
            .values((
                pr::operator_id.eq($operator),
                pr::iccid.eq($iccid),
                pr::profile_type.eq($type),
                pr::state.eq(ProfileState::Available.as_str()),
                pr::created_at.eq($now),
                pr::updated_at.eq($now),
            ))
            .execute($c)
    };
}

/// As [`insert_available`], one multi-row INSERT for the profiles of `rows` (`PersonalizationRow`s).
macro_rules! insert_available_many {
    ($c:expr, $operator:expr, $rows:expr, $type:expr, $now:expr) => {{
        let values: Vec<_> = $rows
            .iter()
            .map(|r| {
                (
                    pr::operator_id.eq($operator),
                    pr::iccid.eq(&r.iccid),
                    pr::profile_type.eq($type),
                    pr::state.eq(ProfileState::Available.as_str()),
                    pr::created_at.eq($now),
                    pr::updated_at.eq($now),
                )
            })
            .collect();
        diesel::insert_into(pr::table).values(values).execute($c)
    }};
}

impl InventoryRepository for Store {
    fn upsert_profile_type(&self, t: &ProfileType) -> Result<(), RepoError> {
        let now = now_ms();
        let m = &t.metadata;
        let ppr = (!m.profile_policy_rules.is_empty()).then(|| m.profile_policy_rules.join(","));
        let nci = (!m.notification_configuration_info.is_empty())
            .then(|| serde_json::to_string(&m.notification_configuration_info))
            .transpose()
            .map_err(|e| RepoError::Backend(e.to_string()))?;
        let row = TypeRow {
            operator_id: t.operator_id.clone(),
            name: t.name.clone(),
            service_provider_name: m.service_provider_name.clone(),
            profile_name: m.profile_name.clone(),
            profile_class: m.profile_class,
            profile_policy_rules: ppr.clone(),
            notification_configuration_info: nci.clone(),
            low_stock_threshold: t.low_stock_threshold,
            created_at: now,
            updated_at: now,
        };
        self.write(|conn| {
            write_transaction!(conn, c => {
                let updated = diesel::update(
                    ty::table.filter(ty::operator_id.eq(&t.operator_id)).filter(ty::name.eq(&t.name)),
                )
                .set((
                    ty::service_provider_name.eq(&m.service_provider_name),
                    ty::profile_name.eq(&m.profile_name),
                    ty::profile_class.eq(m.profile_class),
                    ty::profile_policy_rules.eq(&ppr),
                    ty::notification_configuration_info.eq(&nci),
                    ty::low_stock_threshold.eq(t.low_stock_threshold),
                    ty::updated_at.eq(now),
                ))
                .prepared().execute(c)?;
                if updated == 0 {
                    diesel::insert_into(ty::table).values(&row).execute(c)?;
                }
                Ok::<(), diesel::result::Error>(())
            })
        })?;
        Ok(())
    }

    fn find_profile_type(&self, operator_id: &str, name: &str) -> Result<Option<ProfileType>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => ty::table
            .filter(ty::operator_id.eq(operator_id))
            .filter(ty::name.eq(name))
            .select(TypeRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        row.map(TypeRow::into_type).transpose()
    }

    fn list_profile_types(&self, operator_id: &str) -> Result<Vec<ProfileType>, RepoError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => ty::table
            .filter(ty::operator_id.eq(operator_id))
            .order(ty::name)
            .select(TypeRow::as_select())
            .load(c))
        .map_err(StoreError::from)?;
        rows.into_iter().map(TypeRow::into_type).collect()
    }

    fn import_packages(
        &self,
        packages: &[ProfilePackageRecord],
        profile_type: &str,
        all_or_nothing: bool,
    ) -> Result<Vec<ItemOutcome>, RepoError> {
        let now = now_ms();
        let rows = packages.iter().map(|p| self.package_row(p, now)).collect::<Result<Vec<_>, _>>()?;
        if !all_or_nothing {
            return Ok(rows
                .iter()
                .map(|row| {
                    self.write(|conn| {
                        write_transaction!(conn, c => {
                            insert_available!(c, &row.operator_id, &row.iccid, profile_type, now)?;
                            diesel::insert_into(pp::table).values(row).execute(c)
                        })
                    })
                    .map(|_| ())
                    .map_err(|e| item_error(e.into(), &row.iccid))
                })
                .collect());
        }
        let iccids: Vec<String> = rows.iter().map(|r| r.iccid.clone()).collect();
        let existing = self.existing_iccids(&iccids)?;
        if !existing.is_empty() {
            let failures = iccids
                .iter()
                .enumerate()
                .filter(|(_, i)| existing.contains(i))
                .map(|(n, i)| (n, iccid_taken(i)))
                .collect();
            return Ok(self.refused_all(&iccids, &failures));
        }
        let written = self.write(|conn| {
            write_transaction!(conn, c => {
                for row in &rows {
                    insert_available!(c, &row.operator_id, &row.iccid, profile_type, now)?;
                    diesel::insert_into(pp::table).values(row).execute(c)?;
                }
                Ok::<(), diesel::result::Error>(())
            })
        });
        Ok(match written {
            Ok(()) => vec![Ok(()); rows.len()],
            Err(e) => {
                let reason = format!("nothing written (allOrNothing): {}", RepoError::from(e));
                vec![Err(reason); rows.len()]
            }
        })
    }

    fn insert_template(&self, template: &TemplateRecord) -> Result<(), RepoError> {
        let key = template_key(&template.operator_id, &template.name);
        let sealed = self
            .keyring()?
            .seal(RowBinding { table: TEMPLATES, primary_key: &key }, &template.package_der)
            .map_err(secrets_error)?;
        let row = TemplateRow {
            operator_id: template.operator_id.clone(),
            name: template.name.clone(),
            profile_type: template.profile_type.clone(),
            key_id: sealed.key_id,
            package_sealed: sealed.blob,
            created_at: now_ms(),
        };
        self.write(|conn| write_transaction!(conn, c => diesel::insert_into(pt::table).values(&row).execute(c)))?;
        Ok(())
    }

    fn find_template(&self, operator_id: &str, name: &str) -> Result<Option<TemplateRecord>, RepoError> {
        let mut conn = self.conn()?;
        let row = dispatch!(&mut *conn, c => pt::table
            .filter(pt::operator_id.eq(operator_id))
            .filter(pt::name.eq(name))
            .select(TemplateRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        let Some(r) = row else { return Ok(None) };
        let key = template_key(&r.operator_id, &r.name);
        let package_der =
            self.open_sealed(RowBinding { table: TEMPLATES, primary_key: &key }, &r.key_id, &r.package_sealed)?;
        Ok(Some(TemplateRecord {
            operator_id: r.operator_id,
            name: r.name,
            profile_type: r.profile_type,
            package_der,
            created_at: r.created_at,
        }))
    }

    fn list_templates(&self, operator_id: &str) -> Result<Vec<TemplateRecord>, RepoError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => pt::table
            .filter(pt::operator_id.eq(operator_id))
            .order(pt::name)
            .select((pt::name, pt::profile_type, pt::created_at))
            .load::<(String, String, i64)>(c))
        .map_err(StoreError::from)?;
        Ok(rows
            .into_iter()
            .map(|(name, profile_type, created_at)| TemplateRecord {
                operator_id: operator_id.to_owned(),
                name,
                profile_type,
                package_der: Vec::new(),
                created_at,
            })
            .collect())
    }

    fn insert_batch(
        &self,
        operator_id: &str,
        template: &TemplateRecord,
        rows: &[BatchRow],
        all_or_nothing: bool,
    ) -> Result<(i64, Vec<ItemOutcome>), RepoError> {
        let keyring = self.keyring()?;
        let now = now_ms();
        let mut sealed_rows = Vec::with_capacity(rows.len());
        for row in rows {
            let json = serde_json::to_vec(row).map_err(|e| RepoError::Backend(e.classify_name().into()))?;
            let sealed = keyring
                .seal(RowBinding { table: PERSONALIZATIONS, primary_key: &row.iccid }, &json)
                .map_err(secrets_error)?;
            sealed_rows.push(PersonalizationRow {
                iccid: row.iccid.clone(),
                operator_id: operator_id.to_owned(),
                template: template.name.clone(),
                batch_id: None,
                key_id: sealed.key_id,
                data_sealed: sealed.blob,
                created_at: now,
            });
        }
        let new_batch = (
            pb::operator_id.eq(operator_id),
            pb::template.eq(&template.name),
            pb::profile_type.eq(&template.profile_type),
            pb::row_count.eq(0_i64),
            pb::created_at.eq(now),
        );
        let iccids: Vec<String> = rows.iter().map(|r| r.iccid.clone()).collect();
        if all_or_nothing {
            let existing = self.existing_iccids(&iccids)?;
            if !existing.is_empty() {
                let failures = iccids
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| existing.contains(i))
                    .map(|(n, i)| (n, iccid_taken(i)))
                    .collect();
                return Ok((0, self.refused_all(&iccids, &failures)));
            }
        }
        let batch_id = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(pb::table).values(new_batch).returning(pb::id).get_result::<i64>(c))
        })?;
        let insert_one = |c_row: &PersonalizationRow| {
            self.write(|conn| {
                write_transaction!(conn, c => {
                    insert_available!(c, operator_id, &c_row.iccid, &template.profile_type, now)?;
                    diesel::insert_into(ppz::table).values(c_row).execute(c)
                })
            })
        };
        for r in &mut sealed_rows {
            r.batch_id = Some(batch_id);
        }
        let outcomes: Vec<ItemOutcome> = if all_or_nothing {
            let written = self.write(|conn| {
                write_transaction!(conn, c => {
                    for chunk in sealed_rows.chunks(ROWS_PER_TRANSACTION) {
                        insert_available_many!(c, operator_id, chunk, &template.profile_type, now)?;
                        diesel::insert_into(ppz::table).values(chunk).execute(c)?;
                    }
                    Ok::<(), diesel::result::Error>(())
                })
            });
            match written {
                Ok(()) => vec![Ok(()); rows.len()],
                Err(e) => vec![Err(format!("nothing written (allOrNothing): {}", RepoError::from(e))); rows.len()],
            }
        } else {
            // Rows by the hundred per transaction (one commit each, not one per row); a chunk with a refused row
            // (an ICCID taken, maybe meanwhile) is written again row by row, so every row gets its own outcome.
            let mut outcomes = Vec::with_capacity(sealed_rows.len());
            for chunk in sealed_rows.chunks(ROWS_PER_TRANSACTION) {
                let written = self.write(|conn| {
                    write_transaction!(conn, c => {
                        insert_available_many!(c, operator_id, chunk, &template.profile_type, now)?;
                        diesel::insert_into(ppz::table).values(chunk).execute(c)
                    })
                });
                match written {
                    Ok(_) => outcomes.extend(chunk.iter().map(|_| Ok(()))),
                    Err(_) => outcomes.extend(
                        chunk.iter().map(|r| insert_one(r).map(|_| ()).map_err(|e| item_error(e.into(), &r.iccid))),
                    ),
                }
            }
            outcomes
        };
        let written = outcomes.iter().filter(|o| o.is_ok()).count() as i64;
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(pb::table.find(batch_id)).set(pb::row_count.eq(written)).prepared().execute(c))
        })?;
        Ok((batch_id, outcomes))
    }

    fn stock(&self, operator_id: &str) -> Result<Vec<StockLevel>, RepoError> {
        let types = self.list_profile_types(operator_id)?;
        let mut conn = self.conn()?;
        let counts = dispatch!(&mut *conn, c => pr::table
            .filter(pr::operator_id.eq(operator_id))
            .group_by((pr::profile_type, pr::state))
            .select((pr::profile_type, pr::state, count_star()))
            .load::<(String, String, i64)>(c))
        .map_err(StoreError::from)?;
        let mut levels: BTreeMap<String, StockLevel> = BTreeMap::new();
        let empty = |name: &str, threshold| StockLevel {
            profile_type: name.to_owned(),
            counts: ProfileState::ALL.iter().map(|s| (*s, 0)).collect(),
            low_stock_threshold: threshold,
        };
        for t in &types {
            levels.insert(t.name.clone(), empty(&t.name, t.low_stock_threshold));
        }
        for (profile_type, state, n) in counts {
            let state: ProfileState = state.parse().map_err(|e| RepoError::Backend(format!("profiles.state: {e}")))?;
            let level = levels.entry(profile_type.clone()).or_insert_with(|| empty(&profile_type, None));
            if let Some(slot) = level.counts.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = n;
            }
        }
        Ok(levels.into_values().collect())
    }
}

/// A serde_json error's category only (its message could quote the data, i.e. a key).
pub(in crate::store) trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
