//! The SM-DP+'s tables (SGP.22 v2.5): profiles, packages and templates, ES2+ calls, download sessions and orders,
//! the HandleNotification inbox and the HandleDownloadProgressInfo outbox.
//!
//! - `profiles`: [`ProfileRepository`](crate::smdp::ProfileRepository).
//! - `downloads`, `authentication`: [`DownloadRepository`](crate::smdp::DownloadRepository) (ES9+ sessions and
//!   orders; AuthenticateClient's one read phase and one write transaction).
//! - `inventory`, `package_lookup`: [`InventoryRepository`](crate::smdp::inventory::InventoryRepository) and the
//!   package a download binds; `key_rotation`: `rspd keys rotate`.
//! - `es2`: [`Es2Repository`](crate::smdp::es2::Es2Repository) (ES2+ steps recorded with their answers).
//! - `progress`: [`ProgressOutbox`](crate::smdp::ProgressOutbox).

pub(crate) mod authentication;
pub(crate) mod downloads;
pub(crate) mod es2;
pub(crate) mod inventory;
pub(crate) mod key_rotation;
pub(crate) mod package_lookup;
pub(crate) mod profiles;
pub(crate) mod progress;
