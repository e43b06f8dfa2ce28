//! The audit trail in the store (see [`crate::audit`]): appending operator calls, reading the operator-scoped
//! trail (fleet API, SSE events) and walking the whole chain for `rspd audit verify`.
//!
//! An append is a plain INSERT (a state change appends by itself, through the triggers of migration `…_audit`);
//! the row arrives unsealed (`seq`, `prev_hash`, `hash` NULL, identifiers already digested). [`Store::seal_audit_trail`]
//! chains the committed unsealed rows in id order under the `audit_head` row lock and moves the head once per batch
//! (migration `…_audit_sealing`): audited writes no longer wait for each other on one row, and `seq` order is the
//! order of sealing, so a reader tailing by `seq` never skips a row sealed later. Every reader here seals first;
//! the job `jobs::audit_sealer` seals shortly after each write.

use diesel::prelude::*;

use crate::audit::AuditQuery;
use crate::audit::{
    chain_hash, identifier_digest, AuditKind, AuditRecord, ChainBreak, ChainHead, ChainVerifier, NewCall,
    IDENTIFIER_KEY_NAME,
};
use crate::store::connection::{dispatch, write_transaction, DbConnection};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{audit_head as ah, audit_identifiers as ai, audit_log as al};
use crate::store::Store;

/// A row of `audit_identifiers`: the clear identifiers of one audit row (NULL once erased).
type IdentifierRow = (i64, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

/// Rows per IN list (SQLite's variable limit).
const CHUNK: usize = 500;

/// Rows chained per sealing transaction.
const SEAL_BATCH: i64 = 1000;

/// The head row as the sealer locks it.
#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}

/// An `audit_log` row as stored (chain columns are NULL until the row is sealed).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = al)]
struct AuditRow {
    id: i64,
    seq: Option<i64>,
    at_ms: i64,
    kind: String,
    operator_id: Option<String>,
    actor_subject: Option<String>,
    actor_fingerprint: Option<String>,
    peer: Option<String>,
    method: Option<String>,
    path: Option<String>,
    status: Option<i64>,
    outcome: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    iccid: Option<String>,
    eid: Option<String>,
    matching_id: Option<String>,
    from_state: Option<String>,
    to_state: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl AuditRow {
    /// The row id (what `audit_identifiers` is keyed by) and the record.
    fn into_keyed(self) -> (i64, AuditRecord) {
        (self.id, self.into_record())
    }

    /// The record as it will be chained at position `seq` after `prev_hash`.
    fn record_at(&self, seq: i64, prev_hash: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at_ms: self.at_ms,
            kind: self.kind.clone(),
            operator_id: self.operator_id.clone(),
            actor_subject: self.actor_subject.clone(),
            actor_fingerprint: self.actor_fingerprint.clone(),
            peer: self.peer.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            outcome: self.outcome.clone(),
            target_kind: self.target_kind.clone(),
            target_id: self.target_id.clone(),
            iccid: self.iccid.clone(),
            eid: self.eid.clone(),
            matching_id: self.matching_id.clone(),
            from_state: self.from_state.clone(),
            to_state: self.to_state.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        }
    }

    fn into_record(self) -> AuditRecord {
        let mut record = self.record_at(self.seq.unwrap_or(0), self.prev_hash.as_deref().unwrap_or_default());
        record.hash = self.hash.unwrap_or_default();
        record
    }
}

/// The chain columns a sealer writes into one row.
struct Link {
    id: i64,
    seq: i64,
    prev_hash: String,
    hash: String,
}

/// Chains `rows` (unsealed, in id order) after `head`: each row's link, and the new head (`None` for no rows).
fn chain(head: HeadRow, rows: &[AuditRow]) -> (Vec<Link>, Option<(i64, String)>) {
    let (mut seq, mut prev) = (head.seq, head.hash);
    let mut links = Vec::with_capacity(rows.len());
    for row in rows {
        seq += 1;
        let hash = chain_hash(&prev, &row.record_at(seq, &prev));
        links.push(Link { id: row.id, seq, prev_hash: std::mem::replace(&mut prev, hash.clone()), hash });
    }
    let last = links.last().map(|l| (l.seq, l.hash.clone()));
    (links, last)
}

/// Why `rspd audit verify` failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditVerifyError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("audit chain broken after {checked} good row(s): {reason}")]
    Broken { checked: i64, reason: ChainBreak },
}

/// Rows read per batch by [`Store::verify_audit_chain`].
const VERIFY_BATCH: i64 = 1000;

