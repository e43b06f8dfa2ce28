-- Secrets the server makes for itself and every node shares (e.g. the key of the opaque ids the operator API
-- shows in place of global sequence numbers). Generated on first use; one row per purpose.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY NOT NULL,
    secret BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
