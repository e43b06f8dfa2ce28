//! Every storage port of the eIM at once (SGP.32 v1.2): what the eIM's callers hold as `Arc<dyn EimPorts>` — the
//! ESipa bindings, the eIM API, the jobs — so none of them needs to know which store implements them.

use super::campaign::{CampaignRepository, EimOrderRepository};
use super::events::EventSource;
use super::indirect::RelaySessions;
use super::notification_outbox::NotificationOutbox;
use super::repository::EimRepository;

pub trait EimPorts:
    EimRepository + CampaignRepository + EventSource + RelaySessions + NotificationOutbox + Send + Sync
{
    /// The registry and package queue port.
    fn registry(&self) -> &dyn EimRepository;
    /// The eIM order port.
    fn orders(&self) -> &dyn EimOrderRepository;
    /// The campaign port.
    fn campaigns(&self) -> &dyn CampaignRepository;
}

impl<T> EimPorts for T
where
    T: EimRepository + CampaignRepository + EventSource + RelaySessions + NotificationOutbox + Send + Sync,
{
    fn registry(&self) -> &dyn EimRepository {
        self
    }
    fn orders(&self) -> &dyn EimOrderRepository {
        self
    }
    fn campaigns(&self) -> &dyn CampaignRepository {
        self
    }
}
