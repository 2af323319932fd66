//! The PostgreSQL store: one database shared by several papercast instances, with the
//! same tables as SQLite's (migrations embedded one for one with SQLite's).
//!
//! The store's traits are synchronous and called straight from async code (see the
//! SQLite store), so this one drives `tokio-postgres` from a thread of its own: a small
//! current-thread runtime there runs each connection's I/O, and a call waits for its
//! answer with `futures_executor::block_on`, which, unlike a runtime's `block_on`, may
//! be used on any thread, a runtime's worker included. Connections are pooled (a few,
//! made when first needed) and each keeps its prepared statements.
//!
//! Writes that read first run in a transaction holding one advisory lock, so that
//! writers take turns as they do on SQLite (`BEGIN IMMEDIATE`): across instances, "is
//! there a thread for this account yet?" and the insert that follows are one step, and
//! the unique keys (`threads (announcement_id, account)`, `posts (key)`, …) stand
//! behind it. A claim on a draft is a conditional update of its owner and expiry.

use super::*;
use crate::model::Announcement;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

mod notify;
mod replies;
mod review;

/// Migrations in order; version N is `MIGRATIONS[N - 1]`. They mirror SQLite's one for
/// one (a test holds them to it), and are checked as SQLite's are.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("postgres/migrations/0001_announcements_threads_posts.sql"),
    include_str!("postgres/migrations/0002_thread_revision.sql"),
    include_str!("postgres/migrations/0003_replies.sql"),
    include_str!("postgres/migrations/0004_feeds_drafts_audit.sql"),
    include_str!("postgres/migrations/0005_post_last_sent_at.sql"),
    include_str!("postgres/migrations/0006_post_links.sql"),
    include_str!("postgres/migrations/0007_api_usage.sql"),
    include_str!("postgres/migrations/0008_engagement.sql"),
    include_str!("postgres/migrations/0009_notifications.sql"),
];

/// The advisory lock writers take turns on (any number, the same in every instance).
const WRITER_LOCK: i64 = 0x7061_7065_7263;

/// How many connections one instance keeps open at most.
const POOL_SIZE: usize = 4;

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        // The server's own message (with its detail) says more than the summary.
        match error.as_db_error() {
            Some(db) => StoreError::Sql(format!("{}: {}", db.code().code(), db.message())),
            None => StoreError::Sql(error.to_string()),
        }
    }
}

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One pooled connection with its prepared statements.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = futures_executor::block_on(self.client.prepare(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs a statement; how many rows it changed.
    pub(crate) fn run(&mut self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        Ok(futures_executor::block_on(
            self.client.execute(&statement, params),
        )?)
    }

    /// Every row of a query.
    pub(crate) fn rows(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(futures_executor::block_on(
            self.client.query(&statement, params),
        )?)
    }

    /// The first row of a query, if any.
    pub(crate) fn row(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Statements without parameters, run as they are (migrations, `BEGIN`).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(futures_executor::block_on(self.client.batch_execute(sql))?)
    }
}

/// A column of a row, as the type the store reads it as.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    Ok(row.try_get(index)?)
}

/// A pooled connection, given back when dropped (unless it broke).
pub(crate) struct Pooled<'a> {
    store: &'a PostgresStore,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.client.is_closed() {
                if let Ok(mut idle) = self.store.idle.lock() {
                    idle.push(conn);
                }
            }
        }
    }
}

