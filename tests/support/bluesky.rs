//! A real Bluesky network on loopback: `@atproto/dev-env` 0.3.215 (PDS pinned 0.4.217)
//! from npm, installed once into `target/peers/bluesky` from the committed
//! `tests/support/bluesky/package-lock.json`, and started per test by
//! `tests/support/bluesky/pds.js`, in one of two modes:
//!
//! - [`Pds::start`]: a PLC directory and a PDS, no AppView (ready in about 3 s).
//!   `getPostThread` and `listNotifications` answer 502 there: read posts with
//!   `listRecords` and `getRecord`.
//! - [`Pds::start_with_appview`]: the full network as in production: PLC, PDS and the
//!   AppView (bsky, with the moderation service it needs), on a fresh database of the
//!   test binary's PostgreSQL cluster ([`super::postgres`]) and a Redis of its own. The
//!   PDS serves the AppView's methods (`getPostThread`, `listNotifications`,
//!   `getPosts`) to a client with a session, as bsky.social does. Writes reach the
//!   AppView within about a second: [`Pds::wait_indexed`] and [`Pds::wait_for`] wait
//!   for it (and hurry it along).
//!
//! Both modes: accounts (`<name>.test`, with app passwords), posts, replies, likes,
//! reposts and deletions made by the test as any account.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// The committed package.json, package-lock.json and pds.js.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/bluesky")
}

/// Installs the dev-env into `target/peers/bluesky` (see [`super::npm_installed`]).
fn installed() -> PathBuf {
    // better-sqlite3 compiles with node-gyp; the headers of the installed Node (under
    // /usr) spare it a download.
    super::npm_installed("bluesky", &sources(), &[("npm_config_nodedir", "/usr")])
}

/// A running Bluesky network (PLC and PDS, and in the full mode the AppView); stopped
/// when dropped.
pub struct Pds {
    child: Child,
    /// Closing it tells the script to shut down, should the kill be missed.
    _stdin: Option<ChildStdin>,
    /// The PDS's base URL, e.g. `http://127.0.0.1:PORT`: what papercast talks to.
    pub base: String,
    /// The AppView's own base URL, in the full mode (the tests may read it directly;
    /// papercast reads it through the PDS).
    pub appview: Option<String>,
    /// The script's control port (`POST /process-all`).
    control: String,
    log: tempfile::NamedTempFile,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    // Dropped after the network (fields drop after `Drop::drop`).
    _redis: Option<super::redis::Redis>,
    _database: Option<super::postgres::Database>,
}

/// An account on the PDS.
#[derive(Debug, Clone)]
pub struct Account {
    pub handle: String,
    pub did: String,
    /// An app password, as papercast gets it.
    pub app_password: String,
    /// The main password's session, for the test's own reads and writes.
    access: String,
}

/// A record as `createRecord` answers: its `at://` URI and CID (what a reply, like or
/// repost points at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    pub uri: String,
    pub cid: String,
}

impl Pds {
    /// A PLC directory and a PDS, without an AppView.
    pub fn start() -> Pds {
        Pds::launch(false, Vec::new(), None, None)
    }

    /// The full network: PLC, PDS and AppView, on a fresh PostgreSQL database of this
    /// test binary's cluster and a Redis of its own.
    pub fn start_with_appview() -> Pds {
        let redis = super::redis::Redis::start();
        let database = super::postgres::database();
        let env = vec![
            ("DB_POSTGRES_URL".to_owned(), database.url.clone()),
            // The AppView and the moderation service each take a schema named after it.
            ("DB_POSTGRES_SCHEMA".to_owned(), "papercast".to_owned()),
            ("REDIS_HOST".to_owned(), redis.host()),
        ];
        Pds::launch(true, env, Some(redis), Some(database))
    }

