//! Audit trail (NIS2-style "who did what, when, from where"; issue 5 item 7): the record types, the canonical
//! row text and the hash chain, and the chain check behind `rspd audit verify`. No SQL and no HTTP here.
//!
//! Two kinds of rows share one chain, in append order (`seq` 1, 2, …):
//! - [`AuditKind::Call`]: one per request on the operator listener (ES2+, SGP.22 v2.5 §5.3, and the fleet API),
//!   refusals (no certificate, unmapped certificate) included; appended by the operator listener's middleware
//!   (`http::operator`) through [`crate::store::Store::append_call`]. Request bodies are never stored.
//! - [`AuditKind::State`]: one per state change of a profile, order, download session (SGP.22 v2.5 §3.1) or eIM
//!   package (SGP.32 v1.2 §2.11.2.1). The database writes these itself (triggers of migration `…_audit`) in the
//!   transaction that changes the state, so every code path is covered without calling anything.
//!
//! Each row stores `prev_hash` and `hash = SHA-256(prev_hash || '|' || canonical_text(row))` in lower-case hex;
//! the first row's `prev_hash` is [`GENESIS_HASH`]. A row is written unsealed and chained afterwards, in batches,
//! by the store's sealer (`Store::seal_audit_trail`, under the head row lock: audited writes never wait for each
//! other on the head; readers seal first, so they see every row committed before they asked); [`chain_hash`] is
//! what it writes and [`verify_chain`] recomputes, naming the first row that does not fit. Triggers refuse
//! UPDATE/DELETE/TRUNCATE of sealed rows and any head move other than forward onto the last sealed row.
//!
//! How other code appends:
//! - a state change needs nothing: update the state column of `profiles`, `download_sessions` or `eim_packages`
//!   (or insert into them or into `orders`) and the row is written in that transaction, chained soon after. A NEW table with a state
//!   column gets the same with an `AFTER INSERT OR UPDATE OF state` trigger in its migration (copy the pattern of
//!   `…_audit/up.sql`, both backends) — that is all;
//! - any other event: `Store::append_call(&NewCall { … })` (one short transaction), or a plain
//!   `INSERT INTO audit_log (at_ms, kind, …)` inside your own transaction;
//! - a SQLite connection opened outside the store's pool must call `store::register_sqlite_functions` before it
//!   changes a state column (the trigger needs `rspd_sha256_hex`).

mod verify;

pub use verify::{verify_chain, ChainBreak, ChainHead, ChainVerifier};

/// A query on one operator's audit trail (every field optional except the operator).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub operator_id: String,
    pub kind: Option<AuditKind>,
    /// `at_ms` ≥ `from_ms` and < `to_ms`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Client certificate subject or fingerprint.
    pub actor: Option<String>,
    /// ICCID, EID, matchingId or target id (transactionId, order id).
    pub target: Option<String>,
    /// Only rows of this target kind (`profile`, `order`, `download_session`).
    pub target_kind: Option<String>,
    /// Only rows with `seq` > this (cursor / Last-Event-ID).
    pub after_seq: Option<i64>,
    pub limit: i64,
}

/// `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A request on the operator listener.
    Call,
    /// A state transition (profile, order, download session, eIM package).
    State,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Call => "call",
            AuditKind::State => "state",
        }
    }
}

/// A new operator-listener call to record (the chain fields are filled in by the store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCall {
    pub at_ms: i64,
    /// The operator the client certificate maps to; `None` for a refused call.
    pub operator_id: Option<String>,
    /// Client certificate subject and SHA-256 fingerprint (hex), when a certificate was presented.
    pub actor_subject: Option<String>,
    pub actor_fingerprint: Option<String>,
    /// Peer socket address.
    pub peer: Option<String>,
    pub method: String,
    /// The route pattern (`/api/v1/profiles/{iccid}`), or the path when no route matched (no query string: it may
    /// carry filters, never secrets, but stays out to keep rows small).
    pub path: String,
    /// The request path as received when it differs from `path` (it names an ICCID or EID): kept outside the hash
    /// chain, erasable.
    pub path_detail: Option<String>,
    pub status: u16,
    /// ES2+/ESipa `functionExecutionStatus.status` of a JSON answer (`Executed-Success`, `Failed`, …), or a
    /// refusal reason.
    pub outcome: Option<String>,
    /// Identifiers the call was about, when known (path parameters or top-level body fields).
    pub iccid: Option<String>,
    pub eid: Option<String>,
    pub matching_id: Option<String>,
}

