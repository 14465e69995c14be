-- Media (PostgreSQL): uploads, who uploaded them, and what refers to them. Keep in step with
-- migrations/sqlite/0004_media.sql: same tables, same columns, same meaning. Times are Unix
-- milliseconds; hashes are 64 lowercase hex digits; booleans are BOOLEAN. The bytes live in
-- the blob store (by default <data_dir>/media/), keyed by the hash; these rows describe them.

-- One row per distinct piece of media, keyed by the SHA-256 of the bytes served (after
-- metadata stripping). kind and mime are what the node sniffed, never the client's claim.
-- thumbs lists the thumbnail sizes stored ("96,320,1280"; empty for none). touched_at is the
-- last upload (or use in a message, avatar or group photo); the GC's grace counts from it,
-- walking media_touched to find old rows.
CREATE TABLE media (
    sha256       TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
    kind         TEXT    NOT NULL,
    mime         TEXT    NOT NULL,
    size         BIGINT  NOT NULL CHECK (size >= 0),
    width        INTEGER CHECK (width >= 0),
    height       INTEGER CHECK (height >= 0),
    duration_ms  BIGINT  CHECK (duration_ms >= 0),
    blurhash     TEXT,
    thumbs       TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    touched_at   BIGINT  NOT NULL
);
CREATE INDEX media_touched ON media (touched_at);

-- Who uploaded what: a user may attach, or use as an avatar or group photo, only media they
-- uploaded, and their quota is the sum of the sizes of their rows here. Removed with the
-- media row; the sha256 index serves that cascade and "who uploaded this".
CREATE TABLE media_uploads (
    user_id      TEXT    NOT NULL,
    sha256       TEXT    NOT NULL REFERENCES media (sha256) ON DELETE CASCADE,
    uploaded_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, sha256)
);
CREATE INDEX media_uploads_sha256 ON media_uploads (sha256);

-- What refers to a piece of media, written in the transaction of the change that makes the
-- reference (by the chat and account stores); media with no row here is garbage once its
-- grace has passed. No foreign key to media: a message replicated from another node may refer
-- to media stored on that node.
--   message attachment (and its poster): (sha256, group_id, seq, NULL,    FALSE)
--   group photo:                         (sha256, group_id, NULL, NULL,   TRUE)
--   avatar:                              (sha256, NULL,     NULL, user_id, TRUE)
-- public: anyone signed in may see it; otherwise the members of group_id may.
CREATE TABLE media_refs (
    sha256    TEXT    NOT NULL,
    group_id  TEXT,
    seq       BIGINT,
    user_id   TEXT,
    public    BOOLEAN NOT NULL
);
CREATE INDEX media_refs_sha256 ON media_refs (sha256);
CREATE INDEX media_refs_group ON media_refs (group_id, seq);
CREATE INDEX media_refs_user ON media_refs (user_id);

-- A user's avatar: a media id's text form, "<node>/<64 hex>"; NULL for none.
ALTER TABLE users ADD COLUMN avatar TEXT;
