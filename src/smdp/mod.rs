//! SM-DP+ domain (SGP.22 v2.5): profile states and the profile repository port; orders and download
//! sessions follow.

pub mod profile_repository;
pub mod profile_state;

pub use profile_repository::{NewProfile, ProfileRecord, ProfileRepository, RepoError};
pub use profile_state::{ProfileState, UnknownProfileState};
