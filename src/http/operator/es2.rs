//! ES2+ JSON binding (SGP.22 v2.5 §6.5: request header §6.5.1.3, response header §6.5.1.4, ES2+ messages §6.5.2;
//! functions §5.3) on the operator listener
//! (mutual TLS): `POST /gsma/rsp2/es2plus/{downloadOrder|confirmOrder|cancelOrder|releaseProfile}`. Translates
//! JSON ↔ [`crate::smdp::es2`]; no business rule lives here, and every call is scoped by the
//! [`OperatorIdentity`] of the client certificate.
//!
//! - Request: `{"header":{"functionRequesterIdentifier":…,"functionCallIdentifier":…}, …}` (header mandatory).
//!   rspd extension on downloadOrder / confirmOrder: `allowedImeis` / `allowedTacs` (arrays of digit strings) lock
//!   the order to devices (checked against deviceInfo in ES9+ AuthenticateClient).
//! - Response: always HTTP 200, `{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}, …}` or
//!   `"status":"Failed","statusCodeData":{"subjectCode","reasonCode","message"}`; codes from
//!   [`OrderError::status_code`]. `Content-Type: application/json;charset=UTF-8`, `X-Admin-Protocol` as ES9+.
//! - Idempotency: (operator, functionRequesterIdentifier, functionCallIdentifier) → the first answer, byte for
//!   byte, stored in the same transaction as the change; the same identifiers with another body → Failed 1.6/3.3.
//!   Malformed requests (JSON, types, missing fields) are answered but not recorded: they changed nothing.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::http::binding::{self, AdminProtocolError, ADMIN_PROTOCOL};
use crate::http::identity::OperatorIdentity;
use crate::smdp::device_lock::DeviceLock;
use crate::smdp::es2::{
    self, CallKey, CancelOrderInput, ConfirmOrderInput, DownloadOrderInput, OrderError, Recorded, StoredCall,
};
use crate::smdp::order::confirmation_code_digest;
use crate::smdp::service::{SmdpRepository, SmdpService};
use crate::smdp::{Eid, MatchingId, ProfileState};

/// Largest accepted request body.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Routes of ES2+ (registered by [`crate::http::operator::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/gsma/rsp2/es2plus")
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route("/downloadOrder", web::post().to(download_order))
            .route("/confirmOrder", web::post().to(confirm_order))
            .route("/cancelOrder", web::post().to(cancel_order))
            .route("/releaseProfile", web::post().to(release_profile)),
    );
}

/// A parsed request: the call key and the body fields.
struct Request {
    call: CallKey,
    fields: Map<String, Value>,
}

async fn download_order(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<SmdpService>,
    who: OperatorIdentity,
) -> HttpResponse {
    run(&req, &body, &svc, who, "downloadOrder", |r| {
        let input = DownloadOrderInput {
            eid: eid_field(&r.fields)?,
            iccid: iccid_field(&r.fields, false)?,
            profile_type: str_field(&r.fields, "profileType")?,
            lock: lock_fields(&r.fields)?.unwrap_or_default(),
        };
        Ok(Box::new(move |store: &dyn SmdpRepository, call: &CallKey| {
            let answer = |p: &crate::smdp::ProfileRecord| success(json!({ "iccid": p.iccid }));
            es2::download_order(store, call, &input, &answer).map(drop_value)
        }))
    })
    .await
}

async fn confirm_order(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<SmdpService>,
    who: OperatorIdentity,
) -> HttpResponse {
    let smdp_address = svc.ctx.addresses.first().cloned().unwrap_or_default();
    run(&req, &body, &svc, who, "confirmOrder", move |r| {
        let matching_id = str_field(&r.fields, "matchingId")?
            .map(|m| MatchingId::new(&m).map_err(OrderError::InvalidMatchingId))
            .transpose()?;
        let cc = str_field(&r.fields, "confirmationCode")?;
        if cc.as_deref().is_some_and(str::is_empty) {
            return Err(OrderError::InvalidField { field: "confirmationCode", detail: "must not be empty".into() });
        }
        let release = match r.fields.get("releaseFlag") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(OrderError::InvalidField { field: "releaseFlag", detail: "not a boolean".into() }),
            None => return Err(OrderError::MissingField { field: "releaseFlag" }),
        };
        let input = ConfirmOrderInput {
            iccid: iccid_field(&r.fields, true)?.unwrap_or_default(),
            eid: eid_field(&r.fields)?,
            matching_id,
            cc_hash: cc.as_deref().map(confirmation_code_digest),
            smds_address: str_field(&r.fields, "smdsAddress")?,
            release,
            lock: lock_fields(&r.fields)?,
        };
        Ok(Box::new(move |store: &dyn SmdpRepository, call: &CallKey| {
            let answer = |o: &crate::smdp::OrderRecord| {
                let mut fields = json!({ "matchingId": o.matching_id, "smdpAddress": smdp_address });
                if let Some(eid) = &o.eid {
                    fields["eid"] = json!(eid);
                }
                success(fields)
            };
            es2::confirm_order(store, call, &input, &answer).map(drop_value)
        }))
    })
    .await
}

