-- Remote copies of media (PostgreSQL). Keep in step with migrations/sqlite/0007_media_remote.sql.
-- A node keeps a copy of media of another node that its users may see (spec/media.md §7),
-- fetched with media.fetch, checked against the media id's hash and stored under that hash like
-- an upload. origin is the node it was fetched from; NULL for media uploaded here (an upload of
-- the same bytes makes the row this node's own: origin goes back to NULL). A remote copy has no
-- media_uploads row, so it counts against no user's quota, and the clean-up removes it once no
-- media_refs row refers to it and its grace has passed. origin_public: the origin answered that
-- it holds a public reference to it (an avatar, a group photo) when it was fetched.
ALTER TABLE media ADD COLUMN origin TEXT;
ALTER TABLE media ADD COLUMN origin_public BOOLEAN NOT NULL DEFAULT FALSE;
