//! eIM orders and campaigns as domain steps (issue 6 item 5; packages per SGP.32 v1.2 §2.11.1, results
//! §2.11.2 through [`super::service`]):
//! - [`create_order`] / [`create_campaign`]: check the intent and the operator's eUICCs, then write in one
//!   transaction (idempotent with a key);
//! - [`tick`]: the background job, safe on several nodes — release campaign orders within their rate, queue
//!   the package of each released or advanced step, advance orders whose current package finished (next step
//!   only after success; a failed or expired step ends the order with that step's reason), complete campaigns.
//!
//! The package of a step is queued (and its counterValue taken) in the transaction that links it to the
//! order, guarded by the order's version: two nodes never queue the same step twice.

use crate::logging::pii;
use std::collections::HashMap;

use super::campaign::{
    CampaignRecord, CampaignRepository, CampaignState, EimOrder, EimOrderError, EimOrderRepository, EimOrderStatus,
    EuiccFilter, NewCampaign, NewEimOrder,
};
use super::error::EimError;
use super::intent::{Intent, PackageBody, Step};
use super::order::{OrderState as PackageState, PackageOrder};
use super::package::sign_euicc_package;
use super::registry::{check_eid, EimContext};
use super::repository::EimRepository;

/// The most devices in one campaign.
pub const MAX_CAMPAIGN_DEVICES: usize = 100_000;
/// How many orders one tick queues or advances at most (the rest wait for the next tick).
pub const TICK_BATCH: i64 = 2_000;
/// The failure reason of a package expired by a campaign cancel.
pub const CANCELLED: &str = "cancelled";

/// Parses a stored or received intent and expands it.
pub fn parse_intent(value: serde_json::Value) -> Result<(Intent, Vec<Step>), EimOrderError> {
    let intent = Intent::from_json(value).map_err(EimOrderError::Invalid)?;
    let steps = intent.steps().map_err(EimOrderError::Invalid)?;
    Ok((intent, steps))
}

fn stored_steps(order_intent: &str) -> Result<Vec<Step>, String> {
    let value = serde_json::from_str(order_intent).map_err(|e| format!("stored intent: {e}"))?;
    Intent::from_json(value)?.steps()
}

/// One order for one of the operator's eUICCs. Returns the order and whether it was created now (`false`:
/// the idempotency key was used before).
pub fn create_order(
    repo: &dyn EimOrderRepository,
    operator_id: &str,
    eid: &str,
    intent: serde_json::Value,
    idempotency_key: Option<String>,
    now: i64,
) -> Result<(EimOrder, bool), EimOrderError> {
    let (intent, steps) = parse_intent(intent)?;
    check_eid(eid).map_err(|e| EimOrderError::Invalid(e.to_string()))?;
    if repo.owned_euicc(operator_id, eid)?.is_none() {
        return Err(EimOrderError::NotFound("eUICC"));
    }
    let new = NewEimOrder {
        operator_id: operator_id.to_owned(),
        eid: eid.to_owned(),
        intent: intent.to_json().to_string(),
        step_count: steps.len() as i64,
        idempotency_key,
    };
    Ok(repo.create_order(&new, now)?)
}

/// Which devices a campaign covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSelection {
    /// These EIDs (each must be the operator's).
    Eids(Vec<String>),
    /// Every eUICC of the operator matching the filter (no member = all of them).
    Filter(EuiccFilter),
}

/// What a campaign create asks for.
#[derive(Debug, Clone)]
pub struct CampaignRequest {
    pub name: String,
    pub intent: serde_json::Value,
    pub devices: DeviceSelection,
    pub rate_per_minute: i64,
    pub max_in_flight: i64,
    pub idempotency_key: Option<String>,
}

