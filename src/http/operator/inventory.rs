//! Operator inventory API (JSON over the mutual-TLS operator listener, scoped by [`OperatorIdentity`]):
//! profile types with their StoreMetadata (SGP.22 v2.5 §5.5.3), bulk upload of prepared SAIP packages,
//! templates and personalization batches (CSV or JSON), and stock per profile type (the ES2+ DownloadOrder pool,
//! §5.3.1).
//!
//! | route | body → answer |
//! |---|---|
//! | `PUT /api/v1/profile-types/{name}` | type metadata → the type |
//! | `GET /api/v1/profile-types`, `GET /api/v1/profile-types/{name}` | → types / the type |
//! | `POST /api/v1/profiles` | `{profileType, allOrNothing?, profiles: [{package: base64 DER, …overrides}]}` → report |
//! | `POST /api/v1/templates` | `{name?, profileType, package: base64 DER}` → the template |
//! | `GET /api/v1/templates` | → templates |
//! | `POST /api/v1/templates/{name}/batches` | `text/csv` (`?allOrNothing=true`) or `{allOrNothing?, rows: […]}` → report |
//! | `GET /api/v1/stock` | → counts by state per profile type |
//!
//! Answers never carry package bytes, keys or PINs. A report is `200` when anything was written or nothing
//! failed, `422` when items failed and nothing was written.
//!
//! Every `PUT`/`POST` here takes an `Idempotency-Key` ([`crate::http::operator::idempotency`]): an all-or-nothing upload retried
//! after a lost answer gets its first report again instead of "already exists" for each row. Uploads are capped
//! by `[content]` (`max_upload_items` per request, `max_package_bytes` per SAIP package).

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::ContentConfig;
use crate::http::binding;
use crate::http::identity::OperatorIdentity;
use crate::http::operator::idempotency::keyed;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};
use crate::smdp::inventory::{
    batch_rows_from_json, check_profile_type, parse_batch_csv, parse_profile_class, profile_class_name, BatchRow,
    NotificationConfig, ProfileMetadata, ProfileType, StockLevel, TemplateRecord,
};
use crate::smdp::inventory_service::{self as service, BulkReport, InventoryError, UploadItem};
use crate::smdp::service::SmdpService;
use crate::smdp::RepoError;

/// Inventory routes; registered by `operator::configure`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The largest body is the operator listener's `limits.operator_max_body_bytes` (set on its app, issue 10 item 5).
    cfg.route("/api/v1/profile-types", web::get().to(list_types))
        .service(keyed(Method::PUT, "/api/v1/profile-types/{name}", web::put().to(put_type)))
        .route("/api/v1/profile-types/{name}", web::get().to(get_type))
        .service(keyed(Method::POST, "/api/v1/profiles", web::post().to(upload_profiles)))
        .service(keyed(Method::POST, "/api/v1/templates", web::post().to(upload_template)))
        .route("/api/v1/templates", web::get().to(list_templates))
        .service(keyed(Method::POST, "/api/v1/templates/{name}/batches", web::post().to(upload_batch)))
        .route("/api/v1/stock", web::get().to(stock));
}

/// The error answer: status and `{"error": "..."}` (store failures are logged, not shown).
fn error_response(e: InventoryError) -> HttpResponse {
    let (status, message) = match &e {
        InventoryError::Invalid(m) => (StatusCode::BAD_REQUEST, m.clone()),
        InventoryError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        InventoryError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
        InventoryError::Repo(RepoError::Unavailable(_)) => {
            tracing::warn!(error = %e, "inventory: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable, try again".to_owned())
        }
        InventoryError::Repo(_) => {
            tracing::error!(error = %e, "inventory: store error");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
        }
    };
    HttpResponse::build(status).json(json!({ "error": message }))
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, InventoryError> + Send + 'static,
) -> Result<T, HttpResponse> {
    binding::blocking(f, |e| InventoryError::Repo(RepoError::Backend(e))).await.map_err(error_response)
}

