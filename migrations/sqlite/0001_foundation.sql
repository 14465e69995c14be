-- Foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql:
-- same tables, same columns, same meaning. Times are Unix milliseconds (INTEGER); identifiers
-- are stored in their canonical text form and parsed again on read.

-- The node this database belongs to: a single row, written on first start and compared on
-- every later start so one database is never served under two identities.
CREATE TABLE node_identity (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    name        TEXT    NOT NULL,
    public_key  BLOB    NOT NULL CHECK (length(public_key) = 32),
    created_at  INTEGER NOT NULL
) STRICT;

-- One row per group whose log this node holds (as home node or replica). last_seq and
-- last_event_id are the head of the log; 0 / NULL means "known, but no event stored yet"
-- (a replica may learn of a group before backfilling it).
CREATE TABLE groups (
    id             TEXT    PRIMARY KEY NOT NULL,
    home_node      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_seq       INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_event_id  TEXT
) STRICT;

-- The group log. raw is the COSE_Sign1 exactly as signed, so the event stays verifiable at
-- rest; the other columns are the envelope fields needed to query without decoding it.
-- The (group_id, seq) primary key is the index every history read walks.
CREATE TABLE events (
    group_id  TEXT    NOT NULL REFERENCES groups (id),
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    event_id  TEXT    NOT NULL UNIQUE,
    prev_id   TEXT,
    ts        INTEGER NOT NULL,
    sender    TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    raw       BLOB    NOT NULL,
    PRIMARY KEY (group_id, seq)
) STRICT;

-- Durable federation outbox: one row per (destination node, event), written in the same
-- transaction as the event. AUTOINCREMENT so ids are never reused after deletes: the id is
-- the delivery order.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    destination      TEXT    NOT NULL,
    group_id         TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    event_id         TEXT    NOT NULL REFERENCES events (event_id),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (destination, event_id)
) STRICT;

-- "Due rows for this destination, in delivery order": walk (destination, id); next_attempt_at
-- is in the index so the time filter never touches the table.
CREATE INDEX outbox_destination_id ON outbox (destination, id, next_attempt_at);
-- "Does this destination have anything due": one seek per destination.
CREATE INDEX outbox_destination_due ON outbox (destination, next_attempt_at);

-- Other nodes we federate with: the key published for the name (fetched from
-- /.well-known/winichat/node) and the link's reconnect backoff.
CREATE TABLE peers (
    node        TEXT    PRIMARY KEY NOT NULL,
    public_key  BLOB    NOT NULL CHECK (length(public_key) = 32),
    fetched_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    retry_at    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
) STRICT;