/// A campaign over the operator's eUICCs, its orders Pending until the release job lets them go.
pub fn create_campaign(
    repo: &dyn CampaignRepository,
    operator_id: &str,
    request: CampaignRequest,
    now: i64,
) -> Result<(CampaignRecord, bool), EimOrderError> {
    let (intent, steps) = parse_intent(request.intent)?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(EimOrderError::Invalid("name must be 1 to 200 characters".into()));
    }
    if !(1..=1_000_000).contains(&request.rate_per_minute) {
        return Err(EimOrderError::Invalid("ratePerMinute must be between 1 and 1000000".into()));
    }
    if !(1..=100_000).contains(&request.max_in_flight) {
        return Err(EimOrderError::Invalid("maxInFlight must be between 1 and 100000".into()));
    }
    let eids = match request.devices {
        DeviceSelection::Eids(mut eids) => {
            eids.sort();
            eids.dedup();
            if eids.len() > MAX_CAMPAIGN_DEVICES {
                return Err(EimOrderError::Invalid(format!("at most {MAX_CAMPAIGN_DEVICES} EIDs per campaign")));
            }
            if let Some(bad) = eids.iter().find(|e| check_eid(e).is_err()) {
                return Err(EimOrderError::Invalid(format!("invalid EID {bad:?}")));
            }
            let owned = repo.owned_eids(operator_id, &eids)?;
            if owned.len() != eids.len() {
                let owned: std::collections::HashSet<&String> = owned.iter().collect();
                let missing: Vec<&String> = eids.iter().filter(|e| !owned.contains(e)).collect();
                return Err(EimOrderError::Invalid(format!(
                    "{} EID(s) are not registered to this operator, e.g. {}",
                    missing.len(),
                    missing[0]
                )));
            }
            eids
        }
        DeviceSelection::Filter(filter) => {
            if let Some(p) = &filter.eid_prefix {
                if p.is_empty() || p.len() > 32 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(EimOrderError::Invalid("eidPrefix must be 1 to 32 digits".into()));
                }
            }
            let mut eids = Vec::new();
            loop {
                let page = repo.list_euiccs(operator_id, &filter, eids.last().map(String::as_str), 5_000)?;
                if page.is_empty() {
                    break;
                }
                eids.extend(page.into_iter().map(|e| e.eid));
                if eids.len() > MAX_CAMPAIGN_DEVICES {
                    return Err(EimOrderError::Invalid(format!("the filter matches more than {MAX_CAMPAIGN_DEVICES}")));
                }
            }
            eids
        }
    };
    if eids.is_empty() {
        return Err(EimOrderError::Invalid("no eUICC of this operator matches".into()));
    }
    let new = NewCampaign {
        operator_id: operator_id.to_owned(),
        name: name.to_owned(),
        intent: intent.to_json().to_string(),
        step_count: steps.len() as i64,
        rate_per_minute: request.rate_per_minute,
        max_in_flight: request.max_in_flight,
        idempotency_key: request.idempotency_key,
    };
    Ok(repo.create_campaign(&new, &eids, now)?)
}

/// Pause (`Running → Paused`), resume (`Paused → Running`) or cancel a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    Pause,
    Resume,
    Cancel,
}

pub fn campaign_action(
    repo: &dyn CampaignRepository,
    operator_id: &str,
    campaign_id: i64,
    action: CampaignAction,
    now: i64,
) -> Result<CampaignRecord, EimOrderError> {
    let current = repo.find_campaign(operator_id, campaign_id)?.ok_or(EimOrderError::NotFound("campaign"))?;
    let changed = match action {
        CampaignAction::Pause => {
            repo.set_campaign_state(operator_id, campaign_id, &[CampaignState::Running], CampaignState::Paused, now)?
        }
        CampaignAction::Resume => {
            repo.set_campaign_state(operator_id, campaign_id, &[CampaignState::Paused], CampaignState::Running, now)?
        }
        CampaignAction::Cancel => repo.cancel_campaign(operator_id, campaign_id, now)?,
    };
    changed.ok_or_else(|| EimOrderError::Conflict(format!("campaign {campaign_id} is {}", current.state)))
}

/// What one [`tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// (campaign id, orders released) for every campaign that released some.
    pub released: Vec<(i64, i64)>,
    /// Packages queued (first and later steps).
    pub queued: usize,
    /// Orders finished.
    pub finished: usize,
    pub campaigns_completed: usize,
    /// Running campaigns seen (releasing or waiting for their rate).
    pub campaigns_running: usize,
}