/// The body as `T`; the refusal names the field (serde does not quote string values of a wrong shape).
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpResponse> {
    binding::parse_json(body).map_err(|e| {
        let reason = if e.is_data() {
            format!("invalid field `{}`", e.path)
        } else {
            format!("malformed JSON at line {} column {}", e.error.line(), e.error.column())
        };
        error_response(InventoryError::Invalid(reason))
    })
}

/// The `[content]` caps (defaults when the app was built without them).
fn content_caps(content: &Option<web::Data<ContentConfig>>) -> ContentConfig {
    content.as_ref().map(|c| c.get_ref().clone()).unwrap_or_default()
}

fn too_many_items(caps: &ContentConfig, what: &str) -> HttpResponse {
    error_response(InventoryError::Invalid(format!(
        "more than {} {what} in one request (content.max_upload_items): split the upload",
        caps.max_items()
    )))
}

fn package_too_large(caps: &ContentConfig) -> String {
    format!("package: larger than {} bytes (content.max_package_bytes)", caps.max_package_len())
}

// ---- profile types ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TypeBody {
    #[serde(default)]
    service_provider_name: String,
    #[serde(default)]
    profile_name: String,
    #[serde(default)]
    profile_class: Option<String>,
    #[serde(default)]
    profile_policy_rules: Vec<String>,
    #[serde(default)]
    notification_configuration_info: Vec<NotificationConfig>,
    #[serde(default)]
    low_stock_threshold: Option<i64>,
}

fn type_json(t: &ProfileType) -> Value {
    json!({
        "name": t.name,
        "serviceProviderName": t.metadata.service_provider_name,
        "profileName": t.metadata.profile_name,
        "profileClass": profile_class_name(t.metadata.profile_class),
        "profilePolicyRules": t.metadata.profile_policy_rules,
        "notificationConfigurationInfo": t.metadata.notification_configuration_info,
        "lowStockThreshold": t.low_stock_threshold,
    })
}

async fn put_type(
    identity: OperatorIdentity,
    svc: web::Data<SmdpService>,
    name: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let store = svc.repo.clone();
    let body: TypeBody = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let profile_class = match body.profile_class.as_deref() {
        None => 2,
        Some(c) => match parse_profile_class(c) {
            Some(c) => c,
            None => {
                return error_response(InventoryError::Invalid(
                    "profileClass: test, provisioning or operational".into(),
                ))
            }
        },
    };
    let t = ProfileType {
        operator_id: identity.operator_id,
        name: name.into_inner(),
        metadata: ProfileMetadata {
            service_provider_name: body.service_provider_name,
            profile_name: body.profile_name,
            profile_class,
            profile_policy_rules: body.profile_policy_rules,
            notification_configuration_info: body.notification_configuration_info,
        },
        low_stock_threshold: body.low_stock_threshold,
    };
    if let Err(m) = check_profile_type(&t) {
        return error_response(InventoryError::Invalid(m));
    }
    let response = type_json(&t);
    match blocking(move || Ok(store.upsert_profile_type(&t)?)).await {
        Ok(()) => HttpResponse::Ok().json(response),
        Err(r) => r,
    }
}

async fn get_type(identity: OperatorIdentity, svc: web::Data<SmdpService>, name: web::Path<String>) -> HttpResponse {
    let store = svc.repo.clone();
    let name = name.into_inner();
    match blocking(move || Ok(store.find_profile_type(&identity.operator_id, &name)?)).await {
        Ok(Some(t)) => HttpResponse::Ok().json(type_json(&t)),
        Ok(None) => error_response(InventoryError::NotFound("no such profile type".into())),
        Err(r) => r,
    }
}

async fn list_types(identity: OperatorIdentity, svc: web::Data<SmdpService>) -> HttpResponse {
    let store = svc.repo.clone();
    match blocking(move || Ok(store.list_profile_types(&identity.operator_id)?)).await {
        Ok(types) => {
            HttpResponse::Ok().json(json!({ "profileTypes": types.iter().map(type_json).collect::<Vec<_>>() }))
        }
        Err(r) => r,
    }
}

