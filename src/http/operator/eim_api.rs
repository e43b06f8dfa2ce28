//! The eIM operator API (REST JSON on the operator listener, mutual TLS; issue 6 item 5): eUICC import and
//! listing, orders with (composite) intents, campaigns with a release rate and pause/resume/cancel.
//! Everything is scoped by the caller's [`OperatorIdentity`]: another operator's eUICC, order or campaign
//! answers exactly like an unknown one (404). Errors are `{"error": "…"}` with a 4xx status; lists take
//! `?limit=` (1..1000, default 100) and `?cursor=` (the `nextCursor` of the previous page).
//!
//! Routes: `POST|GET /api/v1/eim/euiccs`, `GET /api/v1/eim/euiccs/{eid}`, `POST|GET /api/v1/eim/orders`,
//! `GET /api/v1/eim/orders/{id}`, `POST /api/v1/eim/campaigns`, `GET /api/v1/eim/campaigns/{id}`,
//! `GET /api/v1/eim/campaigns/{id}/devices`, `POST /api/v1/eim/campaigns/{id}/{pause|resume|cancel}`,
//! `GET /api/v1/eim/events` (Server-Sent Events, [`crate::http::operator::eim_events`]).
//! Creates accept an `Idempotency-Key` header: a retry answers 200 with the first result (the key is kept with the
//! order or campaign it created). The other state-changing calls (eUICC import, campaign actions) take it through
//! the operator API's general mechanism, [`super::idempotency`]: a retry gets the first answer byte for byte.
//! Order and campaign ids (and cursors) are opaque tokens ([`crate::http::operator::opaque_ids`]), not the global sequence numbers.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::now_ms;
use crate::eim::campaign::{CampaignRecord, EimOrder, EimOrderError, EuiccFilter, ImportOutcome, OwnedEuicc};
use crate::eim::esipa_service::EimService;
use crate::eim::orders::{self, CampaignAction, CampaignRequest, DeviceSelection};
use crate::eim::{EimError, NewEuicc, OrderState as PackageState};
use crate::http::binding;
use crate::http::identity::OperatorIdentity;
use crate::http::operator::idempotency::keyed;
use crate::http::operator::opaque_ids::{IdKind, OpaqueIds};
use crate::pki::Certificate;

/// The refusal of an EID this operator cannot register (global uniqueness; names no holder).
const EID_UNAVAILABLE: &str = "this EID cannot be registered by this operator";
/// Most eUICCs per import request.
const MAX_IMPORT: usize = 20_000;

/// Registers the routes (one line in [`crate::http::operator::configure`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/eim")
            .service(keyed(Method::POST, "/euiccs", web::post().to(import_euiccs)))
            .route("/euiccs", web::get().to(list_euiccs))
            .route("/euiccs/{eid}", web::get().to(get_euicc))
            .route("/orders", web::post().to(create_order))
            .route("/orders", web::get().to(list_orders))
            .route("/orders/{id}", web::get().to(get_order))
            .route("/campaigns", web::post().to(create_campaign))
            .route("/campaigns/{id}", web::get().to(get_campaign))
            .route("/campaigns/{id}/devices", web::get().to(campaign_devices))
            .service(keyed(Method::POST, "/campaigns/{id}/{action}", web::post().to(campaign_action)))
            .route("/events", web::get().to(crate::http::operator::eim_events::events)),
    );
}

/// The one mapping of the orders API's errors to HTTP statuses.
fn error_response(e: EimOrderError) -> HttpResponse {
    let (status, message) = match &e {
        EimOrderError::Invalid(_) => (StatusCode::BAD_REQUEST, e.to_string()),
        EimOrderError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()),
        EimOrderError::Conflict(_) => (StatusCode::CONFLICT, e.to_string()),
        EimOrderError::Eim(EimError::UnknownEuicc(_)) => (StatusCode::NOT_FOUND, "eUICC not found".to_owned()),
        EimOrderError::Eim(inner) if inner.is_internal() => {
            tracing::error!(error = %inner, "eIM API request failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the eIM store is unavailable; try again".to_owned())
        }
        EimOrderError::Eim(inner) => (StatusCode::BAD_REQUEST, inner.to_string()),
    };
    HttpResponse::build(status).json(json!({ "error": message }))
}

/// A handler body written with `?`: each refusal on the way is already its response.
async fn reply(body: impl std::future::Future<Output = Result<HttpResponse, HttpResponse>>) -> HttpResponse {
    body.await.unwrap_or_else(|refusal| refusal)
}

