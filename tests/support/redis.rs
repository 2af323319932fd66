//! A real Redis server on loopback: Debian's `redis-server` (installed by `tests/run`
//! when missing), one per caller, with nothing saved to disk; stopped when dropped or
//! when the test binary ends.

use super::guard::{self, Guarded, Spec};
use std::path::PathBuf;
use std::time::Duration;

pub struct Redis {
    pub port: u16,
    server: Guarded,
    _dir: tempfile::TempDir,
}

fn program() -> PathBuf {
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-server is not installed: `apt-get install redis-server` (tests/run does it)"
            )
        })
}

impl Redis {
    pub fn start() -> Redis {
        let program = program();
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("a temp dir for redis");
            let port = super::free_port();
            let mut server = Spec {
                program: &program,
                args: [
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    &dir.path().display().to_string(),
                ]
                .map(str::to_owned)
                .to_vec(),
                signal: "TERM",
                log: dir.path().join("redis.log"),
                user: None,
                remove: None,
                env: Vec::new(),
                current_dir: None,
            }
            .spawn();
            if guard::wait_ready(&mut server, Duration::from_secs(10), || {
                guard::listening(port)
            }) {
                return Redis {
                    port,
                    server,
                    _dir: dir,
                };
            }
            last_log = server.log();
        }
        panic!("redis-server did not start:\n{last_log}");
    }

    /// `127.0.0.1:PORT`, as the AppView's `REDIS_HOST` takes it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.server.log()
    }
}