/// Name of the key in `server_keys` under which the chain digests identifiers (made by the migration
/// `…_audit_identifiers`).
pub const IDENTIFIER_KEY_NAME: &str = "audit_identifiers";

/// The digest the chain stores for a subscriber identifier (ICCID, EID, matchingId) since the migration
/// `…_audit_identifiers`: SHA-256 hex of (lower-case hex of `key` ‖ `value`). The database's chain trigger computes
/// the same; this one finds rows by identifier.
pub fn identifier_digest(key: &[u8; 32], value: &str) -> String {
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(hex::encode(key).as_bytes());
    hasher.update(value.as_bytes());
    hex::encode(hasher.finish())
}

/// One stored audit row, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub operator_id: Option<String>,
    pub actor_subject: Option<String>,
    pub actor_fingerprint: Option<String>,
    pub peer: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<i64>,
    pub outcome: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub iccid: Option<String>,
    pub eid: Option<String>,
    pub matching_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// One field of the canonical text: `<character count>:<value>`, or `~` for NULL.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => {
            out.push_str(&v.chars().count().to_string());
            out.push(':');
            out.push_str(v);
        }
        None => out.push('~'),
    }
}

/// The canonical text of a row: its fields in column order, each as [`field`] writes it, joined by `|`.
/// The same function is written in SQL in both `…_audit/up.sql` migrations.
pub fn canonical_text(r: &AuditRecord) -> String {
    let seq = r.seq.to_string();
    let at = r.at_ms.to_string();
    let status = r.status.map(|s| s.to_string());
    let fields: [Option<&str>; 18] = [
        Some(&seq),
        Some(&at),
        Some(&r.kind),
        r.operator_id.as_deref(),
        r.actor_subject.as_deref(),
        r.actor_fingerprint.as_deref(),
        r.peer.as_deref(),
        r.method.as_deref(),
        r.path.as_deref(),
        status.as_deref(),
        r.outcome.as_deref(),
        r.target_kind.as_deref(),
        r.target_id.as_deref(),
        r.iccid.as_deref(),
        r.eid.as_deref(),
        r.matching_id.as_deref(),
        r.from_state.as_deref(),
        r.to_state.as_deref(),
    ];
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        field(&mut out, *f);
    }
    out
}

/// `hash` of a row whose predecessor's hash is `prev_hash`.
pub fn chain_hash(prev_hash: &str, r: &AuditRecord) -> String {
    let text = format!("{prev_hash}|{}", canonical_text(r));
    hex::encode(openssl::sha::sha256(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(seq: i64, prev: &str) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            kind: "state".into(),
            operator_id: Some("acme".into()),
            actor_subject: None,
            actor_fingerprint: None,
            peer: None,
            method: None,
            path: None,
            status: None,
            outcome: None,
            target_kind: Some("profile".into()),
            target_id: Some("8949".into()),
            iccid: Some("8949".into()),
            eid: None,
            matching_id: None,
            from_state: Some("available".into()),
            to_state: Some("allocated".into()),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        r.hash = chain_hash(prev, &r);
        r
    }

    #[test]
    fn canonical_text_separates_null_empty_and_pipes() {
        let mut a = row(1, GENESIS_HASH);
        a.eid = Some(String::new());
        let mut b = a.clone();
        b.eid = None;
        assert_ne!(canonical_text(&a), canonical_text(&b));
        // A value containing the separator cannot imitate two fields.
        let mut c = a.clone();
        c.peer = Some("x|1:y".into());
        assert!(canonical_text(&c).contains("|5:x|1:y|"));
        assert!(canonical_text(&a).starts_with("1:1|13:1700000000001|5:state|4:acme|~|"));
    }

    #[test]
    fn known_answer_matches_the_sql_definition() {
        // Computed by the SQLite trigger of the audit migration for this row (see tests/it/audit_chain.rs, which
        // checks every row the databases chain).
        let r = row(1, GENESIS_HASH);
        assert_eq!(r.hash, chain_hash(GENESIS_HASH, &r));
        assert_eq!(r.hash.len(), 64);
    }
}
