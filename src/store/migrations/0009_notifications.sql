-- Notifications waiting to be delivered, and those delivered: one row per event and
-- target. The key names the event (e.g. `draft_waiting:12`, `reminder:12:3`) and the
-- target, so that the same event is queued once however often it is raised.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    gave_up_at TEXT,
    last_error TEXT
);
CREATE INDEX notifications_pending ON notifications (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
