//! Inventory operations shared by the operator API (`http::operator::inventory`) and the CLI: bulk upload of prepared
//! packages, template upload, personalization batches — each with a per-item report where one bad item does not
//! sink the good ones unless the caller asks for all-or-nothing (then nothing is written).

use std::collections::BTreeSet;

use super::inventory::ProfilePackageRecord;
use super::inventory::{
    check_type_name, prepared_package, validate_batch, BatchRow, InventoryRepository, NumberedRows, TemplateRecord,
};
use super::profile_repository::RepoError;
use crate::profile::ProfilePackage;

/// Why a whole request is refused (per-item problems go into the [`BulkReport`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// One item of a bulk request, numbered from 1 in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReport {
    pub index: usize,
    /// The ICCID, when the item was readable far enough to have one.
    pub iccid: Option<String>,
    /// Written, or the one-line reason it was not.
    pub outcome: Result<(), String>,
}

/// The per-item report of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkReport {
    pub items: Vec<ItemReport>,
    /// The personalization batch, when one was recorded.
    pub batch_id: Option<i64>,
}

impl BulkReport {
    pub fn written(&self) -> usize {
        self.items.iter().filter(|i| i.outcome.is_ok()).count()
    }

    pub fn failed(&self) -> usize {
        self.items.len() - self.written()
    }
}

/// A prepared package to upload, with optional package-level StoreMetadata overrides (empty / -1: the type's).
/// `Debug` shows the package's length only.
#[derive(Clone)]
pub struct UploadItem {
    /// The DER, or why the item could not even be read (bad base64, unreadable file).
    pub der: Result<Vec<u8>, String>,
    pub service_provider_name: String,
    pub profile_name: String,
    pub profile_class: i64,
}

impl std::fmt::Debug for UploadItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let der = self.der.as_ref().map(|d| format!("<{} bytes, redacted>", d.len()));
        f.debug_struct("UploadItem").field("der", &der).field("profile_name", &self.profile_name).finish()
    }
}

const NOT_WRITTEN: &str = "not written: another item failed and allOrNothing is set";

/// Requires the operator's profile type to be defined.
pub fn require_profile_type(
    repo: &dyn InventoryRepository,
    operator_id: &str,
    name: &str,
) -> Result<(), InventoryError> {
    check_type_name(name).map_err(InventoryError::Invalid)?;
    match repo.find_profile_type(operator_id, name)? {
        Some(_) => Ok(()),
        None => Err(InventoryError::NotFound(format!("no profile type `{name}` (define it first)"))),
    }
}

/// Bulk upload of prepared SAIP packages as Available profiles of `profile_type` (sealed by the store).
pub fn upload_packages(
    repo: &dyn InventoryRepository,
    operator_id: &str,
    profile_type: &str,
    items: Vec<UploadItem>,
    all_or_nothing: bool,
) -> Result<BulkReport, InventoryError> {
    check_type_name(profile_type).map_err(InventoryError::Invalid)?;
    let mut reports = Vec::with_capacity(items.len());
    let mut records = Vec::new();
    let mut positions = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let parsed = item.der.and_then(prepared_package).and_then(|(iccid, der)| {
            if item.service_provider_name.len() > 32 {
                return Err("serviceProviderName: at most 32 bytes".into());
            }
            if item.profile_name.len() > 64 {
                return Err("profileName: at most 64 bytes".into());
            }
            if !seen.insert(iccid.clone()) {
                return Err(format!("duplicate ICCID {iccid} in this request"));
            }
            Ok((iccid, der))
        });
        match parsed {
            Ok((iccid, der)) => {
                positions.push(reports.len());
                reports.push(ItemReport { index: i + 1, iccid: Some(iccid.clone()), outcome: Ok(()) });
                records.push(ProfilePackageRecord {
                    iccid,
                    operator_id: operator_id.to_owned(),
                    package_der: der,
                    service_provider_name: item.service_provider_name,
                    profile_name: item.profile_name,
                    profile_class: item.profile_class,
                });
            }
            Err(reason) => reports.push(ItemReport { index: i + 1, iccid: None, outcome: Err(reason) }),
        }
    }
    let any_bad = reports.iter().any(|r| r.outcome.is_err());
    if all_or_nothing && any_bad {
        for r in &mut reports {
            if r.outcome.is_ok() {
                r.outcome = Err(NOT_WRITTEN.into());
            }
        }
        return Ok(BulkReport { items: reports, batch_id: None });
    }
    if !records.is_empty() {
        let outcomes = repo.import_packages(&records, profile_type, all_or_nothing)?;
        for (pos, outcome) in positions.into_iter().zip(outcomes) {
            reports[pos].outcome = outcome;
        }
    }
    Ok(BulkReport { items: reports, batch_id: None })
}

