-- ES2+ DownloadOrder by profileType (SGP.22 v2.5 §5.3.1) claims the oldest Available profile of an operator's type:
-- WHERE operator_id, profile_type, state ORDER BY id LIMIT 1 (FOR UPDATE SKIP LOCKED on PostgreSQL). With id in
-- the index the claim reads the first matching entry instead of sorting every Available profile of the type. The
-- old index is a prefix of this one (stock counts use it the same way).
CREATE INDEX profiles_claim_idx ON profiles (operator_id, profile_type, state, id);
DROP INDEX profiles_pool_idx;
