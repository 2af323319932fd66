//! A real Bluesky PDS on loopback: `@atproto/dev-env` 0.3.215 (PDS pinned 0.4.217) from
//! npm, installed once into `target/peers/bluesky` from the committed
//! `tests/support/bluesky/package-lock.json`, and started per test by
//! `tests/support/bluesky/pds.js` (a PLC directory and a PDS, no AppView).
//!
//! Without an AppView, `getPostThread` and `listNotifications` answer 502: the tests
//! read posts with `listRecords` and `getRecord`.

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

/// `target/peers/bluesky`.
fn install_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("peers"))
        .unwrap_or_else(|| PathBuf::from("target/peers"))
        .join("bluesky")
}

/// Installs the dev-env once per machine (and again when the lock file changes). Test
/// binaries run in parallel, so the install holds a lock on a file beside it.
fn installed() -> PathBuf {
    let dir = install_dir();
    std::fs::create_dir_all(&dir).expect("creating target/peers/bluesky");
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("locking the dev-env install");
    let package_lock =
        std::fs::read(sources().join("package-lock.json")).expect("reading package-lock.json");
    let marker = dir.join("installed-package-lock.json");
    if std::fs::read(&marker).ok().as_deref() != Some(package_lock.as_slice()) {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(sources().join(file), dir.join(file))
                .unwrap_or_else(|e| panic!("copying {file}: {e}"));
        }
        // better-sqlite3 compiles with node-gyp; the headers of the installed Node
        // (under /usr) spare it a download.
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .env("npm_config_nodedir", "/usr")
            .output()
            .unwrap_or_else(|e| panic!("running npm ci (are node and npm installed?): {e}"));
        assert!(
            output.status.success(),
            "npm ci in {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&marker, &package_lock).expect("writing the install marker");
    }
    drop(lock);
    dir
}

/// A running PLC directory and PDS; stopped when dropped.
pub struct Pds {
    child: Child,
    /// Closing it tells the script to shut down, should the kill be missed.
    _stdin: Option<ChildStdin>,
    /// The PDS's base URL, e.g. `http://127.0.0.1:PORT`.
    pub base: String,
    log: tempfile::NamedTempFile,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// An account on the PDS.
#[derive(Debug, Clone)]
pub struct Account {
    pub handle: String,
    pub did: String,
    /// An app password, as papercast gets it.
    pub app_password: String,
    /// The main password's session, for the test's own reads.
    access: String,
}

impl Pds {
    pub fn start() -> Pds {
        let dir = installed();
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut child = Command::new("node")
            .arg(sources().join("pds.js"))
            .current_dir(&dir)
            .env("NODE_PATH", dir.join("node_modules"))
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
        let Some(port) = ports["pds"].as_u64() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the PDS did not start ({line}):\n{}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        };
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
            log,
            runtime,
            http,
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
        let rest = uri.strip_prefix("at://").expect("an at:// URI");
        let parts: Vec<&str> = rest.split('/').collect();
        self.ok(
            reqwest::Method::GET,
            "com.atproto.repo.getRecord",
            None,
            None,
            &[
                ("repo", parts[0]),
                ("collection", parts[1]),
                ("rkey", parts[2]),
            ],
        )
    }

    /// Deletes a post of the account's by its `at://` URI.
    pub fn delete(&self, account: &Account, uri: &str) {
        let rkey = uri.rsplit('/').next().expect("rkey");
        self.ok(
            reqwest::Method::POST,
            "com.atproto.repo.deleteRecord",
            Some(&account.access),
            Some(json!({"repo": account.did, "collection": "app.bsky.feed.post", "rkey": rkey})),
            &[],
        );
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

/// One `[[accounts]]` table for a Bluesky account whose app password is in `env`,
/// posting without review (as `announce` did before review existed).
pub fn account_toml(name: &str, server: &str, handle: &str, env: &str) -> String {
    format!(
        "[[accounts]]\nname = \"{name}\"\nplatform = \"bluesky\"\nserver = \"{server}\"\n\
         handle = \"{handle}\"\npassword_env = \"{env}\"\nlanguage = \"en\"\nreview = \"none\"\n"
    )
}
