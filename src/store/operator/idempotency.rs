//! `Idempotency-Key`s of the operator API (issue 10 item 7; the mechanism is [`crate::http::operator::idempotency`]): per
//! operator and key, the SHA-256 of the first request and, once it finished, its answer byte for byte
//! (`operator_idempotency`).
//!
//! Claiming inserts the row first (the primary key decides between racing copies on both backends); a row still
//! without an answer after `lease_ms` belongs to a request whose node died, and the next copy takes it over with a
//! compare-and-set on `created_at`. Old rows go with the retention job ([`crate::store::retention`]).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::fleet::{Claim, StoredAnswer};
use crate::smdp::RepoError;
use crate::store::connection::{dispatch, write_transaction};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::operator_idempotency as oi;
use crate::store::Store;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = oi)]
struct Row {
    request_digest: Vec<u8>,
    status: Option<i32>,
    content_type: Option<String>,
    response_body: Option<Vec<u8>>,
    created_at: i64,
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
}

impl Store {
    /// Claims `key` of `operator_id` for the request with `digest` at `now` (Unix ms).
    pub fn claim_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        now: i64,
        lease_ms: i64,
    ) -> Result<Claim, RepoError> {
        let inserted = self.write(|conn| {
            write_transaction!(conn, c => diesel::insert_into(oi::table)
                .values((
                    oi::operator_id.eq(operator_id),
                    oi::idempotency_key.eq(key),
                    oi::request_digest.eq(digest),
                    oi::created_at.eq(now),
                ))
                .execute(c))
        });
        match inserted {
            Ok(_) => return Ok(Claim::Run),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let mut conn = self.conn()?;
        let row: Option<Row> = dispatch!(&mut *conn, c => oi::table
            .find((operator_id, key))
            .select(Row::as_select())
            .first(c)
            .optional())
        .map_err(StoreError::from)?;
        drop(conn);
        // Deleted in between (retention, or the first request released it): the caller may simply retry.
        let Some(row) = row else { return Ok(Claim::InProgress) };
        if row.request_digest != digest {
            return Ok(Claim::Mismatch);
        }
        if let Some(status) = row.status {
            return Ok(Claim::Replay(StoredAnswer {
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.content_type,
                body: row.response_body.unwrap_or_default(),
            }));
        }
        if row.created_at > now - lease_ms {
            return Ok(Claim::InProgress);
        }
        let taken = self.write(|conn| {
            write_transaction!(conn, c => diesel::update(
                oi::table
                    .filter(oi::operator_id.eq(operator_id))
                    .filter(oi::idempotency_key.eq(key))
                    .filter(oi::status.is_null())
                    .filter(oi::created_at.eq(row.created_at)),
            )
            .set(oi::created_at.eq(now))
            .prepared().execute(c))
        })?;
        Ok(if taken == 1 { Claim::Run } else { Claim::InProgress })
    }

    /// Records the answer of the request that claimed `key` (a later copy of it gets this answer).
    pub fn finish_idempotency_key(
        &self,
        operator_id: &str,
        key: &str,
        digest: &[u8],
        answer: &StoredAnswer,
    ) -> Result<(), RepoError> {
        self.write(|conn| {
            write_transaction!(conn, c => diesel::update(
                oi::table
                    .filter(oi::operator_id.eq(operator_id))
                    .filter(oi::idempotency_key.eq(key))
                    .filter(oi::request_digest.eq(digest))
                    .filter(oi::status.is_null()),
            )
            .set((
                oi::status.eq(i32::from(answer.status)),
                oi::content_type.eq(answer.content_type.as_deref()),
                oi::response_body.eq(answer.body.as_slice()),
            ))
            .prepared().execute(c))
        })?;
        Ok(())
    }

    /// Forgets an unanswered claim (the request failed on our side: a retry runs it again).
    pub fn release_idempotency_key(&self, operator_id: &str, key: &str, digest: &[u8]) -> Result<(), RepoError> {
        self.write(|conn| {
            write_transaction!(conn, c => diesel::delete(
                oi::table
                    .filter(oi::operator_id.eq(operator_id))
                    .filter(oi::idempotency_key.eq(key))
                    .filter(oi::request_digest.eq(digest))
                    .filter(oi::status.is_null()),
            )
            .execute(c))
        })?;
        Ok(())
    }
}
