-- Chats (PostgreSQL): the projection of the group logs. Keep in step with
-- migrations/sqlite/0003_chats.sql: same tables, same columns, same meaning. Times are Unix
-- milliseconds; identifiers are canonical text; booleans are BOOLEAN. Every row here is
-- derived from `events` and written in the same transaction as the event that causes it.

-- One row per group: settings in columns for listing and the directory, the full GroupState as
-- a CBOR snapshot. handle_key (the handle's name part) and name_key (the name, lowercased by
-- the node so both backends fold case alike) are what the directory's prefix search compares.
-- handle is bytewise (COLLATE "C") so the directory's order is SQLite's.
-- members is kept by the storage layer from chat_members, never taken on trust.
CREATE TABLE chats (
    group_id     TEXT    PRIMARY KEY REFERENCES groups (id),
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    visibility   TEXT    NOT NULL,
    handle       TEXT    COLLATE "C" UNIQUE,
    handle_key   TEXT,
    owner        TEXT    NOT NULL,
    members      BIGINT  NOT NULL DEFAULT 0 CHECK (members >= 0),
    last_seq     BIGINT  NOT NULL CHECK (last_seq >= 0),
    last_ts      BIGINT  NOT NULL,
    state        BYTEA   NOT NULL,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE
);
-- The directory walks public, live chats in display order (most members first, then handle)
-- and filters by prefix, stopping at the page size.
CREATE INDEX chats_directory ON chats (members DESC, handle)
    WHERE visibility = 'public' AND NOT deleted;

-- Current members and their read position. The primary key serves per-group reads (reads,
-- seen_by, mark_read); the user_id index is the "my chats" list.
CREATE TABLE chat_members (
    group_id  TEXT    NOT NULL REFERENCES chats (group_id),
    user_id   TEXT    NOT NULL,
    read_seq  BIGINT  NOT NULL DEFAULT 0 CHECK (read_seq >= 0),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members (user_id);

-- The one direct chat of each pair of users. The pair is stored ordered (user_a < user_b) so
-- the primary key makes "one direct chat per pair" a constraint, not a convention. Compared
-- bytewise (COLLATE "C"), as the node orders them and as SQLite compares.
CREATE TABLE direct_pairs (
    user_a    TEXT    NOT NULL,
    user_b    TEXT    NOT NULL,
    group_id  TEXT    NOT NULL REFERENCES chats (group_id),
    PRIMARY KEY (user_a, user_b),
    CHECK (user_a < user_b COLLATE "C")
);

-- What a chat view shows: each msg.post with its current text and each admin/membership event
-- as a line. Paging and unread counts walk the (group_id, seq) primary key; audit.list walks
-- the admin rows alone through timeline_admin.
CREATE TABLE timeline (
    group_id    TEXT    NOT NULL REFERENCES chats (group_id),
    seq         BIGINT  NOT NULL CHECK (seq >= 1),
    event_id    TEXT    NOT NULL,
    ts          BIGINT  NOT NULL,
    sender      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        BYTEA   NOT NULL,
    is_message  BOOLEAN NOT NULL,
    is_admin    BOOLEAN NOT NULL,
    edited_at   BIGINT,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    pinned      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (group_id, seq)
);
CREATE INDEX timeline_admin ON timeline (group_id, is_admin, seq);

-- One row per (message, emoji, user). Reads fetch the reactions of a page of messages, i.e. a
-- few (group_id, seq) prefixes of the primary key.
CREATE TABLE reactions (
    group_id  TEXT    NOT NULL,
    seq       BIGINT  NOT NULL,
    emoji     TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    ts        BIGINT  NOT NULL,
    PRIMARY KEY (group_id, seq, emoji, user_id),
    FOREIGN KEY (group_id, seq) REFERENCES timeline (group_id, seq)
);

-- Pending direct invites. The user_id index lists a user's invitations.
CREATE TABLE chat_invites (
    group_id  TEXT    NOT NULL REFERENCES chats (group_id),
    user_id   TEXT    NOT NULL,
    by_user   TEXT    NOT NULL,
    at        BIGINT  NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX chat_invites_user ON chat_invites (user_id, at);

-- Invite links. The code is the secret itself (it only grants joining one group, and links
-- are listed back to admins in full). max_uses / expires_at NULL: unlimited / never. uses is
-- counted by one conditional UPDATE so concurrent redemptions never pass max_uses.
CREATE TABLE invite_links (
    code        TEXT    PRIMARY KEY,
    group_id    TEXT    NOT NULL REFERENCES chats (group_id),
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT,
    max_uses    BIGINT  CHECK (max_uses >= 0),
    uses        BIGINT  NOT NULL DEFAULT 0 CHECK (uses >= 0),
    revoked     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX invite_links_group ON invite_links (group_id, created_at);

-- Each user's transaction ids with the CBOR result they produced, so a retried write returns
-- the first result instead of acting twice. Pruned by age through txns_at.
CREATE TABLE txns (
    user_id  TEXT    NOT NULL,
    txn      TEXT    NOT NULL,
    result   BYTEA   NOT NULL,
    at       BIGINT  NOT NULL,
    PRIMARY KEY (user_id, txn)
);
CREATE INDEX txns_at ON txns (at);
