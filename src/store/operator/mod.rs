//! What the operator API keeps: the hash-chained audit trail, the fleet API's listings and the
//! `Idempotency-Key`s with their first answers.

pub(crate) mod audit;
pub(crate) mod fleet;
pub(crate) mod idempotency;