/// Stores a template for `profile_type` after checking it parses as a SAIP package. The name defaults to the
/// template's own ICCID. Returns the stored record (with its package).
pub fn upload_template(
    repo: &dyn InventoryRepository,
    operator_id: &str,
    name: Option<&str>,
    profile_type: &str,
    der: Vec<u8>,
) -> Result<TemplateRecord, InventoryError> {
    let package = ProfilePackage::parse(&der)
        .map_err(|e| InventoryError::Invalid(format!("not a valid SAIP profile package: {e}")))?;
    let name = name.map(str::to_owned).unwrap_or_else(|| package.iccid().digits());
    check_type_name(&name).map_err(InventoryError::Invalid)?;
    check_type_name(profile_type).map_err(InventoryError::Invalid)?;
    let record = TemplateRecord {
        operator_id: operator_id.to_owned(),
        name: name.clone(),
        profile_type: profile_type.to_owned(),
        package_der: der,
        created_at: 0,
    };
    match repo.insert_template(&record) {
        Ok(()) => Ok(record),
        Err(RepoError::Conflict) => Err(InventoryError::Conflict(format!("template `{name}` already exists"))),
        Err(e) => Err(e.into()),
    }
}

/// A personalization batch for the operator's template: every row validated (ICCID with Luhn digit, IMSI digits,
/// Ki/OPc 16 bytes hex, PIN/PUK digits, unique ICCIDs, and the template must take the row), the good rows stored
/// as Available profiles of the template's type with their data sealed.
pub fn upload_batch(
    repo: &dyn InventoryRepository,
    operator_id: &str,
    template_name: &str,
    rows: NumberedRows,
    all_or_nothing: bool,
) -> Result<BulkReport, InventoryError> {
    let template = repo
        .find_template(operator_id, template_name)?
        .ok_or_else(|| InventoryError::NotFound(format!("no template `{template_name}`")))?;
    if rows.is_empty() {
        return Err(InventoryError::Invalid("the batch has no rows".into()));
    }
    let package = ProfilePackage::parse(&template.package_der)
        .map_err(|e| InventoryError::Invalid(format!("template `{template_name}`: {e}")))?;
    let checked = validate_batch(&package, rows);
    let mut reports: Vec<ItemReport> = checked
        .iter()
        .map(|(n, iccid, r)| ItemReport {
            index: *n,
            iccid: (!iccid.is_empty()).then(|| iccid.clone()),
            outcome: r.as_ref().map(|_| ()).map_err(Clone::clone),
        })
        .collect();
    let any_bad = reports.iter().any(|r| r.outcome.is_err());
    if all_or_nothing && any_bad {
        for r in &mut reports {
            if r.outcome.is_ok() {
                r.outcome = Err(NOT_WRITTEN.into());
            }
        }
        return Ok(BulkReport { items: reports, batch_id: None });
    }
    let (positions, good): (Vec<usize>, Vec<BatchRow>) =
        checked.into_iter().enumerate().filter_map(|(pos, (_, _, r))| r.ok().map(|row| (pos, row))).unzip();
    if good.is_empty() {
        return Ok(BulkReport { items: reports, batch_id: None });
    }
    let (batch_id, outcomes) = repo.insert_batch(operator_id, &template, &good, all_or_nothing)?;
    for (pos, outcome) in positions.into_iter().zip(outcomes) {
        reports[pos].outcome = outcome;
    }
    Ok(BulkReport { items: reports, batch_id: (batch_id > 0).then_some(batch_id) })
}
