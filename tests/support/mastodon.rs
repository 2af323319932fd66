//! A real Mastodon-API server on loopback: the PyPI package `mastodon_mock` (0.6.1),
//! installed once into `target/peers/mastodon` and started per test on a free port.
//!
//! Differences from real Mastodon that matter here (see `shared/PEERS.md`): it counts
//! length in raw code points (URLs in full), its 429 sends `X-RateLimit-Reset` in epoch
//! seconds, and a `timeout` fault holds the request ≥ 30 s and then still creates the
//! status.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PACKAGE: &str = "mastodon_mock==0.6.1";

/// The seeded bot account's token: distinctive, so tests can search output for it.
pub const BOT_TOKEN: &str = "pc-test-secret-bot-6f1d8e2a9b";
pub const ALICE_TOKEN: &str = "pc-test-secret-alice-3c7b0d55";

/// Installs the mock once per machine (`target/peers/mastodon`).
fn installed() -> PathBuf {
    super::pip_installed("mastodon", PACKAGE).join("bin/mastodon_mock")
}

/// A running mock server; stopped when dropped.
pub struct MastodonMock {
    child: Child,
    pub base: String,
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl MastodonMock {
    pub fn start() -> MastodonMock {
        let program = installed();
        let mut last_log = String::new();
        for _ in 0..3 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the test client");
            // No idle connections: this runtime only runs inside `block_on`, so it never
            // notices the server closing one, and would reuse it dead.
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(0)
                .build()
                .expect("http client");
            let dir = tempfile::tempdir().expect("temp dir");
            let config = dir.path().join("mock.toml");
            std::fs::write(
                &config,
                format!(
                    "media_storage_path = \"{}\"\n[database]\npath = \"{}\"\n\
                     [[seed.accounts]]\nusername = \"bot\"\nbot = true\naccess_token = \"{BOT_TOKEN}\"\n\
                     [[seed.accounts]]\nusername = \"alice\"\naccess_token = \"{ALICE_TOKEN}\"\n",
                    // Uploads go into the temp dir too, removed with it (by default the
                    // mock leaves them in /tmp).
                    dir.path().join("media").display(),
                    dir.path().join("mock.db").display()
                ),
            )
            .expect("writing mock.toml");
            let port = super::free_port();
            let log = std::fs::File::create(dir.path().join("mock.log")).expect("log file");
            let child = Command::new(&program)
                .args(["serve", "--config"])
                .arg(&config)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--log-level", "warning"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("starting mastodon_mock");
            let mut mock = MastodonMock {
                child,
                base: format!("http://127.0.0.1:{port}"),
                dir,
                runtime,
                http,
            };
            if mock.wait_ready() {
                return mock;
            }
            // The port was taken in between, or the start failed: try another.
            let _ = mock.child.kill();
            let _ = mock.child.wait();
            last_log = mock.log();
        }
        panic!("mastodon_mock did not start:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let ok = self.runtime.block_on(async {
                self.http
                    .get(format!("{}/api/v1/instance", self.base))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mock.log")).unwrap_or_default()
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        self.runtime.block_on(async {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_success(), "{method} {path}: {status}: {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    /// Adds a fault rule (`POST /api/v1/_mock/faults`).
    pub fn fault(&self, rule: Value) {
        self.request(
            reqwest::Method::POST,
            "/api/v1/_mock/faults",
            None,
            Some(rule),
        );
    }

    /// Adds `count` pass-through rules for `POST path`, so that the next fault added
    /// for it fires on request number `count + 1`.
    pub fn skip_requests(&self, path: &str, count: usize) {
        if count > 0 {
            self.fault(json!({
                "match": {"methods": ["POST"], "path": path},
                "effect": {"type": "latency", "delay_ms": 1},
                "count": count
            }));
        }
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.request(reqwest::Method::DELETE, "/api/v1/_mock/faults", None, None);
    }

    /// A new account; returns its token.
    pub fn new_account(&self, username: &str) -> String {
        let answer = self.request(
            reqwest::Method::POST,
            "/api/v1/_mock/dev_user",
            None,
            Some(json!({ "username": username })),
        );
        answer["access_token"]
            .as_str()
            .expect("a token for the new account")
            .to_owned()
    }

    /// The id of the token's account.
    pub fn account_id(&self, token: &str) -> String {
        let me = self.request(
            reqwest::Method::GET,
            "/api/v1/accounts/verify_credentials",
            Some(token),
            None,
        );
        me["id"].as_str().expect("an account id").to_owned()
    }

    /// Posts a public status as the token's account (a reply when `in_reply_to`).
    pub fn post_status(&self, token: &str, text: &str, in_reply_to: Option<&str>) -> Value {
        let mut body = json!({ "status": text, "visibility": "public" });
        if let Some(parent) = in_reply_to {
            body["in_reply_to_id"] = parent.into();
        }
        self.post_json(token, body)
    }

    /// Posts a status with the fields of `body` as the token's account.
    pub fn post_json(&self, token: &str, body: Value) -> Value {
        self.request(
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(token),
            Some(body),
        )
    }

    /// Edits a status of the token's account (`PUT /api/v1/statuses/:id`).
    pub fn edit_status(&self, token: &str, id: &str, text: &str) -> Value {
        self.request(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(token),
            Some(json!({ "status": text })),
        )
    }

    /// Favourites (`favourite`) or reblogs (`reblog`) a status as the token's account.
    pub fn act_on(&self, token: &str, id: &str, action: &str) {
        self.request(
            reqwest::Method::POST,
            &format!("/api/v1/statuses/{id}/{action}"),
            Some(token),
            None,
        );
    }

    /// Deletes a status of the token's account.
    pub fn delete_status(&self, token: &str, id: &str) {
        self.request(
            reqwest::Method::DELETE,
            &format!("/api/v1/statuses/{id}"),
            Some(token),
            None,
        );
    }

    /// Changes the token's account (`PATCH /api/v1/accounts/update_credentials`, a
    /// form, as Mastodon takes it), e.g. `&[("bot", "true")]`.
    pub fn update_credentials(&self, token: &str, form: &[(&str, &str)]) {
        self.runtime.block_on(async {
            let response = self
                .http
                .patch(format!("{}/api/v1/accounts/update_credentials", self.base))
                .bearer_auth(token)
                .form(form)
                .send()
                .await
                .expect("update_credentials");
            let status = response.status();
            assert!(
                status.is_success(),
                "update_credentials: {status}: {}",
                response.text().await.unwrap_or_default()
            );
        })
    }

    /// A GET of any API path as the token's account.
    pub fn get(&self, path: &str, token: &str) -> Value {
        self.request(reqwest::Method::GET, path, Some(token), None)
    }

    /// Every status of the token's account, oldest first.
    pub fn statuses(&self, token: &str) -> Vec<Value> {
        let id = self.account_id(token);
        let mut all = Vec::new();
        let mut max_id: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/accounts/{id}/statuses?limit=40");
            if let Some(max) = &max_id {
                path.push_str(&format!("&max_id={max}"));
            }
            let page = self.request(reqwest::Method::GET, &path, Some(token), None);
            let page = page.as_array().cloned().unwrap_or_default();
            if page.is_empty() {
                break;
            }
            max_id = page
                .last()
                .and_then(|s| s["id"].as_str())
                .map(str::to_owned);
            all.extend(page);
        }
        all.reverse();
        all
    }
}

impl Drop for MastodonMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The visible text of a status's HTML content, without any white space (servers turn
/// line breaks into markup, so only the characters can be compared).
pub fn squashed_text(status: &Value) -> String {
    let html = status["content"].as_str().unwrap_or_default();
    let fragment = scraper::Html::parse_fragment(html);
    let text: String = fragment.root_element().text().collect();
    squash(&text)
}

pub fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// One `[[accounts]]` table for a mock account whose token is in `token_env`, posting
/// without review (as `announce` did before review existed).
pub fn account_toml(name: &str, server: &str, token_env: &str) -> String {
    account_toml_review(name, server, token_env, "none")
}

/// One `[[accounts]]` table with the given `review` policy (`required` or `none`).
pub fn account_toml_review(name: &str, server: &str, token_env: &str, review: &str) -> String {
    format!(
        "[[accounts]]\nname = \"{name}\"\nplatform = \"mastodon\"\nserver = \"{server}\"\n\
         token_env = \"{token_env}\"\nlanguage = \"en\"\nreview = \"{review}\"\n"
    )
}

/// A config file in `dir` with a state database there, short timeouts and waits (the
/// mock answers on loopback), and `accounts`.
pub fn write_config(dir: &Path, accounts: &str) -> PathBuf {
    let path = dir.join("papercast.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"{}\"\n\n[publish]\nrequest_timeout_secs = 2\n\
             backoff_initial_ms = 100\nbackoff_max_secs = 1\nmax_rate_limit_wait_secs = 20\n\n\
             {accounts}",
            dir.join("state.db").display()
        ),
    )
    .expect("writing papercast.toml");
    path
}
