//! SM-DP+ domain (SGP.22 v2.5): profile states, orders, download sessions and the five ES9+ functions,
//! with the repository ports the store implements. No HTTP, no SQL here.
//!
//! - [`profile_state`], [`profile_repository`]: the profile inventory (§5.3).
//! - [`ids`]: `MatchingId`, `TransactionId`, `Eid`, `ActivationCode` (§4.1).
//! - [`es2`]: the ES2+ functions as idempotent calls, their storage port and [`es2::OrderError`] with its status
//!   codes (§5.3); [`device_lock`]: the IMEI lock.
//! - [`order`]: download orders and the confirmation code (§3.1.1, §3.1.3.1).
//! - [`session`]: the download session state machine (§3.1.2–§3.1.4).
//! - [`download_repository`]: the storage port for packages, orders, sessions, notifications.
//! - [`progress`]: ES2+.HandleDownloadProgressInfo events at the notification points and their outbox port (§5.3.5).
//! - [`service`]: [`service::SmdpService`], the context and the storage ports every caller holds.
//! - [`es9`]: ES9+ InitiateAuthentication, AuthenticateClient, GetBoundProfilePackage, HandleNotification,
//!   CancelSession (§5.6) and [`es9::Es9Error`] with its status codes.

pub mod device_lock;
pub mod download_repository;
pub mod es2;
pub mod es9;
pub mod ids;
pub mod inventory;
pub mod inventory_service;
pub mod order;
pub mod package_to_bind;
pub mod profile_repository;
pub mod profile_state;
pub mod progress;
pub mod service;
pub mod session;

pub use download_repository::{
    AuthenticationFacts, AuthenticationOutcome, BindError, DownloadRepository, ExpiredSession, InstallOutcome,
    OrderFacts, OrderKey, OrderOutcome, ProfileNames, StoredNotification,
};
pub use ids::{ActivationCode, Eid, MatchingId, TransactionId};
pub use inventory::ProfilePackageRecord;
pub use order::{NewOrder, OrderRecord};
pub use profile_repository::{NewProfile, ProfileRecord, ProfileRepository, RepoError};
pub use profile_state::{ProfileState, UnknownProfileState};
pub use progress::{NotificationPoint, PointStatus, ProgressEvent, ProgressNotifier, ProgressOutbox};
pub use session::{SessionRecord, SessionState};
