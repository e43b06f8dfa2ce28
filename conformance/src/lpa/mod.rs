//! The LPA (SGP.22 v2.5 §3.1 LPAd): activation codes (§4.1), the ES9+ client (§5.6, JSON binding §6.5.2) and
//! the download procedure that drives a [`crate::euicc::SoftEuicc`] through it (§3.1.2–§3.1.3).

pub mod activation_code;
pub mod download;
pub mod es9_client;

pub use activation_code::{ActivationCode, ActivationCodeError};
pub use download::{download_profile, DeviceIdentity, DownloadError, DownloadReport, DownloadRequest, Step};
pub use es9_client::{Es9Client, Es9Error, Es9Function, Es9Options, Es9Transport, StatusCodeData, TrustAnchors};
