-- Message search (PostgreSQL). Keep in step with migrations/sqlite/0009_search.sql.
-- message_texts holds the current text, lowercased by the node (so case folding does not hang
-- on the database's locale), of every message that is not deleted and has text: the
-- storage layer writes it in the transaction of the event that posts, edits or deletes the
-- message (a msg.post inserts, a msg.edit replaces, a msg.delete removes), for groups homed here
-- and replicas alike. It is a projection like timeline (spec/gateway.md §8.9).
CREATE TABLE message_texts (
    group_id  TEXT    NOT NULL,
    seq       BIGINT  NOT NULL,
    text      TEXT    NOT NULL,
    PRIMARY KEY (group_id, seq),
    FOREIGN KEY (group_id, seq) REFERENCES timeline (group_id, seq)
);

-- The full-text index: the 'simple' configuration lowercases and keeps every word (no
-- stemming, no stop words: a chat is in any language). Queries use the same expression.
CREATE INDEX message_texts_search ON message_texts USING GIN (to_tsvector('simple', text));

-- Messages posted before this migration are indexed once by the node at start-up (their text
-- is inside the CBOR body, which SQL cannot read): this row says where that walk has got to,
-- in (group_id, seq) order, and is removed when it is done.
CREATE TABLE search_backfill (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    group_id  TEXT    NOT NULL,
    seq       BIGINT  NOT NULL
);
INSERT INTO search_backfill (id, group_id, seq)
    SELECT 1, '', 0 WHERE EXISTS (SELECT 1 FROM timeline WHERE is_message AND NOT deleted);
