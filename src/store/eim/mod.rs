//! The eIM's tables (SGP.32 v1.2): the eUICC registry and package queue, eIM orders and campaigns, eUICC
//! ownership per operator, the event stream and the indirect-download relay sessions.
//!
//! - `queue`: [`EimRepository`](crate::eim::EimRepository) (registry, package queue, polls).
//! - `orders`, `campaigns`, `ownership`, `events`: [`EimOrderRepository`](crate::eim::campaign::EimOrderRepository),
//!   `CampaignRepository`, [`OperatorEuiccs`](crate::eim::campaign::OperatorEuiccs),
//!   [`EventSource`](crate::eim::events::EventSource).
//! - `relay`: the external SM-DP+ sessions of the indirect download relay.

pub(crate) mod campaigns;
pub(crate) mod events;
pub(crate) mod orders;
pub(crate) mod ownership;
pub(crate) mod queue;
pub(crate) mod relay;
