//! The SM-DP+ profile inventory beyond single profiles: profile types with the metadata of their profiles
//! (StoreMetadataRequest, SGP.22 v2.5 §5.5.3), prepared packages uploaded in bulk, templates with personalization
//! batches from which a profile is generated when it is bound (§3.1.3 step 4), and stock per type (the pool
//! ES2+ DownloadOrder by profileType draws from, §5.3.1).
//!
//! Storage goes through [`InventoryRepository`]; nothing here knows SQL or HTTP. Packages, templates and
//! personalization data are sealed by the store (`crate::secrets`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::profile_repository::RepoError;
use super::ProfileState;
use crate::codec::sgp22::NotificationConfigurationInformation;
use crate::profile::{pins, Iccid, Imsi, Personalization, PinValue, ProfilePackage, PukValue, Secret};

/// A SAIP profile package with the metadata the SM-DP+ sends as StoreMetadataRequest (§5.5.3). `Debug` shows
/// the package's length only (it holds Ki, OPc and PINs).
#[derive(Clone, PartialEq, Eq)]
pub struct ProfilePackageRecord {
    pub iccid: String,
    pub operator_id: String,
    pub package_der: Vec<u8>,
    pub service_provider_name: String,
    pub profile_name: String,
    /// `ProfileClass`: test(0), provisioning(1), operational(2).
    pub profile_class: i64,
}

impl std::fmt::Debug for ProfilePackageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilePackageRecord")
            .field("iccid", &self.iccid)
            .field("operator_id", &self.operator_id)
            .field("package_der", &format_args!("<{} bytes, redacted>", self.package_der.len()))
            .field("service_provider_name", &self.service_provider_name)
            .field("profile_name", &self.profile_name)
            .field("profile_class", &self.profile_class)
            .finish()
    }
}

/// `ProfileClass` (§5.5.3): test(0), provisioning(1), operational(2).
pub fn profile_class_name(class: i64) -> &'static str {
    match class {
        0 => "test",
        1 => "provisioning",
        _ => "operational",
    }
}

pub fn parse_profile_class(name: &str) -> Option<i64> {
    match name {
        "test" => Some(0),
        "provisioning" => Some(1),
        "operational" => Some(2),
        _ => None,
    }
}

/// `PprIds ::= BIT STRING {pprUpdateControl(0), ppr1(1), ppr2(2)}` (§2.9.1), by bit name.
pub const PPR_NAMES: [&str; 3] = ["pprUpdateControl", "ppr1", "ppr2"];
/// `NotificationEvent ::= BIT STRING {notificationInstall(0), notificationEnable(1), notificationDisable(2),
/// notificationDelete(3)}`, by bit name.
pub const NOTIFICATION_EVENT_NAMES: [&str; 4] =
    ["notificationInstall", "notificationEnable", "notificationDisable", "notificationDelete"];

/// One `NotificationConfigurationInformation` (§5.5.3): which operations notify which address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationConfig {
    /// Bit names of [`NOTIFICATION_EVENT_NAMES`].
    pub profile_management_operation: Vec<String>,
    pub notification_address: String,
}

/// The StoreMetadata a profile type gives its profiles (§5.5.3); a prepared package may override the first three.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileMetadata {
    /// At most 32 bytes.
    pub service_provider_name: String,
    /// At most 64 bytes; empty: `Profile <ICCID>`.
    pub profile_name: String,
    pub profile_class: i64,
    /// Bit names of [`PPR_NAMES`].
    pub profile_policy_rules: Vec<String>,
    pub notification_configuration_info: Vec<NotificationConfig>,
}

/// A profile type of one operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileType {
    pub operator_id: String,
    pub name: String,
    pub metadata: ProfileMetadata,
    /// Warn (log, metric) when fewer profiles than this are available.
    pub low_stock_threshold: Option<i64>,
}

