//! The SQLite store: one file, WAL journal, migrations embedded in the binary.
//!
//! rusqlite is synchronous; every call is a short local transaction (well under a
//! millisecond, plus an fsync for the few that must be durable), so the connection sits
//! behind a `Mutex` and is used directly from async code rather than through
//! `spawn_blocking`.
//!
//! Syncs: the journal is a WAL with `synchronous = NORMAL`, so a commit survives the
//! process being killed but is fsynced only by the next durable commit (or checkpoint).
//! The WAL is one ordered log, so a power cut loses at most the newest commits after the
//! last fsync — as if the process had stopped a little earlier. What must not be lost
//! is written with [`SqliteStore::durably`] (`synchronous = FULL` for that commit): a
//! post marked `sending` before its request leaves, and a thread's final state. A lost
//! `sent` mark costs nothing but a lookup: the post stays `sending`, and the next run
//! finds it on the server before sending it again.

use super::*;
use crate::model::Announcement;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

mod notify;
mod replies;
mod review;

/// Migrations in order; version N is `MIGRATIONS[N - 1]`. Applied ones are recorded
/// with their text, and a changed text is refused, so that they cannot drift.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_announcements_threads_posts.sql"),
    include_str!("migrations/0002_thread_revision.sql"),
    include_str!("migrations/0003_replies.sql"),
    include_str!("migrations/0004_feeds_drafts_audit.sql"),
    include_str!("migrations/0005_post_last_sent_at.sql"),
    include_str!("migrations/0006_post_links.sql"),
    include_str!("migrations/0007_api_usage.sql"),
    include_str!("migrations/0008_engagement.sql"),
    include_str!("migrations/0009_notifications.sql"),
];

/// How many prepared statements the connection keeps: more than the store has, so that
/// none is prepared twice (preparing one costs more than running it).
const STATEMENT_CACHE: usize = 128;

/// Statements through the connection's cache of prepared statements.
pub(crate) trait Cached {
    /// Runs a statement; how many rows it changed.
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;

    /// The first row of a query.
    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, read)
    }
}

