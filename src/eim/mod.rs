//! The eIM domain (GSMA SGP.32 v1.2): the eUICC registry and association, the eUICC package queue with
//! signed packages, result verification, and the eIM order life cycle. No HTTP, no SQL: storage goes
//! through [`EimRepository`], private keys through the [`KeyStore`](crate::pki::KeyStore).
//!
//! One file per job:
//! - [`registry`]: eUICC records (EID, associated eIM, `counterValue`, `associationToken`, eIM key, known
//!   profiles) and the EimConfigurationData / AddInitialEim rspd hands to a device factory (§2.11.1.2, §5.9.4);
//! - [`package`]: EuiccPackageRequest building and `eimSignature` (§2.11.1.1);
//! - [`result`]: EuiccPackageResult verification over the received bytes (`euiccSignEPR` / `euiccSignEPE`,
//!   §2.11.2.1) and the order failure reasons of every error result;
//! - [`inventory`]: the per-device profile inventory from verified results (enable, disable, delete, fallback,
//!   listProfileInfo);
//! - [`failure`]: why a package order failed or expired;
//! - [`order`]: the eIM order state machine Queued → Dispatched → Succeeded | Failed | Expired;
//! - [`service`]: the ESipa functions GetEimPackage / ProvideEimPackageResult (§5.14.5, §5.14.6) as domain steps,
//!   for every package kind; queueing of signed and unsigned packages;
//! - [`ipa_result`]: ProfileDownloadTriggerRequest / IpaEuiccDataRequest and their results (§2.11.1.2, §2.11.1.4,
//!   §2.11.2.3, §2.11.2.4);
//! - [`indirect`]: the indirect download routing and error table (§3.2.3, §5.14.1–§5.14.3, §5.14.7, §5.14.8);
//!   [`relay`]: the SM-DP+ a step is relayed to (rspd's own in process, or an external one over ES9+);
//! - [`esipa_service`]: the ESipa application service both bindings, the eIM API and the eIM jobs hold;
//! - [`intent`], [`orders`], [`campaign`]: operator orders (composite intents expanded into packages run in
//!   sequence) and campaigns over many eUICCs with a release rate;
//! - [`repository`]: the storage trait; [`ports`]: every eIM port at once; [`error`]: [`EimError`].

pub mod campaign;
pub mod error;
pub mod esipa_service;
pub mod events;
pub mod failure;
pub mod indirect;
pub mod intent;
pub mod inventory;
pub mod ipa_result;
pub mod learn;
pub mod notification_outbox;
pub mod order;
pub mod orders;
pub mod package;
pub mod ports;
pub mod registry;
pub mod relay;
pub mod repository;
pub mod result;
pub mod service;

pub use error::EimError;
pub use failure::FailureReason;
pub use order::{OrderState, PackageKind, PackageOrder};
pub use package::QueueSlot;
pub use registry::{EimContext, EuiccRecord, KnownProfile, NewEuicc};
pub use repository::{DeviceContact, EimRepository, PollFacts, ResultFacts};
pub use result::{PackageOutcome, VerifiedResult};
