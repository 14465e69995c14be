-- Operator tools (PostgreSQL). Keep in step with migrations/sqlite/0010_admin.sql. Times are
-- Unix milliseconds.

-- admin: may use /api/admin. disabled_at: set while the account is disabled (no login, no
-- refresh, sessions revoked). deleted_at: the account was deleted by an operator; the row stays
-- as a tombstone with its secrets and profile wiped, so the name is never given to someone else
-- (who would otherwise inherit the old account's direct chats). quota_bytes: the user's media
-- quota; NULL is the node's default.
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
ALTER TABLE users ADD COLUMN quota_bytes BIGINT CHECK (quota_bytes >= 0);

-- Federation allow and deny entries added by operators at run time (the config file's lists
-- add to these). A node is on at most one list.
CREATE TABLE federation_lists (
    node      TEXT    PRIMARY KEY NOT NULL,
    list      TEXT    NOT NULL CHECK (list IN ('allow', 'deny')),
    added_at  BIGINT  NOT NULL
);
