//! The SM-DP+ application service (SGP.22 v2.5): what every caller of the SM-DP+ holds — the ES9+ binding
//! (§5.6), the ES2+ binding (§5.3), the eIM's in-process relay (SGP.32 §3.2.3) and the background jobs. It carries
//! the SM-DP+ context (addresses, DPauth/DPpb credentials, trusted CIs, key store) and ONE handle on the storage
//! ports, so no caller needs to know which store implements them (SQLite, PostgreSQL, or a test double).

use std::sync::Arc;

use super::es2::Es2Repository;
use super::es9::SmdpContext;
use super::inventory::InventoryRepository;
use super::{DownloadRepository, ProfileRepository, ProgressOutbox};

/// Every storage port of the SM-DP+ at once.
pub trait SmdpRepository:
    DownloadRepository + ProfileRepository + Es2Repository + InventoryRepository + ProgressOutbox + Send + Sync
{
    /// The same store as the download port (ES9+ steps take `&dyn DownloadRepository`).
    fn downloads(&self) -> &dyn DownloadRepository;
    /// The same store as the inventory port (the inventory operations take `&dyn InventoryRepository`).
    fn inventory(&self) -> &dyn InventoryRepository;
}

impl<T> SmdpRepository for T
where
    T: DownloadRepository + ProfileRepository + Es2Repository + InventoryRepository + ProgressOutbox + Send + Sync,
{
    fn downloads(&self) -> &dyn DownloadRepository {
        self
    }
    fn inventory(&self) -> &dyn InventoryRepository {
        self
    }
}

/// The SM-DP+ as its callers hold it (cheap to clone).
#[derive(Clone)]
pub struct SmdpService {
    pub ctx: SmdpContext,
    pub repo: Arc<dyn SmdpRepository>,
    /// Wakes the HandleNotification worker after a notification is stored (§5.6.4: the 204 goes out first), so it
    /// does not wait for its interval.
    pub wake_notification_worker: Arc<dyn Fn() + Send + Sync>,
}

impl SmdpService {
    pub fn new(ctx: SmdpContext, repo: Arc<dyn SmdpRepository>) -> Self {
        SmdpService { ctx, repo, wake_notification_worker: Arc::new(|| {}) }
    }

    /// The same service, waking `wake` after each stored notification.
    pub fn waking(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake_notification_worker = Arc::new(wake);
        self
    }
}