// ---- bulk upload of prepared packages ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadBody {
    profile_type: String,
    #[serde(default)]
    all_or_nothing: bool,
    profiles: Vec<UploadItemBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadItemBody {
    /// Base64 (standard alphabet) of the SAIP DER.
    package: String,
    #[serde(default)]
    service_provider_name: Option<String>,
    #[serde(default)]
    profile_name: Option<String>,
    #[serde(default)]
    profile_class: Option<String>,
}

/// The report: `{written, failed, batchId?, items: [{index, iccid?, status: ok|error, reason?}]}`; the batch id is
/// an opaque token (batch numbers are a global sequence).
fn report_response(report: &BulkReport, index_name: &str, ids: &OpaqueIds) -> HttpResponse {
    let items: Vec<Value> = report
        .items
        .iter()
        .map(|i| {
            let mut v = json!({ index_name: i.index, "iccid": i.iccid });
            match &i.outcome {
                Ok(()) => v["status"] = json!("ok"),
                Err(reason) => {
                    v["status"] = json!("error");
                    v["reason"] = json!(reason);
                }
            }
            v
        })
        .collect();
    let status =
        if report.written() == 0 && report.failed() > 0 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut body = json!({ "written": report.written(), "failed": report.failed(), "items": items });
    if let Some(id) = report.batch_id {
        body["batchId"] = json!(ids.encode(IdKind::Batch, id));
    }
    HttpResponse::build(status).json(body)
}

async fn upload_profiles(
    identity: OperatorIdentity,
    svc: web::Data<SmdpService>,
    ids: web::Data<OpaqueIds>,
    content: Option<web::Data<ContentConfig>>,
    body: web::Bytes,
) -> HttpResponse {
    let store = svc.repo.clone();
    let caps = content_caps(&content);
    let body: UploadBody = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.profiles.len() > caps.max_items() {
        return too_many_items(&caps, "profiles");
    }
    let mut items = Vec::with_capacity(body.profiles.len());
    for p in body.profiles {
        let class = match p.profile_class.as_deref() {
            None => -1,
            Some(c) => parse_profile_class(c).unwrap_or(-2),
        };
        let der = if class == -2 {
            Err("profileClass: test, provisioning or operational".to_owned())
        } else {
            B64.decode(p.package.trim()).map_err(|_| "package: not base64".to_owned()).and_then(|der| {
                if der.len() > caps.max_package_len() {
                    Err(package_too_large(&caps))
                } else {
                    Ok(der)
                }
            })
        };
        items.push(UploadItem {
            der,
            service_provider_name: p.service_provider_name.unwrap_or_default(),
            profile_name: p.profile_name.unwrap_or_default(),
            profile_class: class,
        });
    }
    let (profile_type, aon) = (body.profile_type, body.all_or_nothing);
    let operator_id = identity.operator_id;
    let result = blocking(move || {
        service::require_profile_type(store.inventory(), &operator_id, &profile_type)?;
        let report = service::upload_packages(store.inventory(), &operator_id, &profile_type, items, aon)?;
        tracing::info!(operator = %operator_id, profile_type = %profile_type, written = report.written(),
            failed = report.failed(), all_or_nothing = aon, "inventory: prepared profiles uploaded");
        Ok(report)
    })
    .await;
    match result {
        Ok(report) => report_response(&report, "index", &ids),
        Err(r) => r,
    }
}

// ---- templates and batches ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TemplateBody {
    #[serde(default)]
    name: Option<String>,
    profile_type: String,
    package: String,
}

fn template_json(t: &TemplateRecord) -> Value {
    json!({ "name": t.name, "profileType": t.profile_type })
}