/// Why a profile type definition is refused.
pub fn check_profile_type(t: &ProfileType) -> Result<(), String> {
    check_type_name(&t.name)?;
    let m = &t.metadata;
    if m.service_provider_name.len() > 32 {
        return Err("serviceProviderName: at most 32 bytes".into());
    }
    if m.profile_name.len() > 64 {
        return Err("profileName: at most 64 bytes".into());
    }
    if !(0..=2).contains(&m.profile_class) {
        return Err("profileClass: test, provisioning or operational".into());
    }
    if let Some(bad) = m.profile_policy_rules.iter().find(|p| !PPR_NAMES.contains(&p.as_str())) {
        return Err(format!("profilePolicyRules: unknown rule `{bad}` (pprUpdateControl, ppr1, ppr2)"));
    }
    for n in &m.notification_configuration_info {
        if let Some(bad) =
            n.profile_management_operation.iter().find(|e| !NOTIFICATION_EVENT_NAMES.contains(&e.as_str()))
        {
            return Err(format!("notificationConfigurationInfo: unknown event `{bad}`"));
        }
        if n.notification_address.is_empty() || n.notification_address.len() > 255 {
            return Err("notificationConfigurationInfo: notificationAddress must be 1 to 255 bytes".into());
        }
    }
    if t.low_stock_threshold.is_some_and(|n| n < 0) {
        return Err("lowStockThreshold: must not be negative".into());
    }
    Ok(())
}

/// Type and template names: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_type_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!("`{name}` is not a valid name (1 to 64 of A-Z a-z 0-9 . _ -)"));
    }
    Ok(())
}

/// A named BIT STRING value (bit 0 first) as rasn's bit vector.
fn bits(names: &[String], all: &[&str]) -> crate::codec::sgp22::PprIds {
    let mut out = crate::codec::sgp22::PprIds::repeat(false, all.len());
    for (i, name) in all.iter().enumerate() {
        out.set(i, names.iter().any(|n| n == name));
    }
    // Trailing zero bits are not sent (DER named bit list, X.690 §11.2.2).
    while out.last().is_some_and(|b| !*b) {
        out.pop();
    }
    out
}

impl ProfileMetadata {
    /// `profilePolicyRules` of the StoreMetadataRequest, `None` when the type sets none.
    pub fn ppr_ids(&self) -> Option<crate::codec::sgp22::PprIds> {
        (!self.profile_policy_rules.is_empty()).then(|| bits(&self.profile_policy_rules, &PPR_NAMES))
    }

    /// `notificationConfigurationInfo` of the StoreMetadataRequest, `None` when the type sets none.
    pub fn notification_configuration_info(&self) -> Option<Vec<NotificationConfigurationInformation>> {
        (!self.notification_configuration_info.is_empty()).then(|| {
            self.notification_configuration_info
                .iter()
                .map(|n| NotificationConfigurationInformation {
                    profile_management_operation: bits(&n.profile_management_operation, &NOTIFICATION_EVENT_NAMES),
                    notification_address: n.notification_address.as_str().into(),
                })
                .collect()
        })
    }
}

/// A template: a SAIP package that is never ordered itself; batches personalize it.
#[derive(Clone, PartialEq, Eq)]
pub struct TemplateRecord {
    pub operator_id: String,
    pub name: String,
    pub profile_type: String,
    pub package_der: Vec<u8>,
    pub created_at: i64,
}

impl fmt::Debug for TemplateRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TemplateRecord({}/{}, type {}, {} bytes)",
            self.operator_id,
            self.name,
            self.profile_type,
            self.package_der.len()
        )
    }
}

/// One validated personalization row: what is written into the template for one profile (TCA SAIP §8.3, §8.5,
/// §8.6). Serialized (JSON, sealed) as the stored personalization data. `Debug` shows the ICCID only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRow {
    pub iccid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ki: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puk1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puk2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adm1: Option<String>,
}

impl fmt::Debug for BatchRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchRow({}, secrets redacted)", self.iccid)
    }
}

/// The columns a batch may have (CSV header names, JSON field names), lower case.
pub const BATCH_COLUMNS: [&str; 9] = ["iccid", "imsi", "ki", "opc", "pin1", "pin2", "puk1", "puk2", "adm1"];