/// 201 with what a create made, 200 with what an earlier call with the same `Idempotency-Key` made.
fn created_or_found((view, created): (Value, bool)) -> HttpResponse {
    if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    }
}

fn invalid(message: impl Into<String>) -> HttpResponse {
    error_response(EimOrderError::Invalid(message.into()))
}

/// Runs `f` on the blocking pool with the eIM service.
async fn blocking<T: Send + 'static>(
    svc: &web::Data<EimService>,
    f: impl FnOnce(&EimService) -> Result<T, EimOrderError> + Send + 'static,
) -> Result<T, HttpResponse> {
    let svc = svc.clone();
    binding::blocking(move || f(&svc), |e| EimOrderError::Eim(EimError::Store(e))).await.map_err(error_response)
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpResponse> {
    binding::parse_json(body).map_err(|e| invalid(format!("request body: {e}")))
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, HttpResponse> {
    crate::http::operator::idempotency::key_of(req).map_err(invalid)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<i64>,
    cursor: Option<String>,
    label: Option<String>,
    #[serde(rename = "eidPrefix")]
    eid_prefix: Option<String>,
}

impl Page {
    fn limit(&self) -> Result<i64, HttpResponse> {
        match self.limit {
            None => Ok(100),
            Some(n) if (1..=1000).contains(&n) => Ok(n),
            Some(_) => Err(invalid("limit must be between 1 and 1000")),
        }
    }

    /// An order-list cursor: the opaque id of the last order of the previous page.
    fn id_cursor(&self, ids: &OpaqueIds) -> Result<Option<i64>, HttpResponse> {
        self.cursor
            .as_deref()
            .map(|c| ids.decode(IdKind::EimOrder, c).ok_or_else(|| invalid("cursor is not one of ours")))
            .transpose()
    }
}

fn query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, HttpResponse> {
    web::Query::<T>::from_query(req.query_string()).map(|q| q.into_inner()).map_err(|e| invalid(e.to_string()))
}

/// The `{id}` of the path: an opaque id of `kind`; anything else is "not found", like another operator's id.
fn path_id(req: &HttpRequest, ids: &OpaqueIds, kind: IdKind, what: &'static str) -> Result<i64, HttpResponse> {
    req.match_info()
        .get("id")
        .and_then(|s| ids.decode(kind, s))
        .ok_or_else(|| error_response(EimOrderError::NotFound(what)))
}

// ---- eUICCs ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRequest {
    euiccs: Vec<ImportItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportItem {
    /// CERT.EUICC.ECDSA: PEM, or DER in base64.
    certificate: String,
    label: Option<String>,
    #[serde(default)]
    counter_value: i64,
    association_token: Option<i64>,
}

fn certificate_der(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let cert = if text.contains("-----BEGIN") {
        Certificate::from_pem(text.as_bytes()).map_err(|e| e.to_string())?
    } else {
        let der = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("certificate is neither PEM nor base64 DER: {e}"))?;
        Certificate::from_der(&der).map_err(|e| e.to_string())?
    };
    Ok(cert.der().to_vec())
}

/// `POST /api/v1/eim/euiccs`: bulk import; a per-item report, 200 even when some items are refused.
async fn import_euiccs(identity: OperatorIdentity, body: web::Bytes, svc: web::Data<EimService>) -> HttpResponse {
    reply(async move {
        let request: ImportRequest = parse_json(&body)?;
        if request.euiccs.is_empty() || request.euiccs.len() > MAX_IMPORT {
            return Err(invalid(format!("euiccs must hold 1 to {MAX_IMPORT} items")));
        }
        let answer = blocking(&svc, move |svc| {
            let mut items = Vec::with_capacity(request.euiccs.len());
            let mut totals = [0usize; 4];
            for (index, item) in request.euiccs.into_iter().enumerate() {
                let checked = certificate_der(&item.certificate)
                    .and_then(|der| {
                        NewEuicc::from_certificate(&der, &svc.ctx.eim_id, item.counter_value).map_err(|e| e.to_string())
                    })
                    .and_then(|mut new| {
                        if item.counter_value < 0 {
                            return Err("counterValue must not be negative".into());
                        }
                        if item.label.as_ref().is_some_and(|l| l.is_empty() || l.len() > 100) {
                            return Err("label must be 1 to 100 characters".into());
                        }
                        new.association_token = item.association_token;
                        Ok(new)
                    });
                let new = match checked {
                    Ok(n) => n,
                    Err(e) => {
                        totals[3] += 1;
                        items.push(json!({ "index": index, "status": "invalid", "error": e }));
                        continue;
                    }
                };
                let outcome = svc.repo.import_euicc(&new, &identity.operator_id, item.label.as_deref())?;
                let (status, slot) = match outcome {
                    ImportOutcome::Registered => ("registered", 0),
                    ImportOutcome::AlreadyRegistered => ("alreadyRegistered", 1),
                    ImportOutcome::Refused => ("refused", 2),
                };
                totals[slot] += 1;
                let mut item = json!({ "index": index, "eid": new.eid, "status": status });
                if slot == 2 {
                    // One refusal whoever holds the EID (another operator, or nobody yet: a learned eUICC), naming none.
                    item["error"] = json!(EID_UNAVAILABLE);
                }
                items.push(item);
            }
            Ok(json!({
                "registered": totals[0], "alreadyRegistered": totals[1], "refused": totals[2], "invalid": totals[3],
                "items": items,
            }))
        })
        .await?;
        Ok(HttpResponse::Ok().json(answer))
    })
    .await
}

fn euicc_json(e: &OwnedEuicc) -> Value {
    json!({
        "eid": e.eid, "label": e.label, "counterValue": e.counter_value, "associated": e.associated,
        "createdAt": e.created_at, "lastSeen": e.last_seen, "rPlmn": e.contact.r_plmn.map(plmn_json),
        "stateChangeCause": e.contact.state_change_cause,
    })
}

/// A PLMN as sent (3 bytes, BCD: MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1, 3GPP TS 24.008 §10.5.1.13): hex and MCC/MNC.
fn plmn_json(p: [u8; 3]) -> Value {
    let digit = |n: u8| char::from_digit(u32::from(n), 10);
    let digits = |ns: &[u8]| ns.iter().map(|&n| digit(n)).collect::<Option<String>>();
    let mcc = digits(&[p[0] & 0x0F, p[0] >> 4, p[1] & 0x0F]);
    let mnc = if p[1] >> 4 == 0x0F {
        digits(&[p[2] & 0x0F, p[2] >> 4])
    } else {
        digits(&[p[2] & 0x0F, p[2] >> 4, p[1] >> 4])
    };
    json!({ "hex": hex::encode_upper(p), "mcc": mcc, "mnc": mnc })
}

/// `GET /api/v1/eim/euiccs?limit=&cursor=&label=&eidPrefix=`
async fn list_euiccs(identity: OperatorIdentity, req: HttpRequest, svc: web::Data<EimService>) -> HttpResponse {
    reply(async move {
        let page: Page = query(&req)?;
        let limit = page.limit()?;
        if page.eid_prefix.as_ref().is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(invalid("eidPrefix must be digits"));
        }
        let filter = EuiccFilter { eid_prefix: page.eid_prefix, label: page.label };
        let cursor = page.cursor;
        let items = blocking(&svc, move |svc| {
            Ok(svc.repo.list_euiccs(&identity.operator_id, &filter, cursor.as_deref(), limit)?)
        })
        .await?;
        let next = (items.len() as i64 == limit).then(|| items.last().map(|e| e.eid.clone())).flatten();
        Ok(HttpResponse::Ok()
            .json(json!({ "items": items.iter().map(euicc_json).collect::<Vec<_>>(), "nextCursor": next })))
    })
    .await
}

