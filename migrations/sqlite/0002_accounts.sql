-- Accounts (SQLite). Keep in step with migrations/postgres/0002_accounts.sql. Times are Unix
-- milliseconds. No secret is stored: passwords as Argon2id PHC strings, refresh and
-- registration tokens as SHA-256 of their bytes.

-- Local users. name is the local part of id (lowercase already); display_name_lower is what
-- the prefix search compares against.
CREATE TABLE users (
    id                  TEXT    PRIMARY KEY NOT NULL,
    name                TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    display_name_lower  TEXT    NOT NULL,
    bio                 TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX users_display_name_lower ON users (display_name_lower);

-- Login sessions, one per device login. A revoked session stays (for the audit trail) with
-- revoked_at set; its access tokens stop working at once.
CREATE TABLE sessions (
    id            TEXT    PRIMARY KEY NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    device        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    revoked_at    INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

-- The refresh-token family of each session: the current token has rotated_at NULL; every
-- earlier one is kept so that presenting it again is recognised as reuse.
CREATE TABLE refresh_tokens (
    token_hash  BLOB    PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    session_id  TEXT    NOT NULL REFERENCES sessions (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated_at  INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Operator-issued registration tokens (registration = "invite"). uses_left NULL: unlimited;
-- expires_at NULL: never.
CREATE TABLE registration_tokens (
    token_hash  BLOB    PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    uses_left   INTEGER CHECK (uses_left >= 0),
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;
