-- PostgreSQL counterpart of ../../migrations/0005_post_last_sent_at.sql: the same tables, columns and
-- meanings (times are RFC 3339 text, flags 0/1, as there), so that a SQLite state copies
-- over row for row.
-- When the latest attempt to send a post started. A post whose fate is unknown is looked
-- up only once that attempt can no longer land (request timeout plus a margin after
-- it), because servers that ignore Idempotency-Key would take a resend as a new post.
-- Never edit this file: add a new numbered migration instead.
ALTER TABLE posts ADD COLUMN last_sent_at TEXT;
