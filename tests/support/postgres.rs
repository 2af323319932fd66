//! A real PostgreSQL server on loopback: Debian's `postgresql` (installed by `tests/run`
//! when missing), one throwaway cluster per test binary, started on first use and
//! stopped when the binary ends, and a fresh database for each test.
//!
//! The cluster runs as the `postgres` user when the tests run as root (initdb refuses
//! root), trusts every local connection (user `postgres`, no password) and trades
//! durability for speed (`fsync=off`): it lives in a temp dir removed when it stops.
//! It is driven with the `psql` binary, so that the test support picks no PostgreSQL
//! client crate for papercast.
//!
//! ```text
//! let db = support::postgres::database();   // postgres://postgres@127.0.0.1:PORT/t_…
//! // store.url = db.url; two papercast instances given the same URL share the store
//! db.psql("SELECT count(*) FROM drafts");   // look inside from the test
//! ```

use super::guard::{self, Guarded, Spec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The binaries of the newest PostgreSQL installed: Debian keeps them in
/// `/usr/lib/postgresql/<major>/bin`, outside `PATH`.
pub fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    // Elsewhere (another distribution, a source build) the binaries are on PATH.
    let output = Command::new("pg_config").arg("--bindir").output();
    if let Some(output) = output.ok().filter(|o| o.status.success()) {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").is_file() {
            return dir;
        }
    }
    panic!(
        "PostgreSQL is not installed: `apt-get install postgresql` (tests/run does it), \
         or put initdb, postgres and psql on PATH with pg_config"
    );
}

/// The cluster this test binary shares; started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// A fresh, empty database on the shared cluster (see [`Cluster::database`]).
pub fn database() -> Database {
    cluster().database()
}

pub struct Cluster {
    pub port: u16,
    bin: PathBuf,
    /// Held until the test binary ends (statics are not dropped: the pipe inside
    /// closes with the process and so stops the server).
    server: Mutex<Guarded>,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = bin_dir();
        let started = std::time::Instant::now();
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("papercast-pg-")
                .tempdir()
                .expect("a temp dir for the cluster")
                .keep();
            let data = dir.join("data");
            if guard::running_as_root() {
                let status = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&dir)
                    .status()
                    .expect("running chown");
                assert!(status.success(), "chown postgres {}", dir.display());
            }
            let mut initdb = as_postgres(&bin.join("initdb"));
            initdb
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
                .arg("--no-sync");
            let output = initdb.output().expect("running initdb");
            assert!(
                output.status.success(),
                "initdb failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            let port = super::free_port();
            let mut server = Spec {
                program: &bin.join("postgres"),
                args: vec![
                    "-D".into(),
                    data.display().to_string(),
                    "-p".into(),
                    port.to_string(),
                    "-k".into(),
                    dir.display().to_string(),
                    "-c".into(),
                    "listen_addresses=127.0.0.1".into(),
                    "-c".into(),
                    "fsync=off".into(),
                    "-c".into(),
                    "synchronous_commit=off".into(),
                    "-c".into(),
                    "full_page_writes=off".into(),
                    // Several papercast instances and the AppView share it.
                    "-c".into(),
                    "max_connections=300".into(),
                ],
                // SIGQUIT: immediate shutdown; nothing in it needs to survive.
                signal: "QUIT",
                // The log sits beside the dir, not in it: it outlives a failed start.
                log: dir.with_extension("log"),
                user: Some("postgres"),
                remove: Some(&dir),
                env: Vec::new(),
                current_dir: None,
            }
            .spawn();
            let ready = guard::wait_ready(&mut server, Duration::from_secs(30), || {
                let mut psql = psql_command(&bin, port, "postgres");
                psql.args(["-c", "SELECT 1"]);
                psql.output().is_ok_and(|o| o.status.success())
            });
            if ready {
                eprintln!("test peer: PostgreSQL ready in {:.1?}", started.elapsed());
                let _ = std::fs::remove_file(dir.with_extension("log"));
                return Cluster {
                    port,
                    bin,
                    server: Mutex::new(server),
                };
            }
            // The port was taken in between, or the start failed: try again.
            last_log = server.log();
            server.stop();
        }
        panic!("PostgreSQL did not start:\n{last_log}");
    }

    /// `postgres://postgres@127.0.0.1:PORT/<name>`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A new empty database `t_<random>`, dropped when the handle is.
    pub fn database(&self) -> Database {
        let name = format!(
            "t_{}",
            std::iter::repeat_with(fastrand::lowercase)
                .take(12)
                .collect::<String>()
        );
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        Database {
            name: name.clone(),
            url: self.url(&name),
            port: self.port,
        }
    }

    /// Runs `sql` on database `db` with `psql` (stopping at the first error); returns
    /// its output, unaligned and without headers (`-At`: one row a line, `|` between
    /// columns). Panics with psql's message when a statement fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let output = psql_command(&self.bin, self.port, db)
            .args(["-c", sql])
            .output()
            .expect("running psql");
        assert!(
            output.status.success(),
            "psql {db} -c {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Whether the server still runs (it stops only when the test binary ends).
    pub fn running(&self) -> bool {
        let mut server = self.server.lock().unwrap_or_else(|e| e.into_inner());
        !server.exited()
    }
}

fn as_postgres(program: &Path) -> Command {
    if guard::running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn psql_command(bin: &Path, port: u16, db: &str) -> Command {
    let mut command = Command::new(bin.join("psql"));
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", db, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
        .env("PGCONNECT_TIMEOUT", "5");
    command
}

/// One test's database on the shared cluster; dropped (connections and all) with the
/// handle.
pub struct Database {
    pub name: String,
    /// `postgres://postgres@127.0.0.1:PORT/t_…`: what `store.url` would say.
    pub url: String,
    pub port: u16,
}

impl Database {
    /// Runs `sql` in this database (see [`Cluster::psql`]).
    pub fn psql(&self, sql: &str) -> String {
        cluster().psql(&self.name, sql)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Best effort: what is left behind goes with the cluster.
        let _ = psql_command(&cluster().bin, self.port, "postgres")
            .args([
                "-c",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            ])
            .output();
    }
}
