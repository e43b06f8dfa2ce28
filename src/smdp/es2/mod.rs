//! ES2+ (SGP.22 v2.5 §5.3): the operator's order functions — DownloadOrder (§5.3.1), ConfirmOrder (§5.3.2),
//! CancelOrder (§5.3.3), ReleaseProfile (§5.3.4). ONE implementation, used alike by the ES2+ JSON binding
//! (`crate::http::operator::es2`) and `rspd order create`: each function is one compare-and-set transition scoped by the
//! operator (Available → Allocated | Linked → Confirmed → Released), applied in the same transaction as the record
//! of the call's answer, so a retried call never changes anything twice.
//!
//! - [`functions`]: the four functions and their inputs.
//! - [`repository`]: the storage port ([`Es2Repository`]) and the call identity ([`CallKey`]).
//! - [`error`]: [`OrderError`], the ONE place an ES2+ failure gets its subjectCode/reasonCode.

pub mod error;
pub mod functions;
pub mod repository;

pub use error::OrderError;
pub use functions::{
    cancel_order, confirm_order, download_order, release_profile, CancelOrderInput, ConfirmOrderInput,
    DownloadOrderInput,
};
pub use repository::{Answer, CallKey, Es2Repository, ProfileSelector, Recorded, StoredCall};