    fn launch(
        appview: bool,
        env: Vec<(String, String)>,
        redis: Option<super::redis::Redis>,
        database: Option<super::postgres::Database>,
    ) -> Pds {
        let dir = installed();
        let started = std::time::Instant::now();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut command = Command::new("node");
        command.arg(sources().join("pds.js"));
        if appview {
            command.arg("--appview");
        }
        let mut child = command
            .current_dir(&dir)
            .env("NODE_PATH", dir.join("node_modules"))
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("log file"))
            .process_group(0)
            .spawn()
            .expect("starting node pds.js");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the script's stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let ports: Value = match read {
            Ok(n) if n > 0 => serde_json::from_str(&line).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let (Some(port), Some(control)) = (ports["pds"].as_u64(), ports["control"].as_u64()) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the Bluesky network did not start ({line}):\n{}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        };
        eprintln!(
            "test peer: Bluesky network ({}) ready in {:.1?}",
            if appview {
                "PLC, PDS, AppView"
            } else {
                "PLC, PDS"
            },
            started.elapsed()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test client");
        // No idle connections: this runtime only runs inside `block_on`.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()
            .expect("http client");
        Pds {
            child,
            _stdin: stdin,
            base: format!("http://127.0.0.1:{port}"),
            appview: ports["bsky"]
                .as_u64()
                .map(|port| format!("http://127.0.0.1:{port}")),
            control: format!("http://127.0.0.1:{control}"),
            log,
            runtime,
            http,
            _redis: redis,
            _database: database,
        }
    }

    /// The PDS's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn call(
        &self,
        method: reqwest::Method,
        nsid: &str,
        token: Option<&str>,
        body: Option<Value>,
        query: &[(&str, &str)],
    ) -> (u16, Value) {
        self.runtime.block_on(async {
            let mut request = self
                .http
                .request(method.clone(), format!("{}/xrpc/{nsid}", self.base))
                .query(query);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {nsid}: {e}"));
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn ok(
        &self,
        method: reqwest::Method,
        nsid: &str,
        token: Option<&str>,
        body: Option<Value>,
        query: &[(&str, &str)],
    ) -> Value {
        let (status, answer) = self.call(method, nsid, token, body, query);
        assert!((200..300).contains(&status), "{nsid}: {status}: {answer}");
        answer
    }

    /// A new account `<name>.test` with an app password.
    pub fn new_account(&self, name: &str) -> Account {
        let handle = format!("{name}.test");
        let created = self.ok(
            reqwest::Method::POST,
            "com.atproto.server.createAccount",
            None,
            Some(json!({"email": format!("{name}@example.com"), "handle": handle, "password": format!("main-{name}-pw")})),
            &[],
        );
        let access = created["accessJwt"].as_str().expect("accessJwt").to_owned();
        let app = self.ok(
            reqwest::Method::POST,
            "com.atproto.server.createAppPassword",
            Some(&access),
            Some(json!({"name": "papercast"})),
            &[],
        );
        Account {
            handle,
            did: created["did"].as_str().expect("did").to_owned(),
            app_password: app["password"].as_str().expect("app password").to_owned(),
            access,
        }
    }

    /// Every post in the account's repository, oldest record key first.
    pub fn posts(&self, account: &Account) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![
                ("repo", account.did.as_str()),
                ("collection", "app.bsky.feed.post"),
                ("limit", "100"),
                ("reverse", "true"),
            ];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page = self.ok(
                reqwest::Method::GET,
                "com.atproto.repo.listRecords",
                None,
                None,
                &query,
            );
            let records = page["records"].as_array().cloned().unwrap_or_default();
            let done = records.is_empty();
            all.extend(records);
            cursor = page["cursor"].as_str().map(str::to_owned);
            if done || cursor.is_none() {
                break;
            }
        }
        all
    }

    /// A record by its `at://` URI, as `getRecord` answers it.
    pub fn record(&self, uri: &str) -> Value {
        let (repo, collection, rkey) = split_uri(uri);
        self.ok(
            reqwest::Method::GET,
            "com.atproto.repo.getRecord",
            None,
            None,
            &[("repo", repo), ("collection", collection), ("rkey", rkey)],
        )
    }

    /// Deletes a record of the account's (a post, a reply, a like, a repost) by its
    /// `at://` URI.
    pub fn delete(&self, account: &Account, uri: &str) {
        let (repo, collection, rkey) = split_uri(uri);
        assert_eq!(
            repo, account.did,
            "{uri} is not in {}'s repository",
            account.handle
        );
        self.ok(
            reqwest::Method::POST,
            "com.atproto.repo.deleteRecord",
            Some(&account.access),
            Some(json!({"repo": account.did, "collection": collection, "rkey": rkey})),
            &[],
        );
    }

    fn create_record(&self, account: &Account, collection: &str, record: Value) -> RecordRef {
        let created = self.ok(
            reqwest::Method::POST,
            "com.atproto.repo.createRecord",
            Some(&account.access),
            Some(json!({"repo": account.did, "collection": collection, "record": record})),
            &[],
        );
        RecordRef {
            uri: created["uri"].as_str().expect("uri").to_owned(),
            cid: created["cid"].as_str().expect("cid").to_owned(),
        }
    }

    /// A top-level post by the account.
    pub fn post(&self, account: &Account, text: &str) -> RecordRef {
        self.create_record(
            account,
            "app.bsky.feed.post",
            json!({"$type": "app.bsky.feed.post", "text": text, "createdAt": now()}),
        )
    }

    /// A reply by the account to the post at `parent` (any account's): its root is the
    /// parent's root, or the parent itself when that is a top-level post.
    ///
    /// With the AppView, it first waits until the AppView shows the parent, as a reader
    /// sees a post before answering it (the AppView indexes repositories in parallel,
    /// and a reply indexed before its parent notifies no one).
    pub fn reply(&self, account: &Account, parent: &str, text: &str) -> RecordRef {
        self.seen_by_appview(parent);
        let record = self.record(parent);
        let parent_ref = json!({"uri": parent, "cid": record["cid"]});
        let root = match record["value"]["reply"]["root"] {
            Value::Null => parent_ref.clone(),
            ref root => root.clone(),
        };
        self.create_record(
            account,
            "app.bsky.feed.post",
            json!({
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": now(),
                "reply": {"root": root, "parent": parent_ref},
            }),
        )
    }

    /// Where there is an AppView, waits until it shows the post (see [`Pds::reply`]).
    fn seen_by_appview(&self, uri: &str) {
        if self.appview.is_some() {
            self.wait_indexed(uri);
        }
    }

    fn subject(&self, uri: &str) -> Value {
        self.seen_by_appview(uri);
        json!({"uri": uri, "cid": self.record(uri)["cid"]})
    }

    /// A quote post by the account of the post at `uri` (with the AppView, once it
    /// shows the post).
    pub fn quote(&self, account: &Account, uri: &str, text: &str) -> RecordRef {
        let subject = self.subject(uri);
        self.create_record(
            account,
            "app.bsky.feed.post",
            json!({
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": now(),
                "embed": {"$type": "app.bsky.embed.record", "record": subject},
            }),
        )
    }

    /// A like by the account of the post at `uri` (with the AppView, once it shows the
    /// post); returns the like record.
    pub fn like(&self, account: &Account, uri: &str) -> RecordRef {
        let subject = self.subject(uri);
        self.create_record(
            account,
            "app.bsky.feed.like",
            json!({"$type": "app.bsky.feed.like", "subject": subject, "createdAt": now()}),
        )
    }

    /// A repost by the account of the post at `uri` (with the AppView, once it shows
    /// the post); returns the repost record.
    pub fn repost(&self, account: &Account, uri: &str) -> RecordRef {
        let subject = self.subject(uri);
        self.create_record(
            account,
            "app.bsky.feed.repost",
            json!({"$type": "app.bsky.feed.repost", "subject": subject, "createdAt": now()}),
        )
    }

    fn appview_base(&self) -> &str {
        self.appview
            .as_deref()
            .expect("this network has no AppView: start it with Pds::start_with_appview")
    }

    /// Asks the network to pass everything written so far on to the AppView, and waits
    /// until it has (the AppView also follows on its own within about a second).
    pub fn process_all(&self) {
        self.appview_base();
        self.runtime.block_on(async {
            let response = self
                .http
                .post(format!("{}/process-all", self.control))
                .send()
                .await
                .expect("POST /process-all");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "process-all: {status}: {text}");
        })
    }

    /// A GET of an AppView method through the PDS, with the account's session: what
    /// papercast sees (e.g. `app.bsky.feed.getPostThread`).
    pub fn read(&self, account: &Account, nsid: &str, query: &[(&str, &str)]) -> Value {
        self.appview_base();
        self.ok(
            reqwest::Method::GET,
            nsid,
            Some(&account.access),
            None,
            query,
        )
    }

    /// The thread under the post at `uri` as the account sees it through the PDS
    /// (`getPostThread`, depth 10).
    pub fn thread(&self, account: &Account, uri: &str) -> Value {
        self.read(
            account,
            "app.bsky.feed.getPostThread",
            &[("uri", uri), ("depth", "10")],
        )
    }

    /// The AppView's view of a post (`getPosts`), or `None` while it has not indexed it
    /// (or after it indexed its deletion).
    pub fn indexed_post(&self, uri: &str) -> Option<Value> {
        let url = format!("{}/xrpc/app.bsky.feed.getPosts", self.appview_base());
        let answer: Value = self.runtime.block_on(async {
            let response = self
                .http
                .get(url)
                .query(&[("uris", uri)])
                .send()
                .await
                .expect("getPosts");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "getPosts: {status}: {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        });
        answer["posts"].as_array()?.first().cloned()
    }

    /// Waits (up to 30 s) until the AppView has indexed the post at `uri`; returns its
    /// view (with `replyCount`, `likeCount`, `repostCount`, `quoteCount`).
    pub fn wait_indexed(&self, uri: &str) -> Value {
        let mut found = None;
        self.wait_for(&format!("the AppView to index {uri}"), || {
            found = self.indexed_post(uri);
            found.is_some()
        });
        found.expect("the indexed post")
    }

    /// Waits (up to 30 s) until `done` holds, letting the AppView catch up in between;
    /// panics with `what` after that.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            self.process_all();
            if done() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether a blob is stored for the account.
    pub fn has_blob(&self, account: &Account, cid: &str) -> bool {
        let (status, _) = self.call(
            reqwest::Method::GET,
            "com.atproto.sync.getBlob",
            Some(&account.access),
            None,
            &[("did", account.did.as_str()), ("cid", cid)],
        );
        status == 200
    }
}

impl Drop for Pds {
    fn drop(&mut self) {
        // The script and anything it started share its process group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// `(repo, collection, rkey)` of an `at://` URI.
pub fn split_uri(uri: &str) -> (&str, &str, &str) {
    let rest = uri
        .strip_prefix("at://")
        .unwrap_or_else(|| panic!("not an at:// URI: {uri}"));
    let mut parts = rest.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(repo), Some(collection), Some(rkey)) => (repo, collection, rkey),
        _ => panic!("not a record URI: {uri}"),
    }
}

/// The current time as a record's `createdAt` wants it.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One `[[accounts]]` table for a Bluesky account whose app password is in `env`,
/// posting without review (as `announce` did before review existed).
pub fn account_toml(name: &str, server: &str, handle: &str, env: &str) -> String {
    format!(
        "[[accounts]]\nname = \"{name}\"\nplatform = \"bluesky\"\nserver = \"{server}\"\n\
         handle = \"{handle}\"\npassword_env = \"{env}\"\nlanguage = \"en\"\nreview = \"none\"\n"
    )
}
