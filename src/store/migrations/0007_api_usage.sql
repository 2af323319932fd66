-- Requests and posts per account per calendar month (UTC, `YYYY-MM`): X bills API use,
-- and an account's `monthly_post_limit` is checked against the posts counted here.
CREATE TABLE api_usage (
    account TEXT NOT NULL,
    month TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    posts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, month)
);