async fn upload_template(
    identity: OperatorIdentity,
    svc: web::Data<SmdpService>,
    content: Option<web::Data<ContentConfig>>,
    body: web::Bytes,
) -> HttpResponse {
    let store = svc.repo.clone();
    let caps = content_caps(&content);
    let body: TemplateBody = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let der = match B64.decode(body.package.trim()) {
        Ok(d) if d.len() > caps.max_package_len() => {
            return error_response(InventoryError::Invalid(package_too_large(&caps)))
        }
        Ok(d) => d,
        Err(_) => return error_response(InventoryError::Invalid("package: not base64".into())),
    };
    let operator_id = identity.operator_id;
    let result = blocking(move || {
        service::require_profile_type(store.inventory(), &operator_id, &body.profile_type)?;
        let t = service::upload_template(store.inventory(), &operator_id, body.name.as_deref(), &body.profile_type, der)?;
        tracing::info!(operator = %operator_id, template = %t.name, profile_type = %t.profile_type, "inventory: template stored");
        Ok(t)
    })
    .await;
    match result {
        Ok(t) => HttpResponse::Created().json(template_json(&t)),
        Err(r) => r,
    }
}

async fn list_templates(identity: OperatorIdentity, svc: web::Data<SmdpService>) -> HttpResponse {
    let store = svc.repo.clone();
    match blocking(move || Ok(store.list_templates(&identity.operator_id)?)).await {
        Ok(list) => HttpResponse::Ok().json(json!({ "templates": list.iter().map(template_json).collect::<Vec<_>>() })),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchBody {
    #[serde(default)]
    all_or_nothing: bool,
    rows: Vec<BatchRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchQuery {
    #[serde(default)]
    all_or_nothing: bool,
}

async fn upload_batch(
    req: HttpRequest,
    identity: OperatorIdentity,
    svc: web::Data<SmdpService>,
    ids: web::Data<OpaqueIds>,
    name: web::Path<String>,
    content: Option<web::Data<ContentConfig>>,
    body: web::Bytes,
) -> HttpResponse {
    let store = svc.repo.clone();
    let caps = content_caps(&content);
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let query = web::Query::<BatchQuery>::from_query(req.query_string()).map(|q| q.all_or_nothing).unwrap_or(false);
    let (rows, aon) = if content_type.starts_with("text/csv") {
        let Ok(text) = std::str::from_utf8(&body) else {
            return error_response(InventoryError::Invalid("the CSV is not UTF-8".into()));
        };
        match parse_batch_csv(text) {
            Ok(rows) => (rows, query),
            Err(m) => return error_response(InventoryError::Invalid(m)),
        }
    } else if content_type.starts_with("application/json") {
        match parse_json::<BatchBody>(&body) {
            Ok(b) => (batch_rows_from_json(b.rows), b.all_or_nothing || query),
            Err(r) => return r,
        }
    } else {
        return HttpResponse::UnsupportedMediaType().json(json!({ "error": "send text/csv or application/json" }));
    };
    if rows.len() > caps.max_items() {
        return too_many_items(&caps, "rows");
    }
    let template = name.into_inner();
    let operator_id = identity.operator_id;
    let result = blocking(move || {
        let report = service::upload_batch(store.inventory(), &operator_id, &template, rows, aon)?;
        tracing::info!(operator = %operator_id, template = %template, batch_seq = ?report.batch_id, written = report.written(),
            failed = report.failed(), all_or_nothing = aon, "inventory: personalization batch");
        Ok(report)
    })
    .await;
    match result {
        Ok(report) => report_response(&report, "row", &ids),
        Err(r) => r,
    }
}

// ---- stock ----

/// `{profileType, available, allocated, …, unavailable, lowStockThreshold, low}`.
pub fn stock_json(level: &StockLevel) -> Value {
    let mut v = json!({ "profileType": level.profile_type });
    for (state, n) in &level.counts {
        v[state.as_str()] = json!(n);
    }
    v["lowStockThreshold"] = json!(level.low_stock_threshold);
    v["low"] = json!(level.is_low());
    v
}

async fn stock(identity: OperatorIdentity, svc: web::Data<SmdpService>) -> HttpResponse {
    let store = svc.repo.clone();
    match blocking(move || Ok(store.stock(&identity.operator_id)?)).await {
        Ok(levels) => HttpResponse::Ok().json(json!({ "stock": levels.iter().map(stock_json).collect::<Vec<_>>() })),
        Err(r) => r,
    }
}