impl TickReport {
    /// Whether the round changed anything.
    pub fn did_something(&self) -> bool {
        !self.released.is_empty() || self.queued > 0 || self.finished > 0 || self.campaigns_completed > 0
    }
}

/// The orders job: release, queue, advance, complete. Errors of one order are logged and fail that order
/// when they are about its content; store errors end the tick.
pub fn tick<R>(repo: &R, ctx: &EimContext, now: i64) -> Result<TickReport, EimError>
where
    R: CampaignRepository + EimRepository + ?Sized,
{
    let mut report = TickReport { released: repo.release_campaigns(now)?, ..Default::default() };
    report.campaigns_running = report.released.len();
    report.released.retain(|(_, n)| *n > 0);
    let mut campaigns: HashMap<i64, CampaignState> = HashMap::new();
    for (order, package) in repo.orders_to_advance(TICK_BATCH)? {
        let step = advance(repo, ctx, &order, &package, &mut campaigns, now);
        count(&mut report, &order, step);
    }
    for order in repo.orders_to_queue(TICK_BATCH)? {
        let step = queue_step(repo, ctx, &order, order.current_step, now);
        count(&mut report, &order, step);
    }
    report.campaigns_completed = repo.complete_campaigns(now)?;
    Ok(report)
}

/// One order's move in the report; an error is logged and the order retried next tick (others go on).
fn count(report: &mut TickReport, order: &EimOrder, step: Result<Advanced, EimError>) {
    match step {
        Ok(Advanced::Queued) => report.queued += 1,
        Ok(Advanced::Finished) => report.finished += 1,
        Ok(Advanced::Lost) => {}
        Err(e) => tracing::warn!(order = order.id, error = %e, "eIM order not advanced; retried next tick"),
    }
}

enum Advanced {
    Queued,
    Finished,
    /// Another node changed the order first.
    Lost,
}