impl Store {
    /// Appends an operator-listener call to the audit trail (its own short transaction).
    pub fn append_call(&self, call: &NewCall) -> Result<(), StoreError> {
        let status = i64::from(call.status);
        self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(al::table)
                .values((
                    al::at_ms.eq(call.at_ms),
                    al::kind.eq(AuditKind::Call.as_str()),
                    al::operator_id.eq(&call.operator_id),
                    al::actor_subject.eq(&call.actor_subject),
                    al::actor_fingerprint.eq(&call.actor_fingerprint),
                    al::peer.eq(&call.peer),
                    al::method.eq(&call.method),
                    al::path.eq(&call.path),
                    al::path_detail.eq(&call.path_detail),
                    al::status.eq(status),
                    al::outcome.eq(&call.outcome),
                    al::iccid.eq(&call.iccid),
                    al::eid.eq(&call.eid),
                    al::matching_id.eq(&call.matching_id),
                ))
                .execute(c))
        })?;
        Ok(())
    }

    /// Puts the clear identifiers back into rows read from the chain (which holds their digests): a row with an
    /// `audit_identifiers` entry shows its values (NULL once erased); older rows hold clear values themselves.
    fn with_identifiers(&self, keyed: Vec<(i64, AuditRecord)>) -> Result<Vec<AuditRecord>, StoreError> {
        let ids: Vec<i64> = keyed.iter().map(|(id, _)| *id).collect();
        let mut conn = self.conn()?;
        let mut found = std::collections::HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let rows: Vec<IdentifierRow> = dispatch!(&mut *conn, c => ai::table
                .filter(ai::log_id.eq_any(chunk))
                .select((ai::log_id, ai::iccid, ai::eid, ai::matching_id, ai::target_id, ai::path))
                .load(c))?;
            found.extend(rows.into_iter().map(|r| (r.0, r)));
        }
        let mut records = Vec::with_capacity(keyed.len());
        for (id, mut record) in keyed {
            if let Some((_, iccid, eid, matching_id, target_id, path)) = found.remove(&id) {
                record.iccid = iccid;
                record.eid = eid;
                record.matching_id = matching_id;
                if record.target_kind.as_deref() == Some("profile") {
                    record.target_id = target_id;
                }
                if let Some(path) = path {
                    record.path = Some(path);
                }
            }
            records.push(record);
        }
        Ok(records)
    }

    /// The digest the chain holds for `value`.
    fn audit_digest(&self, value: &str) -> Result<String, StoreError> {
        Ok(identifier_digest(&self.server_key(IDENTIFIER_KEY_NAME)?, value))
    }

    /// Erases the clear identifiers of `operator`'s audit rows (every operator's with `None`) that name `value` as
    /// ICCID, EID or matchingId (GDPR): the rows, their digests and the hash chain stay, so `rspd audit verify`
    /// still holds; the value can no longer be read back. Rows written before identifiers were digested hold
    /// clear values inside the chain and are not erasable. Returns how many rows were erased.
    pub fn erase_audit_identifier(
        &self,
        operator: Option<&str>,
        value: &str,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let digest = self.audit_digest(value)?;
        self.seal_audit_trail()?;
        self.write(|conn| {
            write_transaction!(conn, c => {
                let mut naming = al::table
                    .filter(al::iccid.eq(&digest).or(al::eid.eq(&digest)).or(al::matching_id.eq(&digest))
                        .or(al::target_kind.eq("profile").and(al::target_id.eq(&digest))))
                    .select(al::id)
                    .into_boxed();
                if let Some(op) = operator {
                    naming = naming.filter(al::operator_id.eq(op));
                }
                let ids: Vec<i64> = naming.load(c)?;
                let mut erased = 0;
                for chunk in ids.chunks(CHUNK) {
                    erased += diesel::update(ai::table.filter(ai::log_id.eq_any(chunk)).filter(ai::erased_at.is_null()))
                        .set((
                            ai::iccid.eq(None::<String>),
                            ai::eid.eq(None::<String>),
                            ai::matching_id.eq(None::<String>),
                            ai::target_id.eq(None::<String>),
                            ai::path.eq(None::<String>),
                            ai::erased_at.eq(now_ms),
                        ))
                        .execute(c)?;
                }
                Ok::<_, diesel::result::Error>(erased)
            })
        })
    }

    /// One operator's audit rows matching `q`, oldest first, at most `q.limit`.
    pub fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let digest = q.target.as_deref().map(|t| self.audit_digest(t)).transpose()?;
        self.seal_audit_trail()?;
        let mut conn = self.conn()?;
        let rows = dispatch!(&mut *conn, c => {
            let mut query =
                al::table.filter(al::operator_id.eq(&q.operator_id)).filter(al::seq.is_not_null()).into_boxed();
            if let Some(kind) = q.kind {
                query = query.filter(al::kind.eq(kind.as_str()));
            }
            if let Some(from) = q.from_ms {
                query = query.filter(al::at_ms.ge(from));
            }
            if let Some(to) = q.to_ms {
                query = query.filter(al::at_ms.lt(to));
            }
            if let Some(actor) = &q.actor {
                query = query.filter(al::actor_subject.eq(actor).or(al::actor_fingerprint.eq(actor)));
            }
            if let (Some(t), Some(d)) = (&q.target, &digest) {
                // Clear (rows from before the digests, and non-identifier target ids) or digest.
                query = query.filter(
                    al::iccid.eq_any([t, d]).or(al::eid.eq_any([t, d])).or(al::matching_id.eq_any([t, d]))
                        .or(al::target_id.eq_any([t, d])),
                );
            }
            if let Some(kind) = &q.target_kind {
                query = query.filter(al::target_kind.eq(kind));
            }
            if let Some(after) = q.after_seq {
                query = query.filter(al::seq.gt(after));
            }
            query.order(al::seq).limit(q.limit).select(AuditRow::as_select()).load(c)
        })?;
        drop(conn);
        self.with_identifiers(rows.into_iter().map(AuditRow::into_keyed).collect())
    }

    /// Every operator's rows (refused calls and eIM package transitions, which have no operator, included) with
    /// `seq > after`, oldest first, with their clear identifiers: for the administrator's `rspd audit list`, never
    /// for an operator.
    pub fn audit_rows_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self.chain_rows_after(after, limit)?;
        self.with_identifiers(rows.into_iter().map(AuditRow::into_keyed).collect())
    }

    /// As [`Store::audit_rows_after`], the rows exactly as the chain holds and hashes them (identifiers as keyed
    /// digests since the migration `…_audit_identifiers`).
    pub fn audit_chain_rows_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.chain_rows_after(after, limit)?.into_iter().map(AuditRow::into_record).collect())
    }

    /// Sealed rows with `seq > after`, oldest first (everything committed so far sealed first).
    fn chain_rows_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        self.seal_audit_trail()?;
        let mut conn = self.conn()?;
        Ok(dispatch!(&mut *conn, c => al::table
            .filter(al::seq.gt(after))
            .order(al::seq)
            .limit(limit)
            .select(AuditRow::as_select())
            .load(c))?)
    }

    /// The chain head: the last appended seq and its hash (everything committed so far sealed first).
    pub fn audit_head(&self) -> Result<ChainHead, StoreError> {
        self.seal_audit_trail()?;
        let mut conn = self.conn()?;
        let (seq, hash) =
            dispatch!(&mut *conn, c => ah::table.find(1).select((ah::seq, ah::hash)).first::<(i64, String)>(c))?;
        Ok(ChainHead { seq, hash })
    }

    /// Chains every audit row committed so far and not yet chained (see the module docs); returns how many.
    /// Cheap when there is nothing to seal (one indexed read, no write lock). Safe on several nodes at once: the
    /// head row lock orders them, and each chains only what the one before left.
    pub fn seal_audit_trail(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let sealed = self.seal_audit_batch(SEAL_BATCH)?;
            total += sealed;
            if i64::try_from(sealed).unwrap_or(i64::MAX) < SEAL_BATCH {
                return Ok(total);
            }
        }
    }

    /// One sealing transaction: up to `limit` unsealed rows, in id order, after the head.
    fn seal_audit_batch(&self, limit: i64) -> Result<usize, StoreError> {
        let mut conn = self.pooled()?;
        let pending = dispatch!(&mut *conn, c => al::table
            .filter(al::seq.is_null())
            .select(al::id)
            .order(al::id)
            .first::<i64>(c)
            .optional())?;
        if pending.is_none() {
            return Ok(0);
        }
        // Lock the head, then read: on PostgreSQL a sealer that held the lock before us has committed, and the
        // read (a new statement) sees what it sealed.
        macro_rules! lock_and_read {
            ($c:expr, $lock:expr) => {{
                let head: HeadRow = diesel::sql_query($lock).get_result($c)?;
                let rows: Vec<AuditRow> = al::table
                    .filter(al::seq.is_null())
                    .order(al::id)
                    .limit(limit)
                    .select(AuditRow::as_select())
                    .load($c)?;
                (head, rows)
            }};
        }
        let sealed = match &mut *conn {
            DbConnection::Pg(pg) => pg.build_transaction().read_write().run(|c| {
                let (head, rows) = lock_and_read!(c, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE");
                let (links, last) = chain(head, &rows);
                if let Some((seq, hash)) = &last {
                    // One statement for the batch (one round trip, not one per row).
                    use diesel::sql_types::{Array, BigInt, Text};
                    diesel::sql_query(
                        "UPDATE audit_log AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash \
                         FROM unnest($1, $2, $3, $4) AS v(id, seq, prev_hash, hash) WHERE a.id = v.id",
                    )
                    .bind::<Array<BigInt>, _>(links.iter().map(|l| l.id).collect::<Vec<_>>())
                    .bind::<Array<BigInt>, _>(links.iter().map(|l| l.seq).collect::<Vec<_>>())
                    .bind::<Array<Text>, _>(links.iter().map(|l| l.prev_hash.as_str()).collect::<Vec<_>>())
                    .bind::<Array<Text>, _>(links.iter().map(|l| l.hash.as_str()).collect::<Vec<_>>())
                    .execute(c)?;
                    diesel::update(ah::table.find(1))
                        .set((ah::seq.eq(seq), ah::hash.eq(hash)))
                        .prepared()
                        .execute(c)?;
                }
                Ok::<_, diesel::result::Error>(links.len())
            }),
            DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                let (head, rows) = lock_and_read!(c, "SELECT seq, hash FROM audit_head WHERE id = 1");
                let (links, last) = chain(head, &rows);
                for l in &links {
                    diesel::update(al::table.find(l.id))
                        .set((al::seq.eq(l.seq), al::prev_hash.eq(&l.prev_hash), al::hash.eq(&l.hash)))
                        .prepared()
                        .execute(c)?;
                }
                if let Some((seq, hash)) = &last {
                    diesel::update(ah::table.find(1))
                        .set((ah::seq.eq(seq), ah::hash.eq(hash)))
                        .prepared()
                        .execute(c)?;
                }
                Ok::<_, diesel::result::Error>(links.len())
            }),
        };
        Ok(sealed?)
    }

    /// Walks the whole chain in seq order and checks every row and the head; the number of rows on success.
    pub fn verify_audit_chain(&self) -> Result<i64, AuditVerifyError> {
        self.seal_audit_trail()?;
        let mut conn = self.conn()?;
        // Unsealed rows (all three chain columns NULL) are waiting for the sealer; a row with only some of them is
        // not something rspd writes.
        let unchained = dispatch!(&mut *conn, c => al::table
            .filter(al::seq.is_null().or(al::hash.is_null()).or(al::prev_hash.is_null()))
            .filter(al::seq.is_not_null().or(al::hash.is_not_null()).or(al::prev_hash.is_not_null()))
            .select(al::id)
            .order(al::id)
            .first::<i64>(c)
            .optional())
        .map_err(StoreError::from)?;
        let mut verifier = ChainVerifier::default();
        let broken = |v: &ChainVerifier, reason| AuditVerifyError::Broken { checked: v.rows(), reason };
        if let Some(id) = unchained {
            return Err(broken(&verifier, ChainBreak::Unchained { id }));
        }
        // The head first: rows appended while we walk are not expected to match it.
        let head = {
            let (seq, hash) =
                dispatch!(&mut *conn, c => ah::table.find(1).select((ah::seq, ah::hash)).first::<(i64, String)>(c))
                    .map_err(StoreError::from)?;
            ChainHead { seq, hash }
        };
        let mut after = 0i64;
        loop {
            let rows = dispatch!(&mut *conn, c => al::table
                .filter(al::seq.gt(after))
                .filter(al::seq.le(head.seq))
                .order(al::seq)
                .limit(VERIFY_BATCH)
                .select(AuditRow::as_select())
                .load(c))
            .map_err(StoreError::from)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let record = row.into_record();
                verifier.push(&record).map_err(|reason| broken(&verifier, reason))?;
                after = record.seq;
            }
        }
        verifier.finish(&head).map_err(|reason| broken(&verifier, reason))?;
        Ok(verifier.rows())
    }
}