pub struct SqliteStore {
    connection: Mutex<Connection>,
    path: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let open_error = |e: rusqlite::Error| StoreError::Open {
            path: name.clone(),
            reason: e.to_string(),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(StoreError::Open {
                    path: name,
                    reason: format!(
                        "the folder {} does not exist; create it or change store.path",
                        parent.display()
                    ),
                });
            }
        }
        let connection = Connection::open(path).map_err(open_error)?;
        Self::setup(connection, name)
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?, ":memory:".into())
    }

    fn setup(connection: Connection, path: String) -> Result<Self, StoreError> {
        // Another process (a second `announce`, the daemon) may hold the database for
        // a moment: wait for it, from the first statement on (switching to WAL takes a
        // lock too). Write transactions start IMMEDIATE, so that one that read first
        // waits for the lock instead of failing at once with "database is locked".
        // WAL lets a reader (a later `web` view) look while a run writes; NORMAL syncs
        // only the commits that ask for it (see the module's notes on syncs).
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let wait = std::time::Duration::from_secs(5);
        let started = std::time::Instant::now();
        loop {
            let configured = connection
                .busy_timeout(wait)
                .and_then(|_| connection.pragma_update(None, "journal_mode", "WAL"))
                .and_then(|_| connection.pragma_update(None, "synchronous", "NORMAL"))
                .and_then(|_| connection.pragma_update(None, "foreign_keys", "ON"));
            match configured {
                Ok(()) => break,
                // Switching a new file to WAL while another process does the same can
                // answer "busy" at once, without the busy handler: try again shortly.
                Err(rusqlite::Error::SqliteFailure(error, _))
                    if error.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < wait =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(StoreError::Open {
                        path: path.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        let mut store = SqliteStore {
            connection: Mutex::new(connection),
            path,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let connection = self
            .connection
            .get_mut()
            .map_err(|_| StoreError::Sql("connection lock poisoned".into()))?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, sql TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )?;
        let applied: Vec<(usize, String)> = {
            let mut statement =
                tx.prepare_cached("SELECT version, sql FROM schema_migrations ORDER BY version")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (version, sql) = row?;
                let version = usize::try_from(version)
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| StoreError::Corrupt(format!("migration version {version}")))?;
                Ok((version, sql))
            })
            .collect::<Result<_, StoreError>>()?
        };
        for (version, sql) in &applied {
            match MIGRATIONS.get(version - 1) {
                None => {
                    return Err(StoreError::TooNew {
                        path,
                        found: *version,
                        known: MIGRATIONS.len(),
                    })
                }
                Some(known) if known != sql => {
                    return Err(StoreError::MigrationChanged {
                        path,
                        version: *version,
                    })
                }
                Some(_) => {}
            }
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied.len()) {
            tx.execute_batch(sql)?;
            tx.run(
                "INSERT INTO schema_migrations (version, sql, applied_at) VALUES (?1, ?2, ?3)",
                params![(index + 1) as i64, sql, now()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every table of the state with all its rows, in the order they were created (so
    /// that each one's references come before it), for `store copy`.
    pub fn export(&self) -> Result<Vec<CopiedTable>, StoreError> {
        let connection = self.lock()?;
        let names: Vec<String> = {
            let mut statement = connection.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY rowid",
            )?;
            let names = statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            names
        };
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let mut statement =
                connection.prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))?;
            let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
            let width = columns.len();
            let rows = statement
                .query_map([], |row| {
                    (0..width)
                        .map(|i| {
                            Ok(match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(value) => {
                                    Some(CopyValue::Int(value))
                                }
                                rusqlite::types::ValueRef::Text(text) => Some(CopyValue::Text(
                                    String::from_utf8_lossy(text).into_owned(),
                                )),
                                // papercast writes no floats nor blobs.
                                other => {
                                    return Err(rusqlite::Error::InvalidColumnType(
                                        i,
                                        columns[i].clone(),
                                        other.data_type(),
                                    ))
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })?
                .collect::<Result<Vec<_>, _>>()?;
            tables.push(CopiedTable {
                name,
                columns,
                rows,
            });
        }
        Ok(tables)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection
            .lock()
            .map_err(|_| StoreError::Sql("connection lock poisoned".into()))
    }

    /// Runs `write` (one transaction, or one statement) with its commit fsynced before
    /// this returns, and with it every commit before it.
    fn durably<T>(
        connection: &Connection,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        connection.run("PRAGMA synchronous = FULL", [])?;
        let result = write(connection);
        // Back to NORMAL even when the write failed; a failure to switch back only
        // costs syncs, so the write's own result is what counts.
        let restored = connection.run("PRAGMA synchronous = NORMAL", []);
        let value = result?;
        restored?;
        Ok(value)
    }

    fn load_thread(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ThreadRecord>, StoreError> {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT id, announcement_id, account, platform, state, last_error FROM threads \
             WHERE {where_clause} ORDER BY id"
        ))?;
        let heads = statement
            .query_map(args, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut threads = Vec::with_capacity(heads.len());
        for (id, announcement_id, account, platform, state, last_error) in heads {
            threads.push(ThreadRecord {
                id,
                announcement_id,
                account,
                platform: platform
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("thread {id}: {e}")))?,
                state: ThreadState::parse(&state)?,
                last_error,
                posts: Self::load_posts(connection, id)?,
            });
        }
        Ok(threads)
    }

    fn load_posts(connection: &Connection, thread_id: i64) -> Result<Vec<PostRecord>, StoreError> {
        Self::select_posts(connection, "thread_id = ?1", [thread_id])
    }

    fn select_posts(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<PostRecord>, StoreError> {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT idx, key, role_json, text, images_json, state, attempts, sending_at, \
             remote_id, remote_url, last_sent_at, links_json FROM posts WHERE {where_clause} \
             ORDER BY idx"
        ))?;
        let rows = statement
            .query_map(args, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, Option<String>>(7)?,
                    row.get::<_, Option<String>>(8)?,
                    row.get::<_, Option<String>>(9)?,
                    row.get::<_, Option<String>>(10)?,
                    row.get::<_, String>(11)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(
                    index,
                    key,
                    role,
                    text,
                    images,
                    state,
                    attempts,
                    sending_at,
                    id,
                    url,
                    last,
                    links,
                )| {
                    Ok(PostRecord {
                        links: serde_json::from_str(&links)
                            .map_err(|e| StoreError::Corrupt(format!("links of {key}: {e}")))?,
                        index: usize::try_from(index)
                            .map_err(|_| StoreError::Corrupt(format!("post index {index}")))?,
                        images: serde_json::from_str(&images)
                            .map_err(|e| StoreError::Corrupt(format!("images of {key}: {e}")))?,
                        state: PostState::parse(&state)?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        sending_at: sending_at.as_deref().map(parse_time).transpose()?,
                        last_sent_at: last.as_deref().map(parse_time).transpose()?,
                        remote: id.map(|id| RemotePost { id, url }),
                        key,
                        role,
                        text,
                    })
                },
            )
            .collect()
    }

    fn load_announcement(
        connection: &Connection,
        id: i64,
    ) -> Result<AnnouncementRecord, StoreError> {
        connection
            .row(
                "SELECT id, url, slug, title, generation, announcement_json, created_at, \
                 announced_at FROM announcements WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::Missing(format!("announcement {id}")))
            .and_then(
                |(id, url, slug, title, generation, json, created_at, announced_at)| {
                    Ok(AnnouncementRecord {
                        announcement: serde_json::from_str::<Announcement>(&json)
                            .map_err(|e| StoreError::Corrupt(format!("announcement {id}: {e}")))?,
                        created_at: parse_time(&created_at)?,
                        announced_at: announced_at.as_deref().map(parse_time).transpose()?,
                        id,
                        url,
                        slug,
                        title,
                        generation,
                    })
                },
            )
    }

    /// Inserts a planned thread and its pending posts; returns the thread's id.
    fn insert_thread(
        tx: &Connection,
        announcement: &AnnouncementRecord,
        account: &str,
        platform: &str,
        posts: &[PlannedPost],
        plan_json: &str,
    ) -> Result<i64, StoreError> {
        let time = now();
        tx.run(
            "INSERT INTO threads \
             (announcement_id, account, platform, state, plan_json, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                announcement.id,
                account,
                platform,
                ThreadState::Planned.as_str(),
                plan_json,
                time
            ],
        )?;
        let thread_id = tx.last_insert_rowid();
        let prefix = announcement.key_prefix();
        for (index, post) in posts.iter().enumerate() {
            let images = serde_json::to_string(&post.images)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let links = serde_json::to_string(&post.links)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.run(
                "INSERT INTO posts (thread_id, idx, key, role_json, text, images_json, state, \
                 links_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    thread_id,
                    index as i64,
                    decide::post_key(&prefix, account, index),
                    post.role,
                    post.text,
                    images,
                    PostState::Pending.as_str(),
                    links
                ],
            )?;
        }
        Ok(thread_id)
    }

    fn changed_one(count: usize, key: &str) -> Result<(), StoreError> {
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("post {key}")))
        }
    }
}