/// `GET /api/v1/eim/euiccs/{eid}`: the eUICC and the profiles the eIM knows on it.
async fn get_euicc(identity: OperatorIdentity, req: HttpRequest, svc: web::Data<EimService>) -> HttpResponse {
    reply(async move {
        let eid = req.match_info().get("eid").unwrap_or_default().to_owned();
        let answer = blocking(&svc, move |svc| {
            let euicc = svc.repo.owned_euicc(&identity.operator_id, &eid)?.ok_or(EimOrderError::NotFound("eUICC"))?;
            let profiles = svc.repo.known_profiles(&eid)?;
            let mut body = euicc_json(&euicc);
            body["profiles"] = profiles
                .iter()
                .map(|p| {
                    json!({ "iccid": p.iccid, "state": p.state, "fallbackAttribute": p.fallback_attribute,
                    "lastSeen": p.last_seen })
                })
                .collect();
            Ok(body)
        })
        .await?;
        Ok(HttpResponse::Ok().json(answer))
    })
    .await
}

// ---- orders ----

pub(crate) fn order_summary(o: &EimOrder, package: Option<PackageState>, ids: &OpaqueIds) -> Value {
    json!({
        "orderId": ids.encode(IdKind::EimOrder, o.id), "eid": o.eid,
        "campaignId": o.campaign_id.map(|c| ids.encode(IdKind::Campaign, c)), "state": o.shown_state(package),
        "currentStep": o.current_step, "stepCount": o.step_count, "failureReason": o.failure_reason,
        "createdAt": o.created_at, "updatedAt": o.updated_at, "finishedAt": o.finished_at,
    })
}

