//! A server process that stops when its guard is dropped or when the test binary ends,
//! however it ends (a panic, `exit`, SIGKILL): a small `sh` runs the server in the
//! background and stops it, with `signal`, as soon as its standard input (a pipe from
//! the test binary) closes. Statics are never dropped, so a server shared by the whole
//! test binary relies on the pipe closing when the process does.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// `$1`: the signal; `$2`: a directory to remove afterwards (or ""); the rest: the
/// server's command. The server gets /dev/null as stdin (a background job of a
/// non-interactive shell would anyway); the watcher reads the pipe on fd 3.
const SCRIPT: &str = r#"
signal=$1; remove=$2; shift 2
exec 3<&0 </dev/null
"$@" 3<&- &
server=$!
{ cat <&3 >/dev/null; kill -"$signal" "$server" 2>/dev/null; } &
wait "$server"
status=$?
[ -n "$remove" ] && rm -rf -- "$remove"
exit "$status"
"#;

pub struct Guarded {
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

/// How to start a guarded server.
pub struct Spec<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    /// Signal that stops it cleanly and quickly (`TERM`, `QUIT` for PostgreSQL).
    pub signal: &'a str,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    /// Run as this user (through `runuser`) when the tests run as root.
    pub user: Option<&'a str>,
    /// A directory removed when the server has stopped.
    pub remove: Option<&'a Path>,
    pub env: Vec<(String, String)>,
    pub current_dir: Option<&'a Path>,
}

impl Spec<'_> {
    pub fn spawn(self) -> Guarded {
        let log = std::fs::File::create(&self.log)
            .unwrap_or_else(|e| panic!("creating {}: {e}", self.log.display()));
        let mut command = match self.user.filter(|_| running_as_root()) {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--", "sh"]);
                command
            }
            None => Command::new("sh"),
        };
        command
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(self.signal)
            .arg(self.remove.map(Path::as_os_str).unwrap_or_default())
            .arg(self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some(dir) = self.current_dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        let stdin = child.stdin.take();
        Guarded {
            child,
            stdin,
            log: self.log,
        }
    }
}

impl Guarded {
    /// Whether the server (and so its shell) has ended.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// What the server wrote, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Stops the server and waits (up to 10 s) until it has gone.
    pub fn stop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 50 ms until it holds (true), the server exits or `limit`
/// passes (false).
pub fn wait_ready(server: &mut Guarded, limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if server.exited() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub fn running_as_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
    })
}

/// Whether something accepts TCP connections on `127.0.0.1:port`.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}
