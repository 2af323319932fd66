//! A whole papercast set-up for the watcher, queue and daemon tests: the corpus served
//! on loopback as the blog (feed and pages), a Mastodon test server with an account per
//! papercast account, and a config and state database in a temp dir.

use super::mastodon::{account_toml_review, write_config, MastodonMock};
use super::site::{Links, SiteServer};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// The feed the rig's source watches.
pub const FEED: &str = "/feed_rss_created.xml";

pub struct Account {
    pub name: String,
    pub token: String,
    pub token_env: String,
}

pub struct Rig {
    pub site: SiteServer,
    pub mock: MastodonMock,
    pub dir: tempfile::TempDir,
    pub accounts: Vec<Account>,
    /// Extra environment for every run (e.g. config overrides `PAPERCAST__...`).
    pub env: Vec<(String, String)>,
}

impl Rig {
    /// A rig whose accounts are `(name, review)`, watching the corpus feed for the
    /// `categories` (TOML) every second, with short intervals and timeouts.
    pub fn new(accounts: &[(&str, &str)], categories: &str) -> Rig {
        Rig::polling(accounts, categories, "1s")
    }

    /// [`Rig::new`] with another poll interval.
    pub fn polling(accounts: &[(&str, &str)], categories: &str, interval: &str) -> Rig {
        let site = SiteServer::start(Links::Loopback);
        let mock = MastodonMock::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut toml = String::new();
        let mut made = Vec::new();
        for (name, review) in accounts {
            let account = Account {
                name: (*name).to_owned(),
                token: mock.new_account(name),
                token_env: format!("PAPERCAST_TEST_TOKEN_{}", name.to_uppercase()),
            };
            toml.push_str(&account_toml_review(
                name,
                &mock.base,
                &account.token_env,
                review,
            ));
            made.push(account);
        }
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"blog\"\nfeed = \"{}\"\ncategories = {categories}\n\
             poll_interval = \"{interval}\"\n\n\
             [fetch]\ntimeout_secs = 2\n\n\
             [watch]\njitter_percent = 0\nmax_backoff = \"2s\"\nmax_page_attempts = 3\n\n\
             [daemon]\npublish_interval = \"200ms\"\nretry_failed_after = \"1s\"\n\n\
             [web]\nlisten = \"127.0.0.1:0\"\n",
            site.url(FEED)
        ));
        write_config(dir.path(), &toml);
        Rig {
            site,
            mock,
            dir,
            accounts: made,
            env: Vec::new(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    fn environment(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .accounts
            .iter()
            .map(|a| (a.token_env.clone(), a.token.clone()))
            .collect();
        env.extend(self.env.iter().cloned());
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Runs `papercast args` to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let env = self.environment(env);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        super::command(self.dir.path(), args, &env)
            .stdin(Stdio::null())
            .output()
            .expect("running papercast")
    }

    /// Runs `papercast args` and asserts that it exits with `code`; returns stdout and
    /// stderr together.
    pub fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "papercast {args:?}:\n{all}");
        all
    }

    /// Starts `papercast args` in the background (stdout piped, stderr to a log file);
    /// it is killed when the returned handle is dropped, so a failing test leaves no
    /// daemon behind.
    pub fn spawn(&self, args: &[&str], log: &str) -> Daemon {
        let env = self.environment(&[]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let log = std::fs::File::create(self.dir.path().join(log)).expect("log file");
        super::command(self.dir.path(), args, &env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map(Daemon)
            .expect("starting papercast")
    }

    /// A log file written by [`Rig::spawn`].
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default()
    }

    /// `queue list --format json`.
    pub fn queue(&self) -> Vec<Value> {
        let out = self.run(&["queue", "list", "--format", "json"]);
        assert!(
            out.status.success(),
            "queue list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Value = serde_json::from_slice(&out.stdout).expect("queue list JSON");
        list.as_array().expect("an array").clone()
    }

    /// `queue show ID --format json`.
    pub fn show(&self, id: i64) -> Value {
        let out = self.run(&["queue", "show", &id.to_string(), "--format", "json"]);
        assert!(
            out.status.success(),
            "queue show: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("queue show JSON")
    }

    pub fn account(&self, name: &str) -> &Account {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("no account {name}"))
    }

    /// The statuses of an account on the mock, oldest first.
    pub fn statuses(&self, name: &str) -> Vec<Value> {
        self.mock.statuses(&self.account(name).token)
    }
}

/// A `papercast` process started by [`Rig::spawn`], killed when dropped.
pub struct Daemon(Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Already gone after `terminate`; then both calls just fail.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `done` holds, checking every 100 ms; panics after `limit` with `what`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads the daemon's stdout until it says where the web page is; returns its base URL.
pub fn web_address(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line of output");
        if let Some(rest) = line.split("page is at ").nth(1) {
            let base = rest.trim().trim_end_matches('/').to_owned();
            // Keep draining stdout so that the daemon never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return base;
        }
    }
    panic!("the daemon ended without saying where its page is");
}

/// Sends SIGTERM to a child and waits for it to exit; returns its exit code.
pub fn terminate(child: &mut Child) -> Option<i32> {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -TERM failed");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for papercast") {
            return status.code();
        }
        assert!(
            Instant::now() < deadline,
            "papercast did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The ids of the drafts in a `queue list` answer, with their accounts and states.
pub fn drafts(list: &[Value]) -> Vec<(i64, String, String)> {
    list.iter()
        .map(|d| {
            (
                d["id"].as_i64().expect("an id"),
                d["account"].as_str().expect("an account").to_owned(),
                d["state"].as_str().expect("a state").to_owned(),
            )
        })
        .collect()
}