fn finish<R: EimOrderRepository + ?Sized>(
    repo: &R,
    order: &EimOrder,
    status: EimOrderStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<Advanced, EimError> {
    if repo.finish_order(order.id, order.version, status, reason, now)? {
        tracing::info!(order = order.id, eid = %pii(&order.eid), state = %status, reason = reason.unwrap_or(""), "eIM order finished");
        Ok(Advanced::Finished)
    } else {
        Ok(Advanced::Lost)
    }
}

/// The next move of a Running order whose current package is final.
fn advance<R>(
    repo: &R,
    ctx: &EimContext,
    order: &EimOrder,
    package: &PackageOrder,
    campaigns: &mut HashMap<i64, CampaignState>,
    now: i64,
) -> Result<Advanced, EimError>
where
    R: CampaignRepository + EimRepository + ?Sized,
{
    let kind = stored_steps(&order.intent)
        .ok()
        .and_then(|s| s.get(order.current_step as usize).map(|s| s.kind()))
        .unwrap_or("step");
    let step = order.current_step;
    let reason = |r: &str| format!("step {step} ({kind}): {r}");
    match package.state {
        PackageState::Succeeded if step + 1 < order.step_count => {
            if let Some(campaign_id) = order.campaign_id {
                let state = match campaigns.get(&campaign_id) {
                    Some(s) => *s,
                    None => {
                        let s = repo
                            .find_campaign(&order.operator_id, campaign_id)?
                            .map(|c| c.state)
                            .unwrap_or(CampaignState::Cancelled);
                        campaigns.insert(campaign_id, s);
                        s
                    }
                };
                if state == CampaignState::Cancelled {
                    let why = format!("campaign cancelled after step {step} ({kind})");
                    return finish(repo, order, EimOrderStatus::Cancelled, Some(&why), now);
                }
            }
            queue_step(repo, ctx, order, step + 1, now)
        }
        PackageState::Succeeded => finish(repo, order, EimOrderStatus::Succeeded, None, now),
        PackageState::Expired if package.failure_reason.as_deref() == Some(CANCELLED) => {
            finish(repo, order, EimOrderStatus::Cancelled, Some(&reason(CANCELLED)), now)
        }
        PackageState::Expired => {
            let r = reason(package.failure_reason.as_deref().unwrap_or("expired"));
            finish(repo, order, EimOrderStatus::Expired, Some(&r), now)
        }
        PackageState::Failed => {
            let r = reason(package.failure_reason.as_deref().unwrap_or("failed"));
            finish(repo, order, EimOrderStatus::Failed, Some(&r), now)
        }
        PackageState::Queued | PackageState::Dispatched => Ok(Advanced::Lost),
    }
}

/// Signs (or encodes) and queues the package of step `step_index`, linked to the order in one transaction.
fn queue_step<R>(repo: &R, ctx: &EimContext, order: &EimOrder, step_index: i64, now: i64) -> Result<Advanced, EimError>
where
    R: EimOrderRepository + EimRepository + ?Sized,
{
    let steps = match stored_steps(&order.intent) {
        Ok(s) => s,
        Err(e) => return finish(repo, order, EimOrderStatus::Failed, Some(&e), now),
    };
    let Some(step) = steps.get(step_index as usize) else {
        return finish(repo, order, EimOrderStatus::Failed, Some("the intent has fewer steps than stored"), now);
    };
    let Some(euicc) = repo.find_euicc(&order.eid)? else {
        return finish(repo, order, EimOrderStatus::Failed, Some("the eUICC is no longer registered"), now);
    };
    let mut eim_transaction_id = [0u8; 16];
    openssl::rand::rand_bytes(&mut eim_transaction_id)
        .map_err(|e| EimError::Encode { what: "eimTransactionId", reason: e.to_string() })?;
    let body = match step.body(&eim_transaction_id) {
        Ok(b) => b,
        Err(e) => return finish(repo, order, EimOrderStatus::Failed, Some(&e), now),
    };
    let key = EimContext::key(euicc.eim_key_curve);
    let mut build = |slot: &super::package::QueueSlot| match &body {
        PackageBody::Signed(package) => {
            sign_euicc_package(ctx.keys.as_ref(), &key, &euicc.eim_id, slot, package.clone())
        }
        PackageBody::Unsigned(der) => Ok(der.clone()),
    };
    let expires_at = now.saturating_add(i64::try_from(ctx.dispatch_timeout.as_millis()).unwrap_or(i64::MAX));
    match repo.queue_order_step(order, step_index, step.kind(), eim_transaction_id, expires_at, &mut build, now)? {
        Some(package_id) => {
            tracing::debug!(order = order.id, step = step_index, package = package_id, "eIM order step queued");
            Ok(Advanced::Queued)
        }
        None => Ok(Advanced::Lost),
    }
}

/// Queues the first step of a just-created order at once (the job would within a tick); a lost race or a
/// failure here is left to the job.
pub fn start_order<R>(repo: &R, ctx: &EimContext, order: &EimOrder, now: i64)
where
    R: EimOrderRepository + EimRepository + ?Sized,
{
    if order.status == EimOrderStatus::Running && order.current_package_id.is_none() {
        if let Err(e) = queue_step(repo, ctx, order, order.current_step, now) {
            tracing::warn!(order = order.id, error = %e, "eIM order: first step not queued yet; the job retries");
        }
    }
}

/// Advances the order whose current package is `package_id` at once, when a result for it was just recorded
/// (the job would within a tick): the IPA's next poll already finds the next step. A failure is logged and
/// left to the job.
pub fn advance_after_result<R>(repo: &R, ctx: &EimContext, package_id: i64, now: i64)
where
    R: CampaignRepository + EimRepository + ?Sized,
{
    let found = match repo.order_for_package(package_id) {
        Ok(Some((order, package))) if package.state.is_final() => Some((order, package)),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(package = package_id, error = %e, "eIM order not advanced yet; the job retries");
            None
        }
    };
    if let Some((order, package)) = found {
        let mut report = TickReport::default();
        let step = advance(repo, ctx, &order, &package, &mut HashMap::new(), now);
        count(&mut report, &order, step);
    }
}

/// The step kinds of a stored intent, for display.
pub fn step_kinds(order_intent: &str) -> Vec<&'static str> {
    stored_steps(order_intent).map(|s| s.iter().map(Step::kind).collect()).unwrap_or_default()
}