async fn cancel_order(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<SmdpService>,
    who: OperatorIdentity,
) -> HttpResponse {
    run(&req, &body, &svc, who, "cancelOrder", |r| {
        let final_state = match str_field(&r.fields, "finalProfileStatusIndicator")?.as_deref() {
            Some("Available") => ProfileState::Available,
            Some("Unavailable") => ProfileState::Unavailable,
            Some(other) => {
                return Err(OrderError::InvalidField {
                    field: "finalProfileStatusIndicator",
                    detail: format!("`{other}` is neither Available nor Unavailable"),
                })
            }
            None => return Err(OrderError::MissingField { field: "finalProfileStatusIndicator" }),
        };
        let input = CancelOrderInput {
            iccid: iccid_field(&r.fields, true)?.unwrap_or_default(),
            eid: eid_field(&r.fields)?,
            matching_id: str_field(&r.fields, "matchingId")?,
            final_state,
        };
        Ok(Box::new(move |store: &dyn SmdpRepository, call: &CallKey| {
            es2::cancel_order(store, call, &input, &|_| success(json!({}))).map(drop_value)
        }))
    })
    .await
}

async fn release_profile(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<SmdpService>,
    who: OperatorIdentity,
) -> HttpResponse {
    run(&req, &body, &svc, who, "releaseProfile", |r| {
        let iccid = iccid_field(&r.fields, true)?.unwrap_or_default();
        Ok(Box::new(move |store: &dyn SmdpRepository, call: &CallKey| {
            es2::release_profile(store, call, &iccid, &|_| success(json!({}))).map(drop_value)
        }))
    })
    .await
}

// ---- the one call path ----

/// The domain step, ready to run on the blocking pool.
type Step = Box<dyn FnOnce(&dyn SmdpRepository, &CallKey) -> Result<Recorded<()>, OrderError> + Send>;

fn drop_value<T>(r: Recorded<T>) -> Recorded<()> {
    match r {
        Recorded::Applied { answer, .. } => Recorded::Applied { value: (), answer },
        Recorded::Replayed(stored) => Recorded::Replayed(stored),
    }
}

/// Parses, checks the call key for a stored answer, runs the step, records a failure's answer; always HTTP 200.
async fn run(
    req: &HttpRequest,
    body: &[u8],
    svc: &SmdpService,
    who: OperatorIdentity,
    function: &'static str,
    prepare: impl FnOnce(&Request) -> Result<Step, OrderError>,
) -> HttpResponse {
    let parsed = check_admin_protocol(req).and_then(|()| parse(body, function, &who.operator_id));
    let (request, step) = match parsed.and_then(|r| prepare(&r).map(|step| (r, step))) {
        Ok(ok) => ok,
        Err(e) => {
            tracing::info!(operator = %who.operator_id, function, error = %crate::logging::variant(&e), "ES2+ request refused");
            tracing::debug!(operator = %who.operator_id, function, error = %e, "ES2+ request refused (detail)");
            return respond(failed(&e));
        }
    };
    let store = svc.repo.clone();
    let call = request.call;
    let operator = who.operator_id.clone();
    let text = web::block(move || execute(&*store, &call, step)).await;
    match text {
        Ok(text) => {
            tracing::info!(operator = %operator, function, "ES2+ call answered");
            respond(text)
        }
        Err(e) => {
            tracing::error!(error = %e, "ES2+ worker failed");
            respond(failed(&OrderError::Repo(crate::smdp::RepoError::Backend(e.to_string()))))
        }
    }
}

fn execute(store: &dyn SmdpRepository, call: &CallKey, step: Step) -> String {
    match store.find_call(call) {
        Ok(Some(stored)) => return replay(call, stored),
        Ok(None) => {}
        Err(e) => return failed(&OrderError::Repo(e)),
    }
    match step(store, call) {
        Ok(Recorded::Applied { answer, .. }) => answer,
        Ok(Recorded::Replayed(stored)) => replay(call, stored),
        Err(e) if e.is_internal() => {
            tracing::error!(error = %e, function = call.function, "ES2+ internal error");
            failed(&e)
        }
        Err(e) => {
            tracing::info!(operator = %call.operator_id, function = call.function, error = %crate::logging::variant(&e),
                "ES2+ function failed");
            tracing::debug!(operator = %call.operator_id, function = call.function, error = %e, "ES2+ function failed (detail)");
            match store.record_call(call, &failed(&e)) {
                Ok(stored) => replay(call, stored),
                Err(e) => failed(&OrderError::Repo(e)),
            }
        }
    }
}