impl Store for SqliteStore {
    fn announcement(&self, url: &str) -> Result<Option<AnnouncementRecord>, StoreError> {
        let connection = self.lock()?;
        let id: Option<i64> = connection
            .row(
                "SELECT id FROM announcements WHERE url = ?1 ORDER BY generation DESC LIMIT 1",
                [url],
                |row| row.get(0),
            )
            .optional()?;
        id.map(|id| Self::load_announcement(&connection, id))
            .transpose()
    }

    fn record_announcement(
        &self,
        announcement: &Announcement,
        again: bool,
    ) -> Result<AnnouncementRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let latest: Option<(i64, i64)> = tx
            .row(
                "SELECT id, generation FROM announcements WHERE url = ?1 \
                 ORDER BY generation DESC LIMIT 1",
                [&announcement.url],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let id = match latest {
            Some((id, _)) if !again => id,
            _ => {
                let generation = latest.map_or(0, |(_, generation)| generation + 1);
                let json = serde_json::to_string(announcement)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.run(
                    "INSERT INTO announcements \
                     (url, slug, title, generation, announcement_json, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        announcement.url,
                        announcement.slug,
                        announcement.title,
                        generation,
                        json,
                        now()
                    ],
                )?;
                tx.last_insert_rowid()
            }
        };
        let record = Self::load_announcement(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }

    fn thread(
        &self,
        announcement_id: i64,
        account: &str,
    ) -> Result<Option<ThreadRecord>, StoreError> {
        let connection = self.lock()?;
        Ok(Self::load_thread(
            &connection,
            "announcement_id = ?1 AND account = ?2",
            params![announcement_id, account],
        )?
        .pop())
    }

    fn threads(&self, announcement_id: i64) -> Result<Vec<ThreadRecord>, StoreError> {
        let connection = self.lock()?;
        Self::load_thread(&connection, "announcement_id = ?1", [announcement_id])
    }

