-- The audit chain head advanced in batches (issue 12 item 3): until now every audited write — any state change of
-- a profile, order, session or eIM package, and every operator call — locked the one `audit_head` row until its
-- transaction committed, so all audited writes of the whole cluster ran one after another, and a transaction that
-- audited many rows (an all-or-nothing personalization batch) updated that row once per row (quadratic: every
-- update leaves a row version the next one walks past).
--
-- Now an audited write only INSERTs its row (identifiers digested as before, by the trigger below); `seq`,
-- `prev_hash` and `hash` stay NULL. The sealer (rspd::store, `Store::seal_audit_trail`) takes the head row lock,
-- numbers the committed unsealed rows in id order, hashes them (rspd::audit::chain_hash, the same canonical text as
-- before) and moves the head once per batch. Readers of the trail seal first, and a background job seals shortly
-- after each write, so a reader sees every row that had committed when it asked. Sealed rows stay append-only;
-- an unsealed row may only be sealed.

-- The clear identifiers are keyed by the row (its id) instead of its seq, which is now given later.
CREATE TABLE audit_identifiers_by_row (
    log_id       BIGINT PRIMARY KEY NOT NULL,
    iccid        TEXT NULL,
    eid          TEXT NULL,
    matching_id  TEXT NULL,
    target_id    TEXT NULL,
    path         TEXT NULL,
    erased_at    BIGINT NULL
);
INSERT INTO audit_identifiers_by_row (log_id, iccid, eid, matching_id, target_id, path, erased_at)
    SELECT l.id, i.iccid, i.eid, i.matching_id, i.target_id, i.path, i.erased_at
      FROM audit_identifiers i JOIN audit_log l ON l.seq = i.seq;
DROP TABLE audit_identifiers;
ALTER TABLE audit_identifiers_by_row RENAME TO audit_identifiers;

-- The insert trigger digests identifiers (they never sit in clear in audit_log) and no longer chains.
CREATE OR REPLACE FUNCTION rspd_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key_hex   TEXT;
    profile_target TEXT;
BEGIN
    NEW.seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    profile_target := CASE WHEN NEW.target_kind = 'profile' THEN NEW.target_id END;
    IF NEW.iccid IS NOT NULL OR NEW.eid IS NOT NULL OR NEW.matching_id IS NOT NULL OR NEW.path_detail IS NOT NULL
       OR profile_target IS NOT NULL THEN
        SELECT encode(secret, 'hex') INTO key_hex FROM server_keys WHERE name = 'audit_identifiers';
        INSERT INTO audit_identifiers (log_id, iccid, eid, matching_id, target_id, path)
            VALUES (NEW.id, NEW.iccid, NEW.eid, NEW.matching_id, profile_target, NEW.path_detail);
        NEW.iccid := rspd_identifier_digest(key_hex, NEW.iccid);
        NEW.eid := rspd_identifier_digest(key_hex, NEW.eid);
        NEW.matching_id := rspd_identifier_digest(key_hex, NEW.matching_id);
        IF profile_target IS NOT NULL THEN
            NEW.target_id := rspd_identifier_digest(key_hex, profile_target);
        END IF;
        NEW.path_detail := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- Sealed rows are append-only; an unsealed row may be given its seq, prev_hash and hash (nothing else) once. The
-- head moves forward only, and only onto a sealed row's seq and hash (the last one).
CREATE OR REPLACE FUNCTION rspd_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (Nested IFs: a record's fields are resolved only for the table that has them.)
    IF TG_TABLE_NAME = 'audit_log' AND TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL AND OLD.seq IS NULL
           AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
           AND NEW.id = OLD.id AND NEW.at_ms = OLD.at_ms AND NEW.kind = OLD.kind
           AND NEW.operator_id IS NOT DISTINCT FROM OLD.operator_id
           AND NEW.actor_subject IS NOT DISTINCT FROM OLD.actor_subject
           AND NEW.actor_fingerprint IS NOT DISTINCT FROM OLD.actor_fingerprint
           AND NEW.peer IS NOT DISTINCT FROM OLD.peer
           AND NEW.method IS NOT DISTINCT FROM OLD.method
           AND NEW.path IS NOT DISTINCT FROM OLD.path
           AND NEW.status IS NOT DISTINCT FROM OLD.status
           AND NEW.outcome IS NOT DISTINCT FROM OLD.outcome
           AND NEW.target_kind IS NOT DISTINCT FROM OLD.target_kind
           AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id
           AND NEW.iccid IS NOT DISTINCT FROM OLD.iccid
           AND NEW.eid IS NOT DISTINCT FROM OLD.eid
           AND NEW.matching_id IS NOT DISTINCT FROM OLD.matching_id
           AND NEW.from_state IS NOT DISTINCT FROM OLD.from_state
           AND NEW.to_state IS NOT DISTINCT FROM OLD.to_state
           AND NEW.path_detail IS NOT DISTINCT FROM OLD.path_detail THEN
            RETURN NEW;
        END IF;
    ELSIF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.seq > OLD.seq
           AND EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
           AND NOT EXISTS (SELECT 1 FROM audit_log WHERE seq > NEW.seq) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

-- What the sealer reads: the rows still to chain, in id order.
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE seq IS NULL;