impl BatchRow {
    /// The checked values. Errors name the field, never its value (keys and PINs are secrets).
    pub fn to_personalization(&self) -> Result<Personalization, String> {
        let mut p = Personalization {
            iccid: Some(Iccid::new(self.iccid.trim()).map_err(|e| format!("iccid: {e}"))?),
            ..Personalization::default()
        };
        if let Some(imsi) = &self.imsi {
            p.imsi = Some(Imsi::new(imsi.trim()).map_err(|e| format!("imsi: {e}"))?);
        }
        let key = |name: &str, v: &Option<String>| -> Result<Option<Secret<[u8; 16]>>, String> {
            v.as_deref()
                .map(|h| {
                    hex::decode(h.trim())
                        .ok()
                        .and_then(|b| <[u8; 16]>::try_from(b).ok())
                        .map(Secret::new)
                        .ok_or_else(|| format!("{name}: must be 16 bytes in hex"))
                })
                .transpose()
        };
        p.ki = key("ki", &self.ki)?;
        p.opc = key("opc", &self.opc)?;
        if p.ki.is_some() != p.opc.is_some() {
            return Err("ki and opc go together".into());
        }
        for (name, reference, value) in [
            ("pin1", pins::PIN_APPL1, &self.pin1),
            ("pin2", pins::SECOND_PIN_APPL1, &self.pin2),
            ("adm1", pins::ADM1, &self.adm1),
        ] {
            if let Some(v) = value {
                let pin = PinValue::new(v.trim()).map_err(|_| format!("{name}: 4 to 8 decimal digits"))?;
                p.pins.insert(reference, pin);
            }
        }
        for (name, reference, value) in
            [("puk1", pins::PUK_APPL1, &self.puk1), ("puk2", pins::SECOND_PUK_APPL1, &self.puk2)]
        {
            if let Some(v) = value {
                p.puks.insert(reference, PukValue::new(v.trim()).map_err(|_| format!("{name}: 8 decimal digits"))?);
            }
        }
        Ok(p)
    }

    /// Empty cells are absent values; the ICCID trimmed.
    fn normalized(mut self) -> BatchRow {
        for v in [
            &mut self.imsi,
            &mut self.ki,
            &mut self.opc,
            &mut self.pin1,
            &mut self.pin2,
            &mut self.puk1,
            &mut self.puk2,
            &mut self.adm1,
        ] {
            *v = v.take().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        }
        self.iccid = self.iccid.trim().to_owned();
        self
    }
}

/// Batch rows as read, numbered (CSV: line number; JSON: position from 1): the row, or why it is unreadable.
pub type NumberedRows = Vec<(usize, Result<BatchRow, String>)>;

/// A batch read from CSV: a header line naming [`BATCH_COLUMNS`] (any order, `iccid` required), then one row
/// per line. Cells are plain (no quoting needed: every value is hex or digits); blank lines and lines starting
/// with `#` are skipped. Returns per line: its 1-based line number and the row, or why the line is unreadable.
pub fn parse_batch_csv(text: &str) -> Result<NumberedRows, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines.next().ok_or("empty CSV: a header line is required")?;
    let columns: Vec<String> = header.split(',').map(|c| c.trim().trim_matches('"').to_ascii_lowercase()).collect();
    if let Some(bad) = columns.iter().find(|c| !BATCH_COLUMNS.contains(&c.as_str())) {
        return Err(format!("unknown CSV column `{bad}` (known: {})", BATCH_COLUMNS.join(", ")));
    }
    if !columns.iter().any(|c| c == "iccid") {
        return Err("the CSV header has no iccid column".into());
    }
    let mut rows = Vec::new();
    for (index, line) in lines {
        let cells: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"')).collect();
        if cells.len() != columns.len() {
            rows.push((index + 1, Err(format!("{} cells, the header has {}", cells.len(), columns.len()))));
            continue;
        }
        let mut row = BatchRow::default();
        for (column, cell) in columns.iter().zip(cells) {
            let value = Some(cell.to_owned());
            match column.as_str() {
                "iccid" => row.iccid = cell.to_owned(),
                "imsi" => row.imsi = value,
                "ki" => row.ki = value,
                "opc" => row.opc = value,
                "pin1" => row.pin1 = value,
                "pin2" => row.pin2 = value,
                "puk1" => row.puk1 = value,
                "puk2" => row.puk2 = value,
                _ => row.adm1 = value,
            }
        }
        rows.push((index + 1, Ok(row.normalized())));
    }
    Ok(rows)
}

/// JSON batch rows (objects with [`BATCH_COLUMNS`] fields), numbered from 1.
pub fn batch_rows_from_json(rows: Vec<BatchRow>) -> NumberedRows {
    rows.into_iter().enumerate().map(|(i, r)| (i + 1, Ok(r.normalized()))).collect()
}