/// The stored answer, if the call asks the same; else the identifiers were reused for another request.
fn replay(call: &CallKey, stored: StoredCall) -> String {
    if stored.same_request(call) {
        stored.response
    } else {
        failed(&OrderError::CallIdReused(call.call_id.clone()))
    }
}

// ---- request fields ----

fn parse(body: &[u8], function: &'static str, operator_id: &str) -> Result<Request, OrderError> {
    let value: Value = binding::parse_json(body)
        .map_err(|e| OrderError::InvalidField { field: "JSON body", detail: e.error.to_string() })?;
    let Value::Object(mut fields) = value else {
        return Err(OrderError::InvalidField { field: "JSON body", detail: "not a JSON object".into() });
    };
    let digest = {
        let mut h = openssl::sha::Sha256::new();
        h.update(function.as_bytes());
        h.update(b"\0");
        h.update(canonical(&Value::Object(fields.clone())).as_bytes());
        h.finish()
    };
    let header = match fields.remove("header") {
        Some(Value::Object(h)) => h,
        Some(_) => return Err(OrderError::InvalidField { field: "header", detail: "not a JSON object".into() }),
        None => return Err(OrderError::MissingField { field: "header" }),
    };
    let requester = str_field(&header, "functionRequesterIdentifier")?
        .ok_or(OrderError::MissingField { field: "header.functionRequesterIdentifier" })?;
    let call_id = str_field(&header, "functionCallIdentifier")?
        .ok_or(OrderError::MissingField { field: "header.functionCallIdentifier" })?;
    let call = CallKey { operator_id: operator_id.to_owned(), requester, call_id, function, request_digest: digest };
    Ok(Request { call, fields })
}

/// JSON text with object keys sorted at every level: the same request always digests the same.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn str_field(fields: &Map<String, Value>, field: &'static str) -> Result<Option<String>, OrderError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(OrderError::InvalidField { field, detail: "not a string".into() }),
    }
}

fn eid_field(fields: &Map<String, Value>) -> Result<Option<Eid>, OrderError> {
    str_field(fields, "eid")?.map(|e| Eid::new(&e).map_err(OrderError::InvalidEid)).transpose()
}

/// `iccid`: 19 or 20 digits; a 19-digit ICCID may come padded with F (INTEROP.md), which is removed.
fn iccid_field(fields: &Map<String, Value>, mandatory: bool) -> Result<Option<String>, OrderError> {
    let Some(iccid) = str_field(fields, "iccid")? else {
        return if mandatory { Err(OrderError::MissingField { field: "iccid" }) } else { Ok(None) };
    };
    let digits = iccid.trim_end_matches(['F', 'f']);
    if !(19..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OrderError::InvalidField { field: "iccid", detail: format!("`{iccid}` is not 19 or 20 digits") });
    }
    Ok(Some(digits.to_owned()))
}

/// rspd extension: `allowedImeis` / `allowedTacs`, arrays of digit strings. `None` when neither is given.
fn lock_fields(fields: &Map<String, Value>) -> Result<Option<DeviceLock>, OrderError> {
    let list = |field: &'static str| -> Result<Option<Vec<String>>, OrderError> {
        match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or(OrderError::InvalidField { field, detail: "not an array of strings".into() }),
            Some(_) => Err(OrderError::InvalidField { field, detail: "not an array of strings".into() }),
        }
    };
    let (imeis, tacs) = (list("allowedImeis")?, list("allowedTacs")?);
    if imeis.is_none() && tacs.is_none() {
        return Ok(None);
    }
    DeviceLock::new(&imeis.unwrap_or_default(), &tacs.unwrap_or_default())
        .map(Some)
        .map_err(|detail| OrderError::InvalidField { field: "allowedImeis/allowedTacs", detail })
}

/// Any `gsma/rsp/v2.x.y` or `v3.x.y`; absent is tolerated (as on ES9+).
fn check_admin_protocol(req: &HttpRequest) -> Result<(), OrderError> {
    binding::check_admin_protocol(req, false).map_err(|e| match e {
        AdminProtocolError::Unsupported(value) => OrderError::UnsupportedProtocol(value),
        AdminProtocolError::Missing => OrderError::UnsupportedProtocol(String::new()),
    })
}

// ---- responses ----

fn success(mut fields: Value) -> String {
    if let Value::Object(map) = &mut fields {
        map.insert("header".into(), json!({ "functionExecutionStatus": { "status": "Executed-Success" } }));
    }
    fields.to_string()
}

fn failed(e: &OrderError) -> String {
    let (subject, reason) = e.status_code();
    json!({
        "header": { "functionExecutionStatus": {
            "status": "Failed",
            "statusCodeData": { "subjectCode": subject, "reasonCode": reason, "message": e.public_message() },
        } }
    })
    .to_string()
}

fn respond(text: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json;charset=UTF-8"))
        .insert_header(("X-Admin-Protocol", ADMIN_PROTOCOL))
        .body(text)
}
