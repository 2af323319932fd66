-- The feeds watched, the entries seen in them, the review state of each thread (its
-- draft) and the audit log of every action on drafts.
-- Landed with issue 4. Never edit this file: add a new numbered migration instead.

-- One row per configured source, once polled.
CREATE TABLE feed_state (
    source               TEXT    PRIMARY KEY,
    feed_url             TEXT    NOT NULL,
    -- The validators of the last good answer, for the next conditional GET.
    etag                 TEXT,
    last_modified        TEXT,
    -- When the first successful poll recorded the entries then in the feed; NULL until
    -- then (the next successful poll is the first run).
    initialized_at       TEXT,
    last_poll_at         TEXT,
    last_success_at      TEXT,
    -- Failed polls since the last good one; the wait before the next poll doubles per
    -- failure. A failure changes nothing else.
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    next_poll_at         TEXT
);

-- Every entry seen in a feed, by its id and its URL (either one known = not new).
CREATE TABLE feed_entries (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    entry_id        TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    -- recorded (seen, not to be announced) | drafted | failed (its page could not be
    -- drafted; tried again at the next poll) | gave_up | no_accounts
    outcome         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    announcement_id INTEGER REFERENCES announcements (id),
    first_seen_at   TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (source, entry_id)
);

CREATE INDEX feed_entries_url ON feed_entries (source, url);

-- The review state of a thread (one per thread; the draft's id is the thread's id).
-- What the queue shows combines it with threads.state: a posted or failed thread is
-- shown as such whatever its review.
CREATE TABLE drafts (
    thread_id       INTEGER PRIMARY KEY REFERENCES threads (id),
    -- pending | approved | scheduled | rejected
    review          TEXT    NOT NULL,
    -- For scheduled: when the daemon posts it.
    scheduled_at    TEXT,
    -- For rejected: why (optional).
    reason          TEXT,
    decided_by      TEXT,
    decided_at      TEXT,
    -- Where it came from: `watch:<source>`, `announce`, or `migrated` (before 0002).
    origin          TEXT    NOT NULL,
    -- The length rules (JSON of platform::LengthRules) the thread was composed for;
    -- edits are checked against them. NULL = the platform's defaults.
    rules_json      TEXT,
    -- How many times a moderator edited the text.
    edits           INTEGER NOT NULL DEFAULT 0,
    -- Tries of the daemon's publisher since the last approval, and when the next is due.
    post_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    -- The process posting it now, until when (renewed while it posts): no two
    -- processes post one thread at once.
    lease_owner     TEXT,
    lease_until     TEXT,
    -- +1 on every change, so that two moderators cannot overwrite each other unseen.
    version         INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

CREATE INDEX drafts_review ON drafts (review);

-- Who did what to which draft, and when. Never updated, only added to.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    thread_id INTEGER REFERENCES threads (id),
    details   TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_thread ON audit_log (thread_id);

-- Threads from before review existed were posted by `announce` directly: approved.
INSERT INTO drafts (thread_id, review, decided_by, decided_at, origin, created_at, updated_at)
SELECT id, 'approved', 'papercast announce', created_at, 'migrated', created_at, updated_at
FROM threads;
