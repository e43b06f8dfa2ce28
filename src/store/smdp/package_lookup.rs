//! What is held for a profile's package, read in one statement group and opened (SGP.22 v2.5 §3.1.3 step 4):
//! a prepared package, unsealed, or a template-backed profile's template and sealed batch row, unsealed; with the
//! profile's type definition. What the package becomes (personalization, StoreMetadata names) is decided by
//! [`crate::smdp::package_to_bind`].

use diesel::prelude::*;

use crate::secrets::RowBinding;
use crate::smdp::inventory::{BatchRow, ProfilePackageRecord};
use crate::smdp::package_to_bind::{PackageSource, StoredPackage};
use crate::smdp::RepoError;
use crate::store::connection::dispatch;
use crate::store::error::StoreError;
use crate::store::schema::{profile_types as ty, profiles as pr};
use crate::store::smdp::inventory::ClassifyName;
use crate::store::smdp::inventory::{
    template_key, PackageRow, PersonalizationRow, TemplateRow, TypeRow, PACKAGES, PERSONALIZATIONS, TEMPLATES,
};
use crate::store::Store;

/// The rows held for a profile's package, as one read brings them back (sealed).
pub(in crate::store) struct PackageRows {
    prepared: Option<PackageRow>,
    /// The personalization row and its template (`None`: the template was deleted).
    personalization: Option<(PersonalizationRow, Option<TemplateRow>)>,
    profile_type: Option<TypeRow>,
}

/// Reads the [`PackageRows`] of the operator's profile on connection `$c` (a `QueryResult<PackageRows>`).
macro_rules! read_package_rows {
    ($c:expr, $operator_id:expr, $iccid:expr) => {
        (|| -> diesel::QueryResult<$crate::store::smdp::package_lookup::PackageRows> {
            use $crate::store::schema::{
                profile_packages as pp, profile_personalizations as ppz, profile_templates as pt, profile_types as ty,
                profiles as pr,
            };
            use $crate::store::smdp::inventory::{PackageRow, PersonalizationRow, TemplateRow, TypeRow};
            let (operator_id, iccid): (&str, &str) = ($operator_id, $iccid);
            let prepared = pp::table
                .filter(pp::operator_id.eq(operator_id))
                .filter(pp::iccid.eq(iccid))
                .select(PackageRow::as_select())
                .first($c)
                .optional()?;
            let personalization = match prepared {
                Some(_) => None,
                None => match ppz::table
                    .filter(ppz::operator_id.eq(operator_id))
                    .filter(ppz::iccid.eq(iccid))
                    .select(PersonalizationRow::as_select())
                    .first($c)
                    .optional()?
                {
                    None => None,
                    Some(p) => {
                        let template = pt::table
                            .filter(pt::operator_id.eq(operator_id))
                            .filter(pt::name.eq(&p.template))
                            .select(TemplateRow::as_select())
                            .first($c)
                            .optional()?;
                        Some((p, template))
                    }
                },
            };
            let type_name = pr::table
                .filter(pr::operator_id.eq(operator_id))
                .filter(pr::iccid.eq(iccid))
                .select(pr::profile_type)
                .first::<String>($c)
                .optional()?;
            let profile_type = match type_name {
                None => None,
                Some(name) => ty::table
                    .filter(ty::operator_id.eq(operator_id))
                    .filter(ty::name.eq(name))
                    .select(TypeRow::as_select())
                    .first($c)
                    .optional()?,
            };
            Ok($crate::store::smdp::package_lookup::PackageRows::new(prepared, personalization, profile_type))
        })()
    };
}
pub(in crate::store) use read_package_rows;

impl PackageRows {
    pub(in crate::store) fn new(
        prepared: Option<PackageRow>,
        personalization: Option<(PersonalizationRow, Option<TemplateRow>)>,
        profile_type: Option<TypeRow>,
    ) -> PackageRows {
        PackageRows { prepared, personalization, profile_type }
    }
}

impl Store {
    /// [`crate::smdp::DownloadRepository::stored_package`]: one read phase.
    pub(in crate::store) fn load_stored_package(
        &self,
        operator_id: &str,
        iccid: &str,
    ) -> Result<Option<StoredPackage>, RepoError> {
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => read_package_rows!(c, operator_id, iccid)).map_err(StoreError::from)?;
        drop(conn);
        self.open_package_rows(operator_id, iccid, rows)
    }

    /// Opens what [`read_package_rows`] read: the sealed package, or the template and the sealed batch row.
    pub(in crate::store) fn open_package_rows(
        &self,
        operator_id: &str,
        iccid: &str,
        rows: PackageRows,
    ) -> Result<Option<StoredPackage>, RepoError> {
        let profile_type = rows.profile_type.map(TypeRow::into_type).transpose()?;
        let source = if let Some(r) = rows.prepared {
            let package_der = match &r.key_id {
                Some(key_id) => {
                    self.open_sealed(RowBinding { table: PACKAGES, primary_key: &r.iccid }, key_id, &r.package_der)?
                }
                // Written before sealing existed; `rspd keys rotate` seals it.
                None => r.package_der,
            };
            PackageSource::Prepared(ProfilePackageRecord {
                iccid: r.iccid,
                operator_id: r.operator_id,
                package_der,
                service_provider_name: r.service_provider_name,
                profile_name: r.profile_name,
                profile_class: r.profile_class,
            })
        } else if let Some((p, template)) = rows.personalization {
            let template = template
                .ok_or_else(|| RepoError::Backend(format!("template {} of profile {iccid} is gone", p.template)))?;
            let data = self.open_sealed(
                RowBinding { table: PERSONALIZATIONS, primary_key: &p.iccid },
                &p.key_id,
                &p.data_sealed,
            )?;
            let row: BatchRow = serde_json::from_slice(&data)
                .map_err(|e| RepoError::Backend(format!("personalization of {iccid}: {}", e.classify_name())))?;
            let key = template_key(&template.operator_id, &template.name);
            let template_der = self.open_sealed(
                RowBinding { table: TEMPLATES, primary_key: &key },
                &template.key_id,
                &template.package_sealed,
            )?;
            PackageSource::Template { template: template.name, template_der, row }
        } else {
            return Ok(None);
        };
        Ok(Some(StoredPackage { operator_id: operator_id.to_owned(), iccid: iccid.to_owned(), source, profile_type }))
    }

    /// Operators that have profiles or profile types (for the stock metrics).
    pub fn operators_with_profiles(&self) -> Result<Vec<String>, RepoError> {
        let mut conn = self.conn()?;
        let mut ids = dispatch!(&mut *conn, c => pr::table.select(pr::operator_id).distinct().load::<String>(c))
            .map_err(StoreError::from)?;
        let types = dispatch!(&mut *conn, c => ty::table.select(ty::operator_id).distinct().load::<String>(c))
            .map_err(StoreError::from)?;
        ids.extend(types);
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}
