-- What was announced, the thread planned for each account, and every post of it.
-- Landed with issue 3. Never edit this file: add a new numbered migration instead.

CREATE TABLE announcements (
    id                INTEGER PRIMARY KEY,
    url               TEXT    NOT NULL,
    slug              TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    -- 0 for the first announcement of a post; `announce --again` adds 1, 2, ...
    generation        INTEGER NOT NULL DEFAULT 0,
    -- The extracted Announcement (JSON), kept to refit posts and for later review.
    announcement_json TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    -- When every thread planned for it was first complete; NULL until then.
    announced_at      TEXT,
    UNIQUE (url, generation)
);

CREATE TABLE threads (
    id              INTEGER PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements (id),
    account         TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    -- planned | posting | posted | failed; later: draft | approved | rejected (review).
    state           TEXT    NOT NULL,
    -- The composed thread as planned (JSON): every post's role, text and images.
    plan_json       TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (announcement_id, account)
);

CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    thread_id   INTEGER NOT NULL REFERENCES threads (id),
    idx         INTEGER NOT NULL,
    -- Stable key `<announcement>/<account>/<index>`; the Idempotency-Key derives from it.
    key         TEXT    NOT NULL UNIQUE,
    role_json   TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    images_json TEXT    NOT NULL,
    -- pending (never sent) | sending (sent, fate unknown until answered) | sent
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- When the first attempt started: a lookup ignores posts older than this.
    sending_at  TEXT,
    remote_id   TEXT,
    remote_url  TEXT,
    sent_at     TEXT,
    UNIQUE (thread_id, idx)
);

CREATE INDEX posts_remote_id ON posts (remote_id);
