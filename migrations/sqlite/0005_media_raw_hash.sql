-- The raw hash of an upload (SQLite). Keep in step with migrations/postgres/0005_media_raw_hash.sql.
-- raw_sha256 is the SHA-256 of the bytes as the user sent them when the node rewrote them
-- (metadata stripped), so their media.sha256 differs; NULL when the bytes were stored as sent.
-- It lets a user at a full quota re-upload the same file (200, media.md §3.1) without the node
-- decoding it first: the raw hash is known as soon as the upload is read.
ALTER TABLE media_uploads ADD COLUMN raw_sha256 TEXT CHECK (length(raw_sha256) = 64);
CREATE INDEX media_uploads_raw ON media_uploads (user_id, raw_sha256);
