CREATE INDEX profiles_pool_idx ON profiles (operator_id, profile_type, state);
DROP INDEX profiles_claim_idx;
