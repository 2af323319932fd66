-- Replies to papercast's threads, their moderation, and where collecting stands.
-- Landed with issue 5. Never edit this file: add a new numbered migration instead.

CREATE TABLE replies (
    id             INTEGER PRIMARY KEY,
    -- The thread the reply hangs from (through its chain of replies).
    thread_id      INTEGER NOT NULL REFERENCES threads (id),
    -- The papercast account whose server showed it; remote ids are per server.
    account        TEXT    NOT NULL,
    remote_id      TEXT    NOT NULL,
    -- The id of the post it answers: a thread post or another reply.
    in_reply_to    TEXT    NOT NULL,
    author_id      TEXT    NOT NULL,
    -- `@user@server`.
    author_handle  TEXT    NOT NULL,
    author_name    TEXT    NOT NULL,
    author_url     TEXT    NOT NULL,
    author_avatar  TEXT,
    -- The server marks the author as a bot.
    author_bot     INTEGER NOT NULL DEFAULT 0,
    url            TEXT    NOT NULL,
    visibility     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    edited_at      TEXT,
    -- The reply's HTML as the server gave it; sanitised only when published.
    content_html   TEXT    NOT NULL,
    spoiler_text   TEXT    NOT NULL DEFAULT '',
    -- context (found in a thread post's reply tree) | mention (a notification)
    source         TEXT    NOT NULL,
    first_seen_at  TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    -- When it was found gone from its server; NULL while it is there.
    deleted_at     TEXT,
    hidden         INTEGER NOT NULL DEFAULT 0,
    -- A moderator's name, or `rule`.
    hidden_by      TEXT,
    hidden_reason  TEXT,
    hidden_at      TEXT,
    -- A moderator hid or unhid it: auto-hide rules leave it alone from then on.
    moderated      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, remote_id)
);

CREATE INDEX replies_thread ON replies (thread_id);

-- Authors whose replies are never published. `handle` is `user@server`, lower case.
CREATE TABLE hidden_authors (
    handle     TEXT PRIMARY KEY,
    hidden_by  TEXT NOT NULL,
    reason     TEXT,
    hidden_at  TEXT NOT NULL
);

-- When each thread's replies were last read, and its latest activity (for pacing).
CREATE TABLE reply_checks (
    thread_id   INTEGER PRIMARY KEY REFERENCES threads (id),
    checked_at  TEXT NOT NULL,
    activity_at TEXT
);

-- The newest mention notification read, per account.
CREATE TABLE mention_cursors (
    account     TEXT PRIMARY KEY,
    last_id     TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- papercast's answer to a question-like reply: recorded before it is sent, so that a
-- reply is never answered twice, even after a crash.
CREATE TABLE reply_answers (
    reply_id    INTEGER PRIMARY KEY REFERENCES replies (id),
    -- sending | sent
    state       TEXT NOT NULL,
    remote_id   TEXT,
    remote_url  TEXT,
    created_at  TEXT NOT NULL
);
