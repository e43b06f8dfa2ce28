DROP INDEX profiles_pool_idx;
DROP TABLE profiles;
