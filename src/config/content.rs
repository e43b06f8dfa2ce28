//! The `[content]` table (issue 10 item 8): size caps on what operators upload that an operator may need to raise.
//! Structural caps nobody needs to tune are constants next to the parsers (README "Fixed limits":
//! `profile::package::MAX_PROFILE_ELEMENTS`, `profile::package::MAX_NESTING_DEPTH`, `profile::files::MAX_FILE_SIZE`,
//! `codec::der::MAX_NESTING_DEPTH`).

use serde::Deserialize;

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ContentConfig {
    /// Largest SAIP profile package (TCA SAIP v2.3 §8.1, DER) in an upload: prepared profile or template.
    pub max_package_bytes: u64,
    /// Most items in one upload request: prepared profiles in `POST /api/v1/profiles`, rows of a
    /// personalization batch.
    pub max_upload_items: u64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig { max_package_bytes: 1024 * 1024, max_upload_items: 10_000 }
    }
}

impl ContentConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1024..=64 * 1024 * 1024).contains(&self.max_package_bytes) {
            return Err(ConfigError::invalid("content.max_package_bytes", "must be between 1024 and 67108864"));
        }
        if !(1..=1_000_000).contains(&self.max_upload_items) {
            return Err(ConfigError::invalid("content.max_upload_items", "must be between 1 and 1000000"));
        }
        Ok(())
    }

    /// `max_package_bytes` as a length.
    pub fn max_package_len(&self) -> usize {
        usize::try_from(self.max_package_bytes).unwrap_or(usize::MAX)
    }

    /// `max_upload_items` as a count.
    pub fn max_items(&self) -> usize {
        usize::try_from(self.max_upload_items).unwrap_or(usize::MAX)
    }
}