/// An order with its intent and every step (queued ones with their package's state and outcome).
fn order_view(svc: &EimService, o: &EimOrder, ids: &OpaqueIds) -> Result<Value, EimOrderError> {
    let steps = svc.repo.order_steps(o.id)?;
    let current = steps.iter().find(|s| s.step_index == o.current_step).map(|s| s.package.state);
    let kinds = orders::step_kinds(&o.intent);
    let step_json: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| match steps.iter().find(|s| s.step_index == i as i64) {
            Some(s) => json!({
                "index": i, "kind": kind, "state": s.package.state.as_str(),
                "counterValue": s.package.counter_value,
                "eimTransactionId": hex::encode_upper(&s.package.eim_transaction_id),
                "failureReason": s.package.failure_reason,
                "updatedAt": s.package.updated_at,
            }),
            None => json!({
                "index": i, "kind": kind,
                "state": if o.status.is_final() { "skipped" } else { "pending" },
            }),
        })
        .collect();
    let mut body = order_summary(o, current, ids);
    body["intent"] = serde_json::from_str(&o.intent).unwrap_or(Value::Null);
    body["steps"] = Value::Array(step_json);
    Ok(body)
}

/// `POST /api/v1/eim/orders` with `{"eid": "…", "intent": "…", …intent members}`.
async fn create_order(
    identity: OperatorIdentity,
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    reply(async move {
        let key = idempotency_key(&req)?;
        let mut intent: serde_json::Map<String, Value> = parse_json(&body)?;
        let eid = match intent.remove("eid") {
            Some(Value::String(eid)) => eid,
            _ => return Err(invalid("eid (32 digits) is required")),
        };
        let answer = blocking(&svc, move |svc| {
            let now = now_ms();
            let (order, created) =
                orders::create_order(svc.repo.orders(), &identity.operator_id, &eid, Value::Object(intent), key, now)?;
            if created {
                orders::start_order(&*svc.repo, &svc.ctx, &order, now);
            }
            let order = svc.repo.find_eim_order(&identity.operator_id, order.id)?.unwrap_or(order);
            Ok((order_view(svc, &order, &ids)?, created))
        })
        .await?;
        Ok(created_or_found(answer))
    })
    .await
}

/// `GET /api/v1/eim/orders?limit=&cursor=`
async fn list_orders(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    paged_orders(identity, req, svc, ids, None).await
}

async fn paged_orders(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
    campaign_id: Option<i64>,
) -> HttpResponse {
    reply(async move {
        let page: Page = query(&req)?;
        let (limit, cursor) = (page.limit()?, page.id_cursor(&ids)?);
        let rows = blocking(&svc, move |svc| {
            if let Some(id) = campaign_id {
                svc.repo.find_campaign(&identity.operator_id, id)?.ok_or(EimOrderError::NotFound("campaign"))?;
            }
            Ok(svc.repo.list_orders(&identity.operator_id, campaign_id, cursor, limit)?)
        })
        .await?;
        let next = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|(o, _)| ids.encode(IdKind::EimOrder, o.id)))
            .flatten();
        let items: Vec<Value> = rows.iter().map(|(o, p)| order_summary(o, *p, &ids)).collect();
        Ok(HttpResponse::Ok().json(json!({ "items": items, "nextCursor": next })))
    })
    .await
}

/// `GET /api/v1/eim/orders/{id}`
async fn get_order(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    reply(async move {
        let id = path_id(&req, &ids, IdKind::EimOrder, "order")?;
        let answer = blocking(&svc, move |svc| {
            let order = svc.repo.find_eim_order(&identity.operator_id, id)?.ok_or(EimOrderError::NotFound("order"))?;
            order_view(svc, &order, &ids)
        })
        .await?;
        Ok(HttpResponse::Ok().json(answer))
    })
    .await
}

