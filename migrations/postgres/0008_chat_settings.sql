-- A user's own settings of a chat (PostgreSQL). Keep in step with
-- migrations/sqlite/0008_chat_settings.sql. Kept on the user's node only (never federated),
-- set with chats.settings (spec/gateway.md §8.9) and synced to the user's other sessions by
-- the chat.settings push. muted_until: Unix ms (9007199254740991: until unmuted), NULL when
-- not muted; pinned_at: when the chat was pinned to the top of the list, NULL when not. A
-- row with both NULL is removed.
CREATE TABLE chat_settings (
    user_id      TEXT    NOT NULL,
    group_id     TEXT    NOT NULL REFERENCES chats (group_id),
    muted_until  BIGINT  CHECK (muted_until >= 0),
    pinned_at    BIGINT  CHECK (pinned_at >= 0),
    PRIMARY KEY (user_id, group_id)
);
