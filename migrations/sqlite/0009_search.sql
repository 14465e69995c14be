-- Message search (SQLite). Keep in step with migrations/postgres/0009_search.sql.
-- message_texts holds the current text, lowercased by the node (so case folding does not hang
-- on the database's locale), of every message that is not deleted and has text: the
-- storage layer writes it in the transaction of the event that posts, edits or deletes the
-- message (a msg.post inserts, a msg.edit replaces, a msg.delete removes), for groups homed here
-- and replicas alike. It is a projection like timeline (spec/gateway.md §8.9). The integer id is
-- the full-text index's rowid: an explicit INTEGER PRIMARY KEY, so VACUUM keeps it.
CREATE TABLE message_texts (
    id        INTEGER PRIMARY KEY,
    group_id  TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    text      TEXT    NOT NULL,
    UNIQUE (group_id, seq),
    FOREIGN KEY (group_id, seq) REFERENCES timeline (group_id, seq)
) STRICT;

-- The FTS5 index over message_texts (external content: the text is stored once). unicode61
-- folds case and, with remove_diacritics 2, accents; the triggers keep it in step with every
-- insert, update and delete of message_texts, however the storage layer writes them.
CREATE VIRTUAL TABLE message_search USING fts5(
    text,
    content = 'message_texts',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_texts_ai AFTER INSERT ON message_texts BEGIN
    INSERT INTO message_search (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER message_texts_ad AFTER DELETE ON message_texts BEGIN
    INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER message_texts_au AFTER UPDATE ON message_texts BEGIN
    INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO message_search (rowid, text) VALUES (new.id, new.text);
END;

-- Messages posted before this migration are indexed once by the node at start-up (their text
-- is inside the CBOR body, which SQL cannot read): this row says where that walk has got to,
-- in (group_id, seq) order, and is removed when it is done.
CREATE TABLE search_backfill (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    group_id  TEXT    NOT NULL,
    seq       INTEGER NOT NULL
) STRICT;
INSERT INTO search_backfill (id, group_id, seq)
    SELECT 1, '', 0 WHERE EXISTS (SELECT 1 FROM timeline WHERE is_message AND NOT deleted);
