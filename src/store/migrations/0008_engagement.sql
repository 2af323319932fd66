-- What each thread post drew, as its network counts it: one row per sync that saw a
-- change, so that the counts form a time series. A count the network does not give
-- is NULL (unknown), never 0. Never edit this file: add a new numbered migration.

CREATE TABLE engagement (
    id           INTEGER PRIMARY KEY,
    thread_id    INTEGER NOT NULL REFERENCES threads (id),
    -- The thread post's id on its server.
    remote_id    TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    replies      INTEGER,
    -- Reblogs on Mastodon, reposts on Bluesky, retweets on X.
    reposts      INTEGER,
    -- Favourites on Mastodon, likes elsewhere.
    likes        INTEGER,
    quotes       INTEGER
);

CREATE INDEX engagement_post ON engagement (thread_id, remote_id, id);