    fn plan_thread(
        &self,
        announcement: &AnnouncementRecord,
        account: &str,
        platform: &str,
        posts: &[PlannedPost],
        plan_json: &str,
    ) -> Result<ThreadRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing = Self::load_thread(
            &tx,
            "announcement_id = ?1 AND account = ?2",
            params![announcement.id, account],
        )?
        .pop();
        if let Some(thread) = existing {
            return Ok(thread);
        }
        let thread_id =
            Self::insert_thread(&tx, announcement, account, platform, posts, plan_json)?;
        let thread = Self::load_thread(&tx, "id = ?1", [thread_id])?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
        tx.commit()?;
        Ok(thread)
    }

    fn post(&self, key: &str) -> Result<Option<PostRecord>, StoreError> {
        let connection = self.lock()?;
        Ok(Self::select_posts(&connection, "key = ?1", [key])?.pop())
    }

    fn mark_sending(&self, key: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        // Durable before the request leaves: this is what makes a rerun look the post
        // up instead of sending it again.
        let count = Self::durably(&connection, |connection| {
            Ok(connection.run(
                "UPDATE posts SET state = 'sending', attempts = attempts + 1, \
                 sending_at = COALESCE(sending_at, ?2), last_sent_at = ?2 \
                 WHERE key = ?1 AND state != 'sent'",
                params![key, now()],
            )?)
        })?;
        Self::changed_one(count, key)
    }

    fn mark_sent(&self, key: &str, remote: &RemotePost) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let count = connection.run(
            "UPDATE posts SET state = 'sent', remote_id = ?2, remote_url = ?3, sent_at = ?4 \
             WHERE key = ?1",
            params![key, remote.id, remote.url, now()],
        )?;
        Self::changed_one(count, key)
    }

    fn mark_unsent(&self, key: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let count = connection.run(
            "UPDATE posts SET state = 'pending' WHERE key = ?1 AND state = 'sending'",
            [key],
        )?;
        // Already pending or sent: nothing to undo.
        let _ = count;
        Ok(())
    }

    fn remote_ids(&self, account: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT p.remote_id FROM posts p JOIN threads t ON p.thread_id = t.id \
             WHERE t.account = ?1 AND p.remote_id IS NOT NULL",
        )?;
        let ids = statement
            .query_map([account], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn mark_announced(&self, announcement_id: i64) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "UPDATE announcements SET announced_at = COALESCE(announced_at, ?2) WHERE id = ?1",
            params![announcement_id, now()],
        )?;
        Ok(())
    }

    fn add_usage(&self, account: &str, month: &str, usage: Usage) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "INSERT INTO api_usage (account, month, requests, posts) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (account, month) DO UPDATE SET \
             requests = requests + excluded.requests, posts = posts + excluded.posts",
            params![
                account,
                month,
                i64::try_from(usage.requests).unwrap_or(i64::MAX),
                i64::try_from(usage.posts).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    fn usage(&self, account: &str, month: &str) -> Result<Usage, StoreError> {
        let connection = self.lock()?;
        let (requests, posts): (i64, i64) = connection
            .row(
                "SELECT requests, posts FROM api_usage WHERE account = ?1 AND month = ?2",
                params![account, month],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, 0));
        Ok(Usage {
            requests: requests.max(0) as u64,
            posts: posts.max(0) as u64,
        })
    }

    fn replan_rest(
        &self,
        thread_id: i64,
        from_index: usize,
        posts: &[PlannedPost],
    ) -> Result<ThreadRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let from = from_index as i64;
        let sent: i64 = tx.row(
            "SELECT COUNT(*) FROM posts WHERE thread_id = ?1 AND idx >= ?2 AND state = 'sent'",
            params![thread_id, from],
            |row| row.get(0),
        )?;
        if sent > 0 {
            return Err(StoreError::Corrupt(format!(
                "thread {thread_id}: cannot replan from post {from_index}, a later post is sent"
            )));
        }
        let first_key: String = tx
            .row(
                "SELECT key FROM posts WHERE thread_id = ?1 AND idx = 0",
                [thread_id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
        let base = decide::key_base(&first_key)?;
        tx.run(
            "UPDATE threads SET revision = revision + 1, updated_at = ?2 WHERE id = ?1",
            params![thread_id, now()],
        )?;
        let revision: i64 = tx.row(
            "SELECT revision FROM threads WHERE id = ?1",
            [thread_id],
            |row| row.get(0),
        )?;
        tx.run(
            "DELETE FROM posts WHERE thread_id = ?1 AND idx >= ?2",
            params![thread_id, from],
        )?;
        for (offset, post) in posts.iter().enumerate() {
            let index = from_index + offset;
            let images = serde_json::to_string(&post.images)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let links = serde_json::to_string(&post.links)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.run(
                "INSERT INTO posts (thread_id, idx, key, role_json, text, images_json, state, \
                 links_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
                params![
                    thread_id,
                    index as i64,
                    decide::replanned_key(base, index, revision),
                    post.role,
                    post.text,
                    images,
                    links
                ],
            )?;
        }
        let thread = Self::load_thread(&tx, "id = ?1", [thread_id])?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
        tx.commit()?;
        Ok(thread)
    }

    fn set_thread_state(
        &self,
        thread_id: i64,
        state: ThreadState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let update = |connection: &Connection| {
            Ok(connection.run(
                "UPDATE threads SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                params![thread_id, state.as_str(), error, now()],
            )?)
        };
        // A finished thread is synced (with its posts' `sent` marks), so that a power cut
        // afterwards does not send the next run looking its posts up again.
        let count = if state == ThreadState::Posted {
            Self::durably(&connection, update)?
        } else {
            update(&connection)?
        };
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("thread {thread_id}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Paper;

    fn announcement() -> Announcement {
        Announcement {
            url: "https://graphcore-research.github.io/2025-10-07-potm/".into(),
            slug: "2025-10-07-potm".into(),
            title: "September Papers".into(),
            date: "2025-10-07".into(),
            tags: vec!["LLMs".into()],
            social_image: None,
            intro_theme: None,
            papers: vec![Paper {
                position: 0,
                title: "FlowRL".into(),
                authors: "Xuekai Zhu, et al.".into(),
                orgs: "Shanghai AI Laboratory".into(),
                link: "https://arxiv.org/abs/2509.15207".into(),
                anchor: "flowrl".into(),
                url: "https://graphcore-research.github.io/2025-10-07-potm/#flowrl".into(),
                intro_summary: None,
                intro_sentence: None,
                key_idea: "Match distributions.".into(),
                figure: Some(Figure {
                    url: "https://graphcore-research.github.io/potm/f.png".into(),
                    alt: "A figure".into(),
                    caption: None,
                }),
            }],
        }
    }

    fn planned(n: usize) -> Vec<PlannedPost> {
        (0..n)
            .map(|i| PlannedPost {
                role: format!("{{\"kind\":\"post{i}\"}}"),
                text: format!("post {i}"),
                links: vec![],
                images: if i == 1 {
                    vec![Figure {
                        url: "https://example.org/f.png".into(),
                        alt: "alt".into(),
                        caption: None,
                    }]
                } else {
                    vec![]
                },
            })
            .collect()
    }

    #[test]
    fn a_file_database_survives_reopening_and_refuses_edited_migrations() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        {
            let store = SqliteStore::open(&path).expect("open");
            store
                .record_announcement(&announcement(), false)
                .expect("record");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert!(store
            .announcement(&announcement().url)
            .expect("load")
            .is_some());
        drop(store);

        let connection = Connection::open(&path).expect("raw open");
        connection
            .execute(
                "UPDATE schema_migrations SET sql = sql || ' ' WHERE version = 1",
                [],
            )
            .expect("tamper");
        drop(connection);
        let error = SqliteStore::open(&path).expect_err("edited migration");
        assert!(matches!(
            error,
            StoreError::MigrationChanged { version: 1, .. }
        ));
    }

    #[test]
    fn a_database_of_the_first_schema_is_brought_up_to_date() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        {
            // As papercast left it before migration 2 existed.
            let connection = Connection::open(&path).expect("raw open");
            connection
                .execute_batch(
                    "CREATE TABLE schema_migrations (
                     version INTEGER PRIMARY KEY, sql TEXT NOT NULL, applied_at TEXT NOT NULL)",
                )
                .expect("table");
            connection
                .execute_batch(MIGRATIONS[0])
                .expect("migration 1");
            connection
                .execute(
                    "INSERT INTO schema_migrations VALUES (1, ?1, '2026-11-28T00:00:00Z')",
                    [MIGRATIONS[0]],
                )
                .expect("record");
        }
        let store = SqliteStore::open(&path).expect("migrated");
        let record = store
            .record_announcement(&announcement(), false)
            .expect("record");
        let thread = store
            .plan_thread(&record, "gc", "mastodon", &planned(2), "{}")
            .expect("plan");
        let replanned = store
            .replan_rest(thread.id, 1, &planned(1))
            .expect("replan");
        assert_eq!(
            replanned.posts[1].key,
            "2025-10-07-potm-12d9476e6f97.0/gc/1~1"
        );
    }

    #[test]
    fn a_missing_folder_is_named() {
        let error = SqliteStore::open(Path::new("/nonexistent/dir/state.db")).expect_err("no dir");
        assert!(error.to_string().contains("/nonexistent/dir"), "{error}");
    }
}
