//! Prepared statements for the writes diesel will not cache on its own (issue 12: cost per download and poll).
//!
//! diesel's statement cache never keeps an `UPDATE` (its `SET` list may vary), an upsert's `DO UPDATE`, or an
//! `INSERT` with optional columns on PostgreSQL (`DEFAULT` per absent value): each call prepares the statement
//! again — on SQLite a full parse and plan, measured at 12 % of the server's CPU over downloads and eIM packages.
//! Every such statement in this store has a fixed shape (the same columns whatever the values), so it can be
//! kept: [`Prepared`] marks a statement safe to cache, and the cache then keys it by its SQL text and bind types
//! (`QueryId::HAS_STATIC_QUERY_ID` is false), so two different statements never share an entry.
//!
//! Use it only where the SQL text comes from a bounded set of shapes: not for multi-row inserts of a variable row
//! count or `IN` lists of variable length, which would fill the cache with one entry per length.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// A statement of fixed shape whose prepared form the connection keeps ([module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // Keyed by SQL text, never by type: the wrapped statement's SQL may depend on its values' presence.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> diesel::RunQueryDsl<Conn> for Prepared<Q> {}

/// `.prepared()` on any statement of fixed shape.
pub trait PreparedExt: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<T> PreparedExt for T {}