/// A row checked against its template: the personalized package parses and carries the row's ICCID.
pub fn check_row_against_template(template: &ProfilePackage, row: &BatchRow) -> Result<(), String> {
    generate_from(template, row).map(|_| ())
}

/// §3.1.3 step 4 for a template-backed profile: the template personalized with the row, re-parsed as a check.
pub fn generate_package(template_der: &[u8], row: &BatchRow) -> Result<Vec<u8>, String> {
    let template = ProfilePackage::parse(template_der).map_err(|e| format!("template: {e}"))?;
    generate_from(&template, row)
}

fn generate_from(template: &ProfilePackage, row: &BatchRow) -> Result<Vec<u8>, String> {
    let p = row.to_personalization()?;
    let personalized = template.personalize(&p).map_err(|e| format!("personalization failed: {e}"))?;
    let der = personalized.to_der();
    let check = ProfilePackage::parse(&der).map_err(|e| format!("personalized package is invalid: {e}"))?;
    if p.iccid.as_ref().is_some_and(|want| want != check.iccid() || check.ef_iccid() != Some(want)) {
        return Err("personalized package does not carry the row's ICCID".into());
    }
    Ok(der)
}

/// Validates batch rows: each parses, personalizes the template, and has an ICCID unique in the batch.
/// Returns, per row, its number and ICCID (as given) and the row or the one-line reason it is refused.
///
/// Every row's values are parsed and checked ([`BatchRow::to_personalization`]); the template is personalized
/// and the result re-parsed once per [`RowShape`] — which values a row carries and their lengths — not once per
/// row: every value is written in a fixed-size encoding (ICCID as 10 BCD bytes, EF IMSI 9 bytes, Ki/OPc 16
/// bytes, PINs/PUKs 8 bytes), so whether personalization succeeds and where each value lands depends on the
/// shape alone. (This was most of an import's CPU; getBoundProfilePackage personalizes each package in full.)
pub fn validate_batch(template: &ProfilePackage, rows: NumberedRows) -> Vec<(usize, String, Result<BatchRow, String>)> {
    let mut seen = BTreeSet::new();
    let mut shapes: std::collections::HashMap<RowShape, Result<(), String>> = std::collections::HashMap::new();
    rows.into_iter()
        .map(|(n, row)| match row {
            Err(e) => (n, String::new(), Err(e)),
            Ok(row) => {
                let iccid = row.iccid.clone();
                let checked = row
                    .to_personalization()
                    .and_then(|p| {
                        shapes
                            .entry(RowShape::of(&row, &p))
                            .or_insert_with(|| check_row_against_template(template, &row))
                            .clone()
                    })
                    .and_then(|()| {
                        if seen.insert(iccid.clone()) {
                            Ok(row)
                        } else {
                            Err(format!("duplicate ICCID {iccid} in this batch"))
                        }
                    });
                (n, iccid, checked)
            }
        })
        .collect()
}

/// What personalizing a template with a row depends on (see [`validate_batch`]): which values the row carries,
/// and the lengths of those whose length may vary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RowShape {
    iccid_digits: usize,
    imsi_digits: Option<usize>,
    keys: bool,
    pins: Vec<u8>,
    puks: Vec<u8>,
}

impl RowShape {
    fn of(row: &BatchRow, p: &Personalization) -> RowShape {
        RowShape {
            iccid_digits: row.iccid.trim().len(),
            imsi_digits: row.imsi.as_deref().map(|i| i.trim().len()),
            keys: p.ki.is_some(),
            pins: p.pins.keys().copied().collect(),
            puks: p.puks.keys().copied().collect(),
        }
    }
}

/// One prepared package of a bulk upload, parsed: its ICCID comes from the ProfileHeader.
pub fn prepared_package(der: Vec<u8>) -> Result<(String, Vec<u8>), String> {
    let package = ProfilePackage::parse(&der).map_err(|e| format!("not a valid SAIP profile package: {e}"))?;
    Ok((package.iccid().digits(), der))
}

/// Stock of one profile type: how many of the operator's profiles are in each state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    pub profile_type: String,
    /// Every state of [`ProfileState::ALL`], in that order.
    pub counts: Vec<(ProfileState, i64)>,
    pub low_stock_threshold: Option<i64>,
}

