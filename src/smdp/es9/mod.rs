//! ES9+ (LPA → SM-DP+), SGP.22 v2.5 §5.6, one file per function, named after the spec:
//!
//! - [`initiate_authentication`] (§5.6.1, flow §3.1.2 steps 6–10),
//! - [`authenticate_client`] (§5.6.3, flow §3.1.2 steps 14–21 and §3.1.3.1),
//! - [`get_bound_profile_package`] (§5.6.2, flow §3.1.3 steps 1–7),
//! - [`handle_notification`] (§5.6.4, §3.5),
//! - [`cancel_session`] (§5.6.5, §3.1.4).
//!
//! Each takes the decoded request fields (bytes as received, for signature checks), the repository and the
//! [`SmdpContext`]; each returns the response fields or an [`Es9Error`] that carries its status code.
//! Nothing here knows HTTP, JSON or SQL.

pub mod authenticate_client;
pub mod cancel_session;
pub mod context;
pub mod error;
pub mod get_bound_profile_package;
pub mod handle_notification;
pub mod initiate_authentication;

pub use authenticate_client::{authenticate_client, AuthenticateClientOk};
pub use cancel_session::cancel_session;
pub use context::{DpCredentials, SmdpContext};
pub use error::Es9Error;
pub use get_bound_profile_package::get_bound_profile_package;
pub use handle_notification::{check_pending_notification, process_notification, NotificationOutcome};
pub use initiate_authentication::{initiate_authentication, InitiateAuthenticationOk};
