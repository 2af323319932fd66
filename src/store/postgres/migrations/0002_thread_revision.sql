-- PostgreSQL counterpart of ../../migrations/0002_thread_revision.sql: the same tables, columns and
-- meanings (times are RFC 3339 text, flags 0/1, as there), so that a SQLite state copies
-- over row for row.
-- Refitting the unsent rest of a thread after a 422 on length (issue 3).
-- Never edit this file: add a new numbered migration instead.

-- 0 as composed; +1 each time the unsent rest of the thread is refitted. Posts of a
-- refitted rest get the key `<announcement>/<account>/<index>~<revision>`, so that their
-- Idempotency-Key differs from the key of the post they replace.
ALTER TABLE threads ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