impl StockLevel {
    pub fn available(&self) -> i64 {
        self.count(ProfileState::Available)
    }

    pub fn count(&self, state: ProfileState) -> i64 {
        self.counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }

    /// Below the type's threshold (never when no threshold is set).
    pub fn is_low(&self) -> bool {
        self.low_stock_threshold.is_some_and(|t| self.available() < t)
    }
}

/// One item of a bulk write (upload or batch): the ICCID, or the reason it was not written.
pub type ItemOutcome = Result<(), String>;

/// Inventory storage (profile types, bulk packages, templates, batches, stock). Every call is scoped by operator.
pub trait InventoryRepository {
    /// Creates or replaces a profile type.
    fn upsert_profile_type(&self, t: &ProfileType) -> Result<(), RepoError>;
    fn find_profile_type(&self, operator_id: &str, name: &str) -> Result<Option<ProfileType>, RepoError>;
    fn list_profile_types(&self, operator_id: &str) -> Result<Vec<ProfileType>, RepoError>;

    /// Stores prepared packages (sealed) as Available profiles of `profile_type`. Each item on its own, or —
    /// `all_or_nothing` — all in one transaction (then any failure leaves nothing written). Per item: written,
    /// or why not. Package-level metadata (`service_provider_name` etc. of the records) may be empty: the
    /// type's applies.
    fn import_packages(
        &self,
        packages: &[ProfilePackageRecord],
        profile_type: &str,
        all_or_nothing: bool,
    ) -> Result<Vec<ItemOutcome>, RepoError>;

    /// Stores a template (sealed). [`RepoError::Conflict`] when the operator has one of that name.
    fn insert_template(&self, template: &TemplateRecord) -> Result<(), RepoError>;
    fn find_template(&self, operator_id: &str, name: &str) -> Result<Option<TemplateRecord>, RepoError>;
    /// Templates without their packages (`package_der` empty).
    fn list_templates(&self, operator_id: &str) -> Result<Vec<TemplateRecord>, RepoError>;

    /// Adds validated rows of a batch for `template` as Available profiles of the template's type, their
    /// personalization sealed. Same item semantics as [`InventoryRepository::import_packages`]. Returns the
    /// batch id and the per-row outcomes.
    fn insert_batch(
        &self,
        operator_id: &str,
        template: &TemplateRecord,
        rows: &[BatchRow],
        all_or_nothing: bool,
    ) -> Result<(i64, Vec<ItemOutcome>), RepoError>;

    /// Stock per profile type of the operator (every type with a definition or with profiles).
    fn stock(&self, operator_id: &str) -> Result<Vec<StockLevel>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_with_errors_per_line() {
        let csv = "ICCID,IMSI,Ki,OPc\n# comment\n89882390000000000011,001010000000001,00112233445566778899aabbccddeeff,ffeeddccbbaa99887766554433221100\n1,2\n";
        let rows = parse_batch_csv(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 3);
        let row = rows[0].1.as_ref().unwrap();
        assert_eq!(row.imsi.as_deref(), Some("001010000000001"));
        assert!(row.to_personalization().is_ok());
        assert!(rows[1].1.is_err());
        assert!(parse_batch_csv("iccid,colour\n").unwrap_err().contains("colour"));
    }