pub struct PostgresStore {
    /// The runtime thread's handle: connections run their I/O there.
    runtime: tokio::runtime::Handle,
    /// Stops the runtime thread when the store is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    /// The URL without its password, for messages.
    name: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.name)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date. The password
    /// is the URL's, or `PGPASSWORD`, or the one for this server in the pgpass file the
    /// URL names with `passfile=`.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let name = crate::config::redact_url(url);
        let open_error = |reason: String| StoreError::Open {
            path: name.clone(),
            reason,
        };
        let (url, passfile) = split_passfile(url).map_err(&open_error)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_error(format!("not a PostgreSQL URL: {e}")))?;
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.to_string_lossy().as_bytes());
            } else if let Some(file) = passfile {
                if let Some(password) = passfile_password(&file, &config).map_err(&open_error)? {
                    config.password(password);
                }
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.application_name("papercast");
        let (runtime, stop) = runtime_thread().map_err(&open_error)?;
        let store = PostgresStore {
            runtime,
            _stop: stop,
            config,
            idle: Mutex::new(Vec::new()),
            name: name.clone(),
        };
        // Connect once now, so that a wrong URL or password is said at start.
        store.conn().map_err(|e| open_error(e.to_string()))?;
        store.migrate()?;
        Ok(store)
    }

    fn connect(&self) -> Result<Conn, StoreError> {
        let config = self.config.clone();
        let connecting = self.runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::warn!("state database connection: {error}");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = futures_executor::block_on(connecting)
            .map_err(|e| StoreError::Sql(format!("connecting: {e}")))??;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    /// A connection from the pool, or a new one.
    pub(crate) fn conn(&self) -> Result<Pooled<'_>, StoreError> {
        let idle = self.lock_idle()?.pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        Ok(Pooled {
            store: self,
            conn: Some(conn),
        })
    }

    fn lock_idle(&self) -> Result<MutexGuard<'_, Vec<Conn>>, StoreError> {
        let mut idle = self
            .idle
            .lock()
            .map_err(|_| StoreError::Sql("connection pool lock poisoned".into()))?;
        idle.truncate(POOL_SIZE);
        Ok(idle)
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`. A `write` takes
    /// the writers' lock first (see the module's notes).
    pub(crate) fn transaction<T>(
        &self,
        write: bool,
        work: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        conn.batch("BEGIN")?;
        let result = (|| {
            if write {
                conn.run("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
            }
            work(&mut conn)
        })();
        match result {
            Ok(value) => {
                conn.batch("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                if conn.batch("ROLLBACK").is_err() {
                    // A connection that cannot roll back is not given back to the pool.
                    drop(conn.conn.take());
                }
                Err(error)
            }
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let path = self.name.clone();
        self.transaction(true, |tx| {
            tx.batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, sql TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )?;
            let applied = tx.rows(
                "SELECT version, sql FROM schema_migrations ORDER BY version",
                &[],
            )?;
            for row in &applied {
                let version: i64 = get(row, 0)?;
                let sql: String = get(row, 1)?;
                let version = usize::try_from(version)
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| StoreError::Corrupt(format!("migration version {version}")))?;
                match MIGRATIONS.get(version - 1) {
                    None => {
                        return Err(StoreError::TooNew {
                            path,
                            found: version,
                            known: MIGRATIONS.len(),
                        })
                    }
                    Some(known) if *known != sql => {
                        return Err(StoreError::MigrationChanged { path, version })
                    }
                    Some(_) => {}
                }
            }
            for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied.len()) {
                tx.batch(sql)?;
                tx.run(
                    "INSERT INTO schema_migrations (version, sql, applied_at) VALUES ($1, $2, $3)",
                    &[&((index + 1) as i64), sql, &now()],
                )?;
            }
            Ok(())
        })
    }

    /// Copies whole tables in, ids and all, in one transaction, into a database with
    /// nothing recorded yet (refused otherwise: a copy never merges two states). Tables
    /// come in an order where each one's references are copied before it.
    pub fn copy_in(&self, tables: &[CopiedTable]) -> Result<(), StoreError> {
        self.transaction(true, |tx| {
            let mut recorded = Vec::new();
            for table in tables {
                let count: i64 = tx
                    .row(&format!("SELECT COUNT(*) FROM {}", table.name), &[])?
                    .map(|row| get(&row, 0))
                    .transpose()?
                    .unwrap_or(0);
                if count > 0 {
                    recorded.push(format!("{} ({count} rows)", table.name));
                }
            }
            if !recorded.is_empty() {
                return Err(StoreError::Conflict(format!(
                    "{} already holds a state: {}; copy into an empty database (create a new \
                     one), a copy never merges two states",
                    self.name,
                    recorded.join(", ")
                )));
            }
            for table in tables {
                let placeholders: Vec<String> =
                    (1..=table.columns.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    table.columns.join(", "),
                    placeholders.join(", ")
                );
                for row in &table.rows {
                    let params: Vec<&(dyn ToSql + Sync)> = row
                        .iter()
                        .map(|value| -> &(dyn ToSql + Sync) { value })
                        .collect();
                    tx.run(&sql, &params)?;
                }
                // New rows get ids after the copied ones.
                if table.columns.iter().any(|c| c == "id") {
                    tx.run(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                             GREATEST((SELECT MAX(id) FROM {0}), 1))",
                            table.name
                        ),
                        &[],
                    )?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn load_thread(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<ThreadRecord>, StoreError> {
        let heads = conn.rows(
            &format!(
                "SELECT id, announcement_id, account, platform, state, last_error FROM threads \
                 WHERE {where_clause} ORDER BY id"
            ),
            args,
        )?;
        let mut threads = Vec::with_capacity(heads.len());
        for row in heads {
            let id: i64 = get(&row, 0)?;
            let platform: String = get(&row, 3)?;
            let state: String = get(&row, 4)?;
            threads.push(ThreadRecord {
                id,
                announcement_id: get(&row, 1)?,
                account: get(&row, 2)?,
                platform: platform
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("thread {id}: {e}")))?,
                state: ThreadState::parse(&state)?,
                last_error: get(&row, 5)?,
                posts: Self::select_posts(conn, "thread_id = $1", &[&id])?,
            });
        }
        Ok(threads)
    }

    fn one_thread(conn: &mut Conn, id: i64) -> Result<ThreadRecord, StoreError> {
        Self::load_thread(conn, "id = $1", &[&id])?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("thread {id}")))
    }

    fn select_posts(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<PostRecord>, StoreError> {
        let rows = conn.rows(
            &format!(
                "SELECT idx, key, role_json, text, images_json, state, attempts, sending_at, \
                 remote_id, remote_url, last_sent_at, links_json FROM posts \
                 WHERE {where_clause} ORDER BY idx"
            ),
            args,
        )?;
        rows.iter()
            .map(|row| {
                let index: i64 = get(row, 0)?;
                let key: String = get(row, 1)?;
                let images: String = get(row, 4)?;
                let links: String = get(row, 11)?;
                let state: String = get(row, 5)?;
                let attempts: i64 = get(row, 6)?;
                let sending_at: Option<String> = get(row, 7)?;
                let id: Option<String> = get(row, 8)?;
                let last: Option<String> = get(row, 10)?;
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
                    remote: id.map(|id| RemotePost {
                        id,
                        url: get(row, 9).ok().flatten(),
                    }),
                    role: get(row, 2)?,
                    text: get(row, 3)?,
                    key,
                })
            })
            .collect()
    }

    pub(crate) fn load_announcement(
        conn: &mut Conn,
        id: i64,
    ) -> Result<AnnouncementRecord, StoreError> {
        let row = conn
            .row(
                "SELECT id, url, slug, title, generation, announcement_json, created_at, \
                 announced_at FROM announcements WHERE id = $1",
                &[&id],
            )?
            .ok_or_else(|| StoreError::Missing(format!("announcement {id}")))?;
        let json: String = get(&row, 5)?;
        let created_at: String = get(&row, 6)?;
        let announced_at: Option<String> = get(&row, 7)?;
        Ok(AnnouncementRecord {
            announcement: serde_json::from_str::<Announcement>(&json)
                .map_err(|e| StoreError::Corrupt(format!("announcement {id}: {e}")))?,
            created_at: parse_time(&created_at)?,
            announced_at: announced_at.as_deref().map(parse_time).transpose()?,
            id,
            url: get(&row, 1)?,
            slug: get(&row, 2)?,
            title: get(&row, 3)?,
            generation: get(&row, 4)?,
        })
    }

    /// Inserts a planned thread and its pending posts; returns the thread's id, or
    /// `None` when the account has a thread of this announcement already.
    pub(crate) fn insert_thread(
        tx: &mut Conn,
        announcement: &AnnouncementRecord,
        account: &str,
        platform: &str,
        posts: &[PlannedPost],
        plan_json: &str,
    ) -> Result<Option<i64>, StoreError> {
        let time = now();
        let row = tx.row(
            "INSERT INTO threads \
             (announcement_id, account, platform, state, plan_json, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (announcement_id, account) DO NOTHING RETURNING id",
            &[
                &announcement.id,
                &account,
                &platform,
                &ThreadState::Planned.as_str(),
                &plan_json,
                &time,
            ],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let thread_id: i64 = get(&row, 0)?;
        let prefix = announcement.key_prefix();
        for (index, post) in posts.iter().enumerate() {
            Self::insert_post(
                tx,
                thread_id,
                index,
                &decide::post_key(&prefix, account, index),
                post,
            )?;
        }
        Ok(Some(thread_id))
    }

    pub(crate) fn insert_post(
        tx: &mut Conn,
        thread_id: i64,
        index: usize,
        key: &str,
        post: &PlannedPost,
    ) -> Result<(), StoreError> {
        let images =
            serde_json::to_string(&post.images).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let links =
            serde_json::to_string(&post.links).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.run(
            "INSERT INTO posts (thread_id, idx, key, role_json, text, images_json, state, \
             links_json) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
            &[
                &thread_id,
                &(index as i64),
                &key,
                &post.role,
                &post.text,
                &images,
                &links,
            ],
        )?;
        Ok(())
    }

    fn changed_one(count: u64, key: &str) -> Result<(), StoreError> {
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("post {key}")))
        }
    }
}

/// One table of a state being copied: its columns and every row.
#[derive(Debug, Clone)]
pub struct CopiedTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<CopyValue>>>,
}

/// A value copied from another store: the column types both backends use.
#[derive(Debug, Clone)]
pub enum CopyValue {
    Int(i64),
    Text(String),
}

impl ToSql for CopyValue {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            CopyValue::Int(value) => value.to_sql(ty, out),
            CopyValue::Text(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <String as ToSql>::accepts(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

/// The runtime thread: a current-thread runtime that runs the connections until the
/// returned sender is dropped.
fn runtime_thread() -> Result<(tokio::runtime::Handle, tokio::sync::oneshot::Sender<()>), String> {
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("papercast-postgres".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => {
                    let _ = handle_tx.send(Ok(runtime.handle().clone()));
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                }
                Err(error) => {
                    let _ = handle_tx.send(Err(error.to_string()));
                }
            }
        })
        .map_err(|e| format!("starting the database thread: {e}"))?;
    let handle = handle_rx
        .recv()
        .map_err(|_| "the database thread stopped at once".to_string())??;
    Ok((handle, stop_tx))
}

/// The URL without a `passfile=` parameter (tokio-postgres knows no such option), and
/// that file.
fn split_passfile(url: &str) -> Result<(String, Option<std::path::PathBuf>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut passfile = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("passfile", file)) => {
                let file = url::form_urlencoded::parse(format!("f={file}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                passfile = Some(std::path::PathBuf::from(file));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, passfile))
}

/// The password for this server in a pgpass file (`host:port:database:user:password`,
/// `*` for any, `\` escaping `:`), as libpq reads it.
fn passfile_password(
    file: &std::path::Path,
    config: &tokio_postgres::Config,
) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("reading the passfile {}: {e}", file.display()))?;
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let database = config.get_dbname().unwrap_or_default().to_owned();
    let user = config.get_user().unwrap_or_default().to_owned();
    Ok(pgpass_lookup(&text, &[&host, &port, &database, &user]))
}

/// The password of the first line of a pgpass file that matches `wanted` (host, port,
/// database, user).
fn pgpass_lookup(text: &str, wanted: &[&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|(field, wanted)| field == "*" || field == wanted);
        if matches {
            return fields.pop();
        }
    }
    None
}

impl Store for PostgresStore {
    fn add_usage(&self, account: &str, month: &str, usage: Usage) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "INSERT INTO api_usage (account, month, requests, posts) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account, month) DO UPDATE SET \
             requests = api_usage.requests + excluded.requests, \
             posts = api_usage.posts + excluded.posts",
            &[
                &account,
                &month,
                &i64::try_from(usage.requests).unwrap_or(i64::MAX),
                &i64::try_from(usage.posts).unwrap_or(i64::MAX),
            ],
        )?;
        Ok(())
    }

    fn usage(&self, account: &str, month: &str) -> Result<Usage, StoreError> {
        let mut conn = self.conn()?;
        let row = conn.row(
            "SELECT requests, posts FROM api_usage WHERE account = $1 AND month = $2",
            &[&account, &month],
        )?;
        let (requests, posts): (i64, i64) = match row {
            Some(row) => (get(&row, 0)?, get(&row, 1)?),
            None => (0, 0),
        };
        Ok(Usage {
            requests: u64::try_from(requests).unwrap_or(0),
            posts: u64::try_from(posts).unwrap_or(0),
        })
    }

    fn announcement(&self, url: &str) -> Result<Option<AnnouncementRecord>, StoreError> {
        let mut conn = self.conn()?;
        let id: Option<i64> = conn
            .row(
                "SELECT id FROM announcements WHERE url = $1 ORDER BY generation DESC LIMIT 1",
                &[&url],
            )?
            .map(|row| get(&row, 0))
            .transpose()?;
        id.map(|id| Self::load_announcement(&mut conn, id))
            .transpose()
    }

    fn record_announcement(
        &self,
        announcement: &Announcement,
        again: bool,
    ) -> Result<AnnouncementRecord, StoreError> {
        self.transaction(true, |tx| {
            let latest = tx.row(
                "SELECT id, generation FROM announcements WHERE url = $1 \
                 ORDER BY generation DESC LIMIT 1",
                &[&announcement.url],
            )?;
            let latest: Option<(i64, i64)> = latest
                .map(|row| Ok::<_, StoreError>((get(&row, 0)?, get(&row, 1)?)))
                .transpose()?;
            let id = match latest {
                Some((id, _)) if !again => id,
                _ => {
                    let generation = latest.map_or(0, |(_, generation)| generation + 1);
                    let json = serde_json::to_string(announcement)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let row = tx
                        .row(
                            "INSERT INTO announcements \
                             (url, slug, title, generation, announcement_json, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            &[
                                &announcement.url,
                                &announcement.slug,
                                &announcement.title,
                                &generation,
                                &json,
                                &now(),
                            ],
                        )?
                        .ok_or_else(|| StoreError::Missing("the new announcement".into()))?;
                    get(&row, 0)?
                }
            };
            Self::load_announcement(tx, id)
        })
    }

    fn thread(
        &self,
        announcement_id: i64,
        account: &str,
    ) -> Result<Option<ThreadRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::load_thread(
            &mut conn,
            "announcement_id = $1 AND account = $2",
            &[&announcement_id, &account],
        )?
        .pop())
    }

    fn threads(&self, announcement_id: i64) -> Result<Vec<ThreadRecord>, StoreError> {
        let mut conn = self.conn()?;
        Self::load_thread(&mut conn, "announcement_id = $1", &[&announcement_id])
    }

    fn plan_thread(
        &self,
        announcement: &AnnouncementRecord,
        account: &str,
        platform: &str,
        posts: &[PlannedPost],
        plan_json: &str,
    ) -> Result<ThreadRecord, StoreError> {
        self.transaction(true, |tx| {
            let id =
                match Self::insert_thread(tx, announcement, account, platform, posts, plan_json)? {
                    Some(id) => id,
                    // A plan, once made, is what gets posted.
                    None => {
                        let row = tx
                        .row(
                            "SELECT id FROM threads WHERE announcement_id = $1 AND account = $2",
                            &[&announcement.id, &account],
                        )?
                        .ok_or_else(|| StoreError::Missing(format!("thread of {account}")))?;
                        get(&row, 0)?
                    }
                };
            Self::one_thread(tx, id)
        })
    }

    fn post(&self, key: &str) -> Result<Option<PostRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::select_posts(&mut conn, "key = $1", &[&key])?.pop())
    }

    fn mark_sending(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE posts SET state = 'sending', attempts = attempts + 1, \
             sending_at = COALESCE(sending_at, $2), last_sent_at = $2 \
             WHERE key = $1 AND state != 'sent'",
            &[&key, &now()],
        )?;
        Self::changed_one(count, key)
    }

    fn mark_sent(&self, key: &str, remote: &RemotePost) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE posts SET state = 'sent', remote_id = $2, remote_url = $3, sent_at = $4 \
             WHERE key = $1",
            &[&key, &remote.id, &remote.url, &now()],
        )?;
        Self::changed_one(count, key)
    }

    fn mark_unsent(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        // Already pending or sent: nothing to undo.
        conn.run(
            "UPDATE posts SET state = 'pending' WHERE key = $1 AND state = 'sending'",
            &[&key],
        )?;
        Ok(())
    }

    fn remote_ids(&self, account: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        conn.rows(
            "SELECT p.remote_id FROM posts p JOIN threads t ON p.thread_id = t.id \
             WHERE t.account = $1 AND p.remote_id IS NOT NULL",
            &[&account],
        )?
        .iter()
        .map(|row| get(row, 0))
        .collect()
    }

    fn mark_announced(&self, announcement_id: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "UPDATE announcements SET announced_at = COALESCE(announced_at, $2) WHERE id = $1",
            &[&announcement_id, &now()],
        )?;
        Ok(())
    }

    fn replan_rest(
        &self,
        thread_id: i64,
        from_index: usize,
        posts: &[PlannedPost],
    ) -> Result<ThreadRecord, StoreError> {
        self.transaction(true, |tx| {
            let from = from_index as i64;
            let sent: i64 = tx
                .row(
                    "SELECT COUNT(*) FROM posts WHERE thread_id = $1 AND idx >= $2 \
                     AND state = 'sent'",
                    &[&thread_id, &from],
                )?
                .map(|row| get(&row, 0))
                .transpose()?
                .unwrap_or(0);
            if sent > 0 {
                return Err(StoreError::Corrupt(format!(
                    "thread {thread_id}: cannot replan from post {from_index}, a later post is sent"
                )));
            }
            let first_key: String = tx
                .row(
                    "SELECT key FROM posts WHERE thread_id = $1 AND idx = 0",
                    &[&thread_id],
                )?
                .map(|row| get(&row, 0))
                .transpose()?
                .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
            let base = decide::key_base(&first_key)?.to_owned();
            let revision: i64 = tx
                .row(
                    "UPDATE threads SET revision = revision + 1, updated_at = $2 WHERE id = $1 \
                     RETURNING revision",
                    &[&thread_id, &now()],
                )?
                .map(|row| get(&row, 0))
                .transpose()?
                .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
            tx.run(
                "DELETE FROM posts WHERE thread_id = $1 AND idx >= $2",
                &[&thread_id, &from],
            )?;
            for (offset, post) in posts.iter().enumerate() {
                let index = from_index + offset;
                let key = decide::replanned_key(&base, index, revision);
                Self::insert_post(tx, thread_id, index, &key, post)?;
            }
            Self::one_thread(tx, thread_id)
        })
    }

    fn set_thread_state(
        &self,
        thread_id: i64,
        state: ThreadState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE threads SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1",
            &[&thread_id, &state.as_str(), &error, &now()],
        )?;
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

    #[test]
    fn a_passfile_line_matches_its_server_and_escapes_colons() {
        let text = "# comment\nother:5432:*:*:nope\ndb.example:5432:papercast:bot:pa\\:ss\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(text, &["db.example", "5432", "papercast", "bot"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, &["elsewhere", "1", "x", "y"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("a:b:c:d\n", &["a", "b", "c", "d"]), None);
    }

    #[test]
    fn the_passfile_parameter_is_taken_out_of_the_url() {
        let (url, file) = split_passfile(
            "postgres://bot@db:5432/papercast?passfile=%2Fetc%2Fpgpass&sslmode=disable",
        )
        .expect("split");
        assert_eq!(url, "postgres://bot@db:5432/papercast?sslmode=disable");
        assert_eq!(file, Some(std::path::PathBuf::from("/etc/pgpass")));
        let (url, file) = split_passfile("postgres://bot@db/papercast").expect("split");
        assert_eq!((url.as_str(), file), ("postgres://bot@db/papercast", None));
    }

    #[test]
    fn every_sqlite_migration_has_its_postgresql_counterpart() {
        let dir = |path: &str| -> Vec<String> {
            let mut names: Vec<String> =
                std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
                    .expect("the migrations folder")
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".sql"))
                    .collect();
            names.sort();
            names
        };
        let sqlite = dir("src/store/migrations");
        let postgres = dir("src/store/postgres/migrations");
        assert_eq!(
            postgres, sqlite,
            "each SQLite migration needs a PostgreSQL one of the same name in \
             src/store/postgres/migrations (and listed in MIGRATIONS there)"
        );
        assert_eq!(
            MIGRATIONS.len(),
            postgres.len(),
            "every file is listed in MIGRATIONS"
        );
        assert_eq!(MIGRATIONS.len(), super::super::sqlite::MIGRATIONS.len());
        for (name, embedded) in postgres.iter().zip(MIGRATIONS) {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/store/postgres/migrations")
                .join(name);
            let text = std::fs::read_to_string(path).expect("a migration file");
            assert_eq!(&text, embedded, "{name} is embedded in its place");
        }
    }
}
