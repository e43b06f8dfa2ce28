//! What the fleet API's endpoints share: query parameters checked against each endpoint's names, keyset
//! pagination with opaque cursors, the 400/404/503 answers, and store reads off the async workers.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::http::binding;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};
use crate::smdp::ProfileState;
use crate::smdp::RepoError;

/// A fleet API failure: 400/404 with `{"error": …}`, 503 when the store is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the store is unavailable")]
    Store(#[from] RepoError),
}

impl actix_web::ResponseError for FleetError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            FleetError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FleetError::NotFound(_) => StatusCode::NOT_FOUND,
            FleetError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let FleetError::Store(e) = self {
            tracing::error!(error = %e, "fleet API: store error");
        }
        HttpResponse::build(self.status_code()).json(json!({ "error": self.to_string() }))
    }
}

/// Query parameters, checked against the names an endpoint accepts.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn parse(query: &str, allowed: &[&str]) -> Result<Params, FleetError> {
        let pairs: HashMap<String, String> = web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|_| FleetError::BadRequest("malformed query string".into()))?
            .into_inner()
            .into_iter()
            .collect();
        if let Some(unknown) = pairs.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(FleetError::BadRequest(format!(
                "unknown query parameter `{}` (accepted: {})",
                unknown.chars().take(40).collect::<String>(),
                allowed.join(", ")
            )));
        }
        Ok(Params(pairs))
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// `limit`: 1..=MAX_LIMIT, default DEFAULT_LIMIT.
    pub(crate) fn limit(&self) -> Result<i64, FleetError> {
        match self.0.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| FleetError::BadRequest(format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
        }
    }

    /// `cursor`: the `nextCursor` of an earlier page (an opaque id of `kind`).
    pub(crate) fn cursor(&self, ids: &OpaqueIds, kind: IdKind) -> Result<i64, FleetError> {
        match self.0.get("cursor") {
            None => Ok(0),
            Some(v) => ids
                .decode(kind, v)
                .filter(|n| *n >= 0)
                .ok_or_else(|| FleetError::BadRequest("bad cursor (pass back a nextCursor value)".into())),
        }
    }

    /// An integer parameter (milliseconds since the Unix epoch).
    pub(crate) fn millis(&self, name: &str) -> Result<Option<i64>, FleetError> {
        self.0
            .get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| FleetError::BadRequest(format!("{name} must be milliseconds since the Unix epoch")))
            })
            .transpose()
    }

    /// A profile/order `state` filter (the stable state names).
    pub(crate) fn state(&self) -> Result<Option<String>, FleetError> {
        match self.0.get("state") {
            None => Ok(None),
            Some(v) => v.parse::<ProfileState>().map(|s| Some(s.as_str().to_owned())).map_err(|_| {
                let names: Vec<&str> = ProfileState::ALL.iter().map(|s| s.as_str()).collect();
                FleetError::BadRequest(format!("unknown state (one of: {})", names.join(", ")))
            }),
        }
    }
}

/// Runs a store read off the actix worker.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RepoError> + Send + 'static,
) -> Result<T, FleetError> {
    binding::blocking(f, RepoError::Backend).await.map_err(FleetError::from)
}

/// `nextCursor`: the last item's key, opaque, when the page is full.
pub(crate) fn next_cursor(ids: &OpaqueIds, kind: IdKind, len: usize, limit: i64, last: Option<i64>) -> Option<String> {
    (i64::try_from(len).unwrap_or(i64::MAX) >= limit).then_some(last).flatten().map(|k| ids.encode(kind, k))
}