    /// Checking the template once per row shape refuses and accepts exactly what checking every row does.
    #[test]
    fn shape_checks_agree_with_checking_every_row() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/ts48/TS48v5_SAIP2.3_NoBERTLV.der");
        let Ok(der) = std::fs::read(&path) else {
            eprintln!("SKIP shape_checks_agree_with_checking_every_row: {} not found", path.display());
            return;
        };
        let full = ProfilePackage::parse(&der).unwrap();
        // Without its PUK codes, so that some shapes are refused.
        let without_puks: Vec<u8> = full
            .elements()
            .iter()
            .filter(|e| e.kind() != crate::profile::ProfileElementKind::PukCodes)
            .flat_map(|e| e.raw().to_vec())
            .collect();
        let template = ProfilePackage::parse(&without_puks).unwrap();
        let iccid = |n: u32| {
            let body = format!("8988239000012{n:06}");
            format!("{body}{}", Iccid::luhn_check_digit(&body).unwrap())
        };
        let keys = |n: u32| (Some(format!("{n:032x}")), Some(format!("{:032x}", n + 7)));
        let mut rows = Vec::new();
        for n in 0..40u32 {
            let (ki, opc) = keys(n);
            let mut row = BatchRow { iccid: iccid(n), ..BatchRow::default() };
            match n % 8 {
                0 => {}
                1 => row.imsi = Some(format!("00101{n:010}")),
                2 => (row.ki, row.opc) = (ki, opc),
                3 => row.pin1 = Some("1234".into()),
                4 => row.pin2 = Some("87654321".into()),
                5 => row.puk1 = Some("12345678".into()),
                6 => row.adm1 = Some("99999999".into()),
                _ => (row.imsi, row.puk2) = (Some("0010112345".into()), Some("11112222".into())),
            }
            rows.push((n as usize, Ok(row)));
        }
        rows.push((40, Ok(BatchRow { iccid: iccid(3), ..BatchRow::default() })));
        let each: Vec<bool> =
            rows.iter().map(|(_, r)| check_row_against_template(&template, r.as_ref().unwrap()).is_ok()).collect();
        assert!(each.iter().any(|ok| !ok) && each.iter().filter(|ok| **ok).count() > 20, "{each:?}");
        let checked = validate_batch(&template, rows);
        for (n, ((_, _, by_shape), alone)) in checked.iter().zip(&each).enumerate() {
            if n == 40 {
                assert!(by_shape.as_ref().unwrap_err().contains("duplicate ICCID"));
            } else {
                assert_eq!(by_shape.is_ok(), *alone, "row {n}: {:?}", by_shape.as_ref().err());
            }
        }
    }

    #[test]
    fn row_errors_name_the_field_not_the_value() {
        let row = BatchRow {
            iccid: "89882390000000000011".into(),
            ki: Some("0BADC0FFEE".into()),
            opc: Some("00".repeat(16)),
            ..BatchRow::default()
        };
        let err = row.to_personalization().unwrap_err();
        assert!(err.contains("ki") && !err.contains("0BADC0FFEE"), "{err}");
        let bad_luhn = BatchRow { iccid: "89882390000000000012".into(), ..BatchRow::default() };
        assert!(bad_luhn.to_personalization().unwrap_err().contains("Luhn"));
        assert!(!format!("{row:?}").contains("0BADC0FFEE"));
    }

    /// Secrets never reach Debug output: a known Ki through every type that carries one.
    #[test]
    fn debug_output_never_shows_a_ki() {
        const KI: &str = "C0FFEE00112233445566778899AABBCC";
        let ki = hex::decode(KI).unwrap();
        let row = BatchRow {
            iccid: "89882390000000000011".into(),
            ki: Some(KI.into()),
            opc: Some(KI.into()),
            pin1: Some("1234".into()),
            ..BatchRow::default()
        };
        let record = ProfilePackageRecord {
            iccid: row.iccid.clone(),
            operator_id: "op".into(),
            package_der: ki.clone(),
            service_provider_name: String::new(),
            profile_name: String::new(),
            profile_class: 2,
        };
        let template = TemplateRecord {
            operator_id: "op".into(),
            name: "t".into(),
            profile_type: "x".into(),
            package_der: ki.clone(),
            created_at: 0,
        };
        let keyring = crate::secrets::Keyring::new(vec![crate::secrets::MasterKey::new(
            [ki.clone(), ki.clone()].concat().try_into().unwrap(),
        )])
        .unwrap();
        let shown = format!("{row:?} {:?} {record:?} {template:?} {keyring:?}", row.to_personalization().unwrap());
        let upper = shown.to_uppercase();
        assert!(!upper.contains(KI) && !upper.contains(&KI[..8]), "{shown}");
        assert!(!shown.contains("192, 255, 238"), "{shown}");
        assert!(!shown.contains("1234"), "{shown}");
    }

    #[test]
    fn ppr_bits_are_named_bits() {
        let m = ProfileMetadata { profile_policy_rules: vec!["ppr2".into()], ..ProfileMetadata::default() };
        let bits = m.ppr_ids().unwrap();
        assert_eq!(bits.len(), 3);
        assert!(bits[2] && !bits[0]);
        assert!(ProfileMetadata::default().ppr_ids().is_none());
    }
}
