//! The package the download binds (SGP.22 v2.5 §3.1.3 step 4): a prepared package, unsealed, or — for a
//! template-backed profile — the template personalized now with the profile's sealed batch row; with the
//! StoreMetadata fields it leaves open filled from its profile type (§5.5.3).

use diesel::prelude::*;

use crate::secrets::RowBinding;
use crate::smdp::download_repository::ProfileNames;
use crate::smdp::inventory::ProfilePackageRecord;
use crate::smdp::inventory::{generate_package, BatchRow, InventoryRepository, ProfileMetadata, ProfileType};
use crate::smdp::RepoError;
use crate::store::connection::dispatch;
use crate::store::error::StoreError;
use crate::store::schema::{
    profile_packages as pp, profile_personalizations as ppz, profile_types as ty, profiles as pr,
};
use crate::store::smdp::inventory::ClassifyName;
use crate::store::smdp::inventory::{PackageRow, PersonalizationRow, PACKAGES, PERSONALIZATIONS};
use crate::store::Store;

impl Store {
    /// The profile's type definition, if any.
    fn type_of_profile(&self, operator_id: &str, iccid: &str) -> Result<Option<ProfileType>, RepoError> {
        let mut conn = self.conn()?;
        let profile_type = dispatch!(&mut *conn, c => pr::table
            .filter(pr::operator_id.eq(operator_id))
            .filter(pr::iccid.eq(iccid))
            .select(pr::profile_type)
            .first::<String>(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        match profile_type {
            Some(t) => self.find_profile_type(operator_id, &t),
            None => Ok(None),
        }
    }

    /// Fills StoreMetadata fields the package leaves open from the profile type (§5.5.3).
    fn resolve_metadata(&self, mut record: ProfilePackageRecord) -> Result<ProfilePackageRecord, RepoError> {
        let defined = if names_open(&ProfileNames::from(&record)) {
            self.type_of_profile(&record.operator_id, &record.iccid)?
        } else {
            None
        };
        let names = resolve_names((&record).into(), defined.as_ref());
        record.service_provider_name = names.service_provider_name;
        record.profile_name = names.profile_name;
        record.profile_class = names.profile_class;
        Ok(record)
    }

    /// [`crate::smdp::DownloadRepository::find_profile_package`]: prepared (unsealed) or generated.
    pub(in crate::store) fn load_profile_package(
        &self,
        operator_id: &str,
        iccid: &str,
    ) -> Result<Option<ProfilePackageRecord>, RepoError> {
        let mut conn = self.conn()?;
        let prepared = dispatch!(&mut *conn, c => pp::table
            .filter(pp::operator_id.eq(operator_id))
            .filter(pp::iccid.eq(iccid))
            .select(PackageRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        if let Some(r) = prepared {
            drop(conn);
            let package_der = match &r.key_id {
                Some(key_id) => {
                    self.open_sealed(RowBinding { table: PACKAGES, primary_key: &r.iccid }, key_id, &r.package_der)?
                }
                // Written before sealing existed; `rspd keys rotate` seals it.
                None => r.package_der,
            };
            return self
                .resolve_metadata(ProfilePackageRecord {
                    iccid: r.iccid,
                    operator_id: r.operator_id,
                    package_der,
                    service_provider_name: r.service_provider_name,
                    profile_name: r.profile_name,
                    profile_class: r.profile_class,
                })
                .map(Some);
        }
        let personalization = dispatch!(&mut *conn, c => ppz::table
            .filter(ppz::operator_id.eq(operator_id))
            .filter(ppz::iccid.eq(iccid))
            .select(PersonalizationRow::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        let Some(p) = personalization else { return Ok(None) };
        let data =
            self.open_sealed(RowBinding { table: PERSONALIZATIONS, primary_key: &p.iccid }, &p.key_id, &p.data_sealed)?;
        let row: BatchRow = serde_json::from_slice(&data)
            .map_err(|e| RepoError::Backend(format!("personalization of {iccid}: {}", e.classify_name())))?;
        let template = self
            .find_template(operator_id, &p.template)?
            .ok_or_else(|| RepoError::Backend(format!("template {} of profile {iccid} is gone", p.template)))?;
        // §3.1.3 step 4: the profile is generated when it is bound.
        let package_der = generate_package(&template.package_der, &row)
            .map_err(|e| RepoError::Backend(format!("generating profile {iccid} from template {}: {e}", p.template)))?;
        self.resolve_metadata(ProfilePackageRecord {
            iccid: p.iccid,
            operator_id: p.operator_id,
            package_der,
            service_provider_name: String::new(),
            profile_name: String::new(),
            profile_class: -1,
        })
        .map(Some)
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

    /// [`crate::smdp::DownloadRepository::profile_type_metadata`].
    pub(in crate::store) fn load_profile_type_metadata(
        &self,
        operator_id: &str,
        iccid: &str,
    ) -> Result<Option<ProfileMetadata>, RepoError> {
        Ok(self.type_of_profile(operator_id, iccid)?.map(|t| t.metadata))
    }
}

/// Whether the package leaves a StoreMetadata name open (its profile type then fills it).
pub(in crate::store) fn names_open(names: &ProfileNames) -> bool {
    names.service_provider_name.is_empty() || names.profile_name.is_empty() || names.profile_class < 0
}

/// The StoreMetadata names of a package (§5.5.3): its own, else its profile type's (`profile_type`, read when
/// [`names_open`]), else `Profile <ICCID>` and operational(2) (the ASN.1 default).
pub(in crate::store) fn resolve_names(mut names: ProfileNames, profile_type: Option<&ProfileType>) -> ProfileNames {
    if names_open(&names) {
        // Without a type definition a class left open is operational (the ASN.1 default).
        let class = profile_type.map_or(2, |t| t.metadata.profile_class);
        let t = profile_type.map(|t| t.metadata.clone()).unwrap_or_default();
        if names.service_provider_name.is_empty() {
            names.service_provider_name = t.service_provider_name;
        }
        if names.profile_name.is_empty() {
            names.profile_name = t.profile_name;
        }
        if names.profile_class < 0 {
            names.profile_class = class;
        }
    }
    if names.profile_name.is_empty() {
        names.profile_name = format!("Profile {}", names.iccid);
    }
    names
}
