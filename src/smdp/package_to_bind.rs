//! The package a download binds (SGP.22 v2.5 §3.1.3 step 4) and the StoreMetadataRequest names it carries
//! (§5.5.3).
//!
//! The store reads what is held for a profile and opens what is sealed at rest ([`StoredPackage`]); what the
//! package becomes is decided here: a prepared package as imported, or — for a template-backed profile — the
//! template personalized now with the profile's batch row; StoreMetadata names the package leaves open taken
//! from its profile type, else `Profile <ICCID>` and operational(2).

use super::inventory::{generate_package, BatchRow, ProfileMetadata, ProfilePackageRecord, ProfileType};

/// The StoreMetadataRequest names of a profile (§5.5.3), resolved as the package binding resolves them: the
/// package's own values, else its profile type's, else `Profile <ICCID>` / operational(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileNames {
    pub iccid: String,
    pub service_provider_name: String,
    pub profile_name: String,
    /// `ProfileClass`: test(0), provisioning(1), operational(2); negative: left open.
    pub profile_class: i64,
}

impl From<&ProfilePackageRecord> for ProfileNames {
    fn from(p: &ProfilePackageRecord) -> ProfileNames {
        ProfileNames {
            iccid: p.iccid.clone(),
            service_provider_name: p.service_provider_name.clone(),
            profile_name: p.profile_name.clone(),
            profile_class: p.profile_class,
        }
    }
}

impl ProfileNames {
    /// Every name left open (a template-backed profile: its names come from its type).
    pub fn open(iccid: &str) -> ProfileNames {
        ProfileNames {
            iccid: iccid.to_owned(),
            service_provider_name: String::new(),
            profile_name: String::new(),
            profile_class: -1,
        }
    }

    /// Whether a name is left open (the profile type then fills it).
    pub fn is_open(&self) -> bool {
        self.service_provider_name.is_empty() || self.profile_name.is_empty() || self.profile_class < 0
    }

    /// The names with those left open filled from `profile_type`, else `Profile <ICCID>` and operational(2) (the
    /// ASN.1 default class).
    pub fn resolve(mut self, profile_type: Option<&ProfileType>) -> ProfileNames {
        if self.is_open() {
            let class = profile_type.map_or(2, |t| t.metadata.profile_class);
            let t = profile_type.map(|t| t.metadata.clone()).unwrap_or_default();
            if self.service_provider_name.is_empty() {
                self.service_provider_name = t.service_provider_name;
            }
            if self.profile_name.is_empty() {
                self.profile_name = t.profile_name;
            }
            if self.profile_class < 0 {
                self.profile_class = class;
            }
        }
        if self.profile_name.is_empty() {
            self.profile_name = format!("Profile {}", self.iccid);
        }
        self
    }
}

/// How a profile's package is held, as the store read and unsealed it.
#[derive(Clone)]
pub enum PackageSource {
    /// A prepared package (its StoreMetadata names as imported; empty or negative: open).
    Prepared(ProfilePackageRecord),
    /// A template-backed profile: the template's package and the profile's personalization row (§3.1.3 step 4:
    /// the profile is generated when it is bound).
    Template { template: String, template_der: Vec<u8>, row: BatchRow },
}

impl std::fmt::Debug for PackageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackageSource::Prepared(p) => f.debug_tuple("Prepared").field(&p.iccid).finish(),
            PackageSource::Template { template, row, .. } => {
                f.debug_struct("Template").field("template", template).field("iccid", &row.iccid).finish()
            }
        }
    }
}

/// A profile's package as held, with the profile's type definition (if any).
#[derive(Debug, Clone)]
pub struct StoredPackage {
    pub operator_id: String,
    pub iccid: String,
    pub source: PackageSource,
    pub profile_type: Option<ProfileType>,
}

impl StoredPackage {
    /// The profile type's metadata (profile policy rules, notification configuration for StoreMetadataRequest).
    pub fn type_metadata(&self) -> Option<&ProfileMetadata> {
        self.profile_type.as_ref().map(|t| &t.metadata)
    }

    /// The package to bind: prepared, or generated from the template (§3.1.3 step 4), with its names resolved
    /// (§5.5.3). An error names the profile and what failed (a template that no longer personalizes).
    pub fn to_package(&self) -> Result<ProfilePackageRecord, String> {
        let mut record = match &self.source {
            PackageSource::Prepared(p) => p.clone(),
            PackageSource::Template { template, template_der, row } => ProfilePackageRecord {
                iccid: self.iccid.clone(),
                operator_id: self.operator_id.clone(),
                package_der: generate_package(template_der, row)
                    .map_err(|e| format!("generating profile {} from template {template}: {e}", self.iccid))?,
                service_provider_name: String::new(),
                profile_name: String::new(),
                profile_class: -1,
            },
        };
        let names = ProfileNames::from(&record).resolve(self.profile_type.as_ref());
        record.service_provider_name = names.service_provider_name;
        record.profile_name = names.profile_name;
        record.profile_class = names.profile_class;
        Ok(record)
    }
}
