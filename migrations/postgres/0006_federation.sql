-- Federation state for operators and replicas (PostgreSQL). Keep in step with
-- migrations/sqlite/0006_federation.sql: same tables, same columns, same meaning.

-- When the peer last reached us or answered us (Unix ms); NULL: never since it was recorded.
ALTER TABLE peers ADD COLUMN last_contact_at BIGINT;

-- A group's current fault, if any: NULL (its log is consistent), 'forked' (the home signed two
-- different events at one seq) or 'diverged' (the home signed an event the rules forbid, which
-- this replica refused). Set together with the evidence in group_faults; never guessed.
ALTER TABLE groups ADD COLUMN fault TEXT CHECK (fault IN ('forked', 'diverged'));
-- "Which groups are faulty": a handful of rows at most, so only they are indexed.
CREATE INDEX groups_faulty ON groups (fault) WHERE fault IS NOT NULL;

-- Evidence of each fault, kept for the operator. held_raw is the event this node holds at seq
-- (NULL when it holds none, e.g. a refused next event); offending_raw is the conflicting or
-- refused one, exactly as received. offending_sha256 (hex) makes recording the same evidence
-- twice a no-op without indexing the bytes themselves.
CREATE TABLE group_faults (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id          TEXT   NOT NULL,
    seq               BIGINT NOT NULL CHECK (seq >= 1),
    kind              TEXT   NOT NULL CHECK (kind IN ('forked', 'diverged')),
    reason            TEXT   NOT NULL,
    held_raw          BYTEA,
    offending_raw     BYTEA  NOT NULL,
    offending_sha256  TEXT   NOT NULL CHECK (length(offending_sha256) = 64),
    at                BIGINT NOT NULL,
    UNIQUE (group_id, seq, kind, offending_sha256)
);
CREATE INDEX group_faults_at ON group_faults (at, id);
