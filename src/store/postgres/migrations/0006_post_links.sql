-- PostgreSQL counterpart of ../../migrations/0006_post_links.sql: the same tables, columns and
-- meanings (times are RFC 3339 text, flags 0/1, as there), so that a SQLite state copies
-- over row for row.
-- The links of each post with their full targets: on Bluesky a link shows short
-- ("arxiv.org/abs/2404.11912") or as a label ("Our review"), and its facet needs the URL.
ALTER TABLE posts ADD COLUMN links_json TEXT NOT NULL DEFAULT '[]';
