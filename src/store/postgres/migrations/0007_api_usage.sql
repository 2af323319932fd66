-- PostgreSQL counterpart of ../../migrations/0007_api_usage.sql: the same table and
-- meanings, so that a SQLite state copies over row for row.
-- Requests and posts per account per calendar month (UTC, `YYYY-MM`): X bills API use,
-- and an account's `monthly_post_limit` is checked against the posts counted here.
CREATE TABLE api_usage (
    account TEXT NOT NULL,
    month TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    posts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account, month)
);
