//! `Idempotency-Key` on the operator API (issue 10 item 7): the one mechanism that makes a state-changing operator
//! call safe to retry after a lost answer. ES2+ has its own, per the spec (functionCallIdentifier, SGP.22 v2.5
//! §6.5.1.3, `store::es2`); the eIM order and campaign creates keep the key with the row they create
//! (`store::eim_orders`), reading the header through [`key_of`].
//!
//! [`keyed`] registers one route behind [`replay`]. With the header, the first request runs and its answer (status,
//! content type, body) is stored per (operator, key) with the SHA-256 of the request (method, path, query, content
//! type, body); a retry with the same key and the same request gets that answer again, byte for byte, with
//! `Idempotent-Replayed: true`; the same key with another request is refused with 422; a retry while the first is
//! still running gets 409 with `Retry-After`. Answers 5xx are not kept (the request did not happen as far as the
//! caller can tell: a retry runs it again). Keys are kept for `retention.idempotency_key_age_secs`.
//!
//! Not atomic with the effect: a node that dies between the commit of the request and the recording of its answer
//! leaves the claim unanswered; after [`LEASE_MS`] a retry runs the request again (and gets the same answer a
//! retry without a key gets).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse, Resource, Route};
use serde_json::json;

use crate::fleet::{Claim, FleetRepository, StoredAnswer};
use crate::http::identity::OperatorIdentity;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 200;
/// How long an unanswered claim blocks retries before it counts as abandoned (its node died).
pub const LEASE_MS: i64 = 5 * 60 * 1000;

/// The `Idempotency-Key` of a request: `None` without the header; 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn key_of(req: &HttpRequest) -> Result<Option<String>, String> {
    match req.headers().get(HEADER) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.trim().len() <= MAX_KEY_LEN => Ok(Some(k.trim().to_owned())),
            _ => Err(format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible characters")),
        },
    }
}

/// One route (`method` on `path`) whose calls may carry an `Idempotency-Key` ([`replay`]).
pub fn keyed(
    method: Method,
    path: &str,
    route: Route,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).guard(guard::Method(method)).route(route).wrap(from_fn(replay))
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

/// SHA-256 over what makes two requests the same call: method, path, query, content type and body.
fn request_digest(req: &ServiceRequest, body: &[u8]) -> Vec<u8> {
    let mut h = openssl::sha::Sha256::new();
    let content_type = req.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()).unwrap_or_default();
    for part in [req.method().as_str().as_bytes(), req.path().as_bytes(), req.query_string().as_bytes(), content_type] {
        h.update(&(part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    h.finish().to_vec()
}

fn replayed(answer: StoredAnswer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Some(ct) = answer.content_type.as_deref().and_then(|ct| HeaderValue::from_str(ct).ok()) {
        response.insert_header((CONTENT_TYPE, ct));
    }
    response.insert_header((HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true")));
    response.body(answer.body)
}

/// The middleware of [`keyed`] routes (see the module doc).
pub async fn replay(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match key_of(req.request()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Err(message) => return Ok(req.into_response(error(StatusCode::BAD_REQUEST, message))),
    };
    let identity = req.extensions().get::<OperatorIdentity>().cloned();
    let (Some(identity), Some(store)) = (identity, req.app_data::<web::Data<dyn FleetRepository>>().cloned()) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    // The body is read here (under the route's PayloadConfig) and handed on to the handler unchanged.
    let body = req.extract::<web::Bytes>().await?;
    req.set_payload(actix_web::dev::Payload::from(body.clone()));
    let digest = request_digest(&req, &body);

    let now = crate::clock::now_ms();
    let claim = {
        let (store, operator, key, digest) = (store.clone(), identity.operator_id.clone(), key.clone(), digest.clone());
        web::block(move || store.claim_idempotency_key(&operator, &key, &digest, now, LEASE_MS)).await
    };
    match claim {
        Ok(Ok(Claim::Run)) => {}
        Ok(Ok(Claim::Replay(answer))) => return Ok(req.into_response(replayed(answer))),
        Ok(Ok(Claim::Mismatch)) => {
            return Ok(req.into_response(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was used for a different request: use a new key for a new request",
            )))
        }
        Ok(Ok(Claim::InProgress)) => {
            let mut response =
                error(StatusCode::CONFLICT, "a request with this Idempotency-Key is still running: retry later");
            response.headers_mut().insert(HeaderName::from_static("retry-after"), HeaderValue::from_static("1"));
            return Ok(req.into_response(response));
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "Idempotency-Key not claimed: store unavailable");
            return Ok(
                req.into_response(error(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable, try again"))
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "Idempotency-Key not claimed: blocking pool");
            return Ok(req.into_response(error(StatusCode::SERVICE_UNAVAILABLE, "the server is busy, try again")));
        }
    }

    let response = next.call(req).await;
    let record = |answer: Option<StoredAnswer>| {
        let (operator, key, digest) = (identity.operator_id.clone(), key.clone(), digest.clone());
        let store = store.clone();
        async move {
            let done = web::block(move || match &answer {
                Some(answer) => store.finish_idempotency_key(&operator, &key, &digest, answer),
                None => store.release_idempotency_key(&operator, &key, &digest),
            })
            .await;
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "Idempotency-Key answer not recorded"),
                Err(e) => tracing::warn!(error = %e, "Idempotency-Key answer not recorded: blocking pool"),
            }
        }
    };
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            record(None).await;
            return Err(e);
        }
    };
    let (http_req, res) = response.into_parts();
    let status = res.status();
    let headers = res.headers().clone();
    let body = match actix_web::body::to_bytes(res.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            record(None).await;
            let response = error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            return Ok(ServiceResponse::new(http_req, response));
        }
    };
    if status.is_server_error() {
        record(None).await;
    } else {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        record(Some(StoredAnswer { status: status.as_u16(), content_type, body: body.to_vec() })).await;
    }
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    Ok(ServiceResponse::new(http_req, rebuilt.body(body)))
}
