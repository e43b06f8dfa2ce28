//! Background jobs: each a loop that wakes on its interval, does its database work on the blocking pool and
//! survives its own failures (logged, retried on the next round). `server` starts them; several nodes may run
//! the same job at once (row claims with `FOR UPDATE SKIP LOCKED` on PostgreSQL, version-guarded changes).
//!
//! - [`audit_sealer`]: chains the audit rows written since its last round, shortly after each write.
//! - [`smdp_sessions`]: download-session expiry and the HandleNotification inbox (SGP.22 v2.5 §5.6.4).
//! - [`progress_delivery`]: the ES2+.HandleDownloadProgressInfo outbox to each operator (SGP.22 v2.5 §5.3.5).
//! - [`eim_orders`]: campaign releases, next packages, finished orders; relayed notifications (SGP.32 v1.2).
//! - [`inventory`]: secrets key file re-read, stock levels and low-stock warnings.
//! - [`retention`]: finished rows past their `[retention]` age.

pub mod audit_sealer;
pub mod eim_orders;
pub mod inventory;
pub mod progress_delivery;
pub mod retention;
pub mod smdp_sessions;