// ---- campaigns ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CampaignBody {
    name: String,
    intent: Value,
    eids: Option<Vec<String>>,
    filter: Option<FilterBody>,
    rate_per_minute: Option<i64>,
    max_in_flight: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FilterBody {
    eid_prefix: Option<String>,
    label: Option<String>,
}

fn campaign_view(svc: &EimService, c: &CampaignRecord, ids: &OpaqueIds) -> Result<Value, EimOrderError> {
    let progress = svc.repo.campaign_counts(c.id)?;
    Ok(json!({
        "campaignId": ids.encode(IdKind::Campaign, c.id), "name": c.name, "state": c.state.as_str(),
        "intent": serde_json::from_str::<Value>(&c.intent).unwrap_or(Value::Null),
        "ratePerMinute": c.rate_per_minute, "maxInFlight": c.max_in_flight, "deviceCount": c.device_count,
        "progress": progress, "createdAt": c.created_at, "updatedAt": c.updated_at, "finishedAt": c.finished_at,
    }))
}

/// `POST /api/v1/eim/campaigns` with `{"name", "intent": {…}, "eids": […] | "filter": {…},
/// "ratePerMinute", "maxInFlight"}`.
async fn create_campaign(
    identity: OperatorIdentity,
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    reply(async move {
        let key = idempotency_key(&req)?;
        let b: CampaignBody = parse_json(&body)?;
        let devices = match (b.eids, b.filter) {
            (Some(eids), None) => DeviceSelection::Eids(eids),
            (None, Some(f)) => DeviceSelection::Filter(EuiccFilter { eid_prefix: f.eid_prefix, label: f.label }),
            _ => return Err(invalid("give exactly one of eids or filter ({} selects every eUICC of the operator)")),
        };
        let request = CampaignRequest {
            name: b.name,
            intent: b.intent,
            devices,
            rate_per_minute: b.rate_per_minute.unwrap_or(600),
            max_in_flight: b.max_in_flight.unwrap_or(1000),
            idempotency_key: key,
        };
        let answer = blocking(&svc, move |svc| {
            let (campaign, created) =
                orders::create_campaign(svc.repo.campaigns(), &identity.operator_id, request, now_ms())?;
            Ok((campaign_view(svc, &campaign, &ids)?, created))
        })
        .await?;
        Ok(created_or_found(answer))
    })
    .await
}

/// `GET /api/v1/eim/campaigns/{id}`: the campaign with live progress counts.
async fn get_campaign(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    reply(async move {
        let id = path_id(&req, &ids, IdKind::Campaign, "campaign")?;
        let answer = blocking(&svc, move |svc| {
            let campaign =
                svc.repo.find_campaign(&identity.operator_id, id)?.ok_or(EimOrderError::NotFound("campaign"))?;
            campaign_view(svc, &campaign, &ids)
        })
        .await?;
        Ok(HttpResponse::Ok().json(answer))
    })
    .await
}

/// `GET /api/v1/eim/campaigns/{id}/devices?limit=&cursor=`: per-device order state and failure reason.
async fn campaign_devices(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    match path_id(&req, &ids, IdKind::Campaign, "campaign") {
        Ok(id) => paged_orders(identity, req, svc, ids, Some(id)).await,
        Err(resp) => resp,
    }
}

/// `POST /api/v1/eim/campaigns/{id}/pause|resume|cancel`
async fn campaign_action(
    identity: OperatorIdentity,
    req: HttpRequest,
    svc: web::Data<EimService>,
    ids: web::Data<OpaqueIds>,
) -> HttpResponse {
    reply(async move {
        let id = path_id(&req, &ids, IdKind::Campaign, "campaign")?;
        let action = match req.match_info().get("action") {
            Some("pause") => CampaignAction::Pause,
            Some("resume") => CampaignAction::Resume,
            Some("cancel") => CampaignAction::Cancel,
            _ => return Err(HttpResponse::NotFound().json(json!({ "error": "no such endpoint" }))),
        };
        let answer = blocking(&svc, move |svc| {
            let campaign = orders::campaign_action(svc.repo.campaigns(), &identity.operator_id, id, action, now_ms())?;
            campaign_view(svc, &campaign, &ids)
        })
        .await?;
        Ok(HttpResponse::Ok().json(answer))
    })
    .await
}
