//! The X test server's two helpers from npm, installed once into `target/peers/x` from
//! the committed `tests/support/x/package-lock.json`: Stoplight Prism 5.16.0, run as a
//! validating proxy over X's OpenAPI description (one per test binary), and X's own
//! `twitter-text` 3.1.0, which weighs post texts (one `weigh.js` per test binary).

use super::super::guard::{self, Guarded, Spec};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The committed package.json, package-lock.json and weigh.js.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/x")
}

/// X's OpenAPI description: `../shared/specs/x-api-v2-openapi.json` beside the
/// checkout, or `PAPERCAST_X_OPENAPI`.
pub fn spec_path() -> PathBuf {
    match std::env::var_os("PAPERCAST_X_OPENAPI") {
        Some(path) => PathBuf::from(path),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/x-api-v2-openapi.json")
        }
    }
}

/// Installs the packages into `target/peers/x` (see [`super::super::npm_installed`]).
pub fn installed() -> PathBuf {
    super::super::npm_installed("x", &sources(), &[])
}

/// A running Prism proxy.
pub struct Prism {
    pub port: u16,
    server: Mutex<Guarded>,
}

impl Prism {
    /// Starts Prism in front of `upstream` (reading the 850 kB spec takes it 10–20 s).
    pub fn start(upstream: &str) -> Prism {
        let dir = installed();
        let spec = spec_path();
        assert!(
            spec.is_file(),
            "X's OpenAPI description is missing: expected {} (or set PAPERCAST_X_OPENAPI)",
            spec.display()
        );
        let program = dir.join("node_modules/.bin/prism");
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = super::super::free_port();
            // Removed when Prism stops, that is when the test binary ends.
            let dir = tempfile::Builder::new()
                .prefix("papercast-prism-")
                .tempdir()
                .expect("a temp dir for Prism's log")
                .keep();
            let started = Instant::now();
            let mut server = Spec {
                program: &program,
                args: vec![
                    "proxy".into(),
                    spec.display().to_string(),
                    upstream.to_owned(),
                    "--errors".into(),
                    "-h".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                ],
                signal: "TERM",
                log: dir.join("prism.log"),
                user: None,
                remove: Some(&dir),
                // Plain log lines, no colour codes, so that they can be searched.
                env: vec![
                    ("NO_COLOR".into(), "1".into()),
                    ("FORCE_COLOR".into(), "0".into()),
                ],
                current_dir: Some(&dir),
            }
            .spawn();
            // Prism opens its port only once it has read the spec.
            if guard::wait_ready(&mut server, Duration::from_secs(120), || {
                guard::listening(port)
            }) {
                eprintln!("test peer: Prism ready in {:.1?}", started.elapsed());
                return Prism {
                    port,
                    server: Mutex::new(server),
                };
            }
            last_log = server.log();
            server.stop();
        }
        panic!("Prism did not start:\n{last_log}");
    }

    /// Prism's log so far.
    pub fn log(&self) -> String {
        self.server.lock().unwrap_or_else(|e| e.into_inner()).log()
    }

    /// The requests Prism's log says it ended with one of its own errors (a request
    /// outside the spec, an answer outside it, a missing token, an unknown path): one
    /// `METHOD /path: https://stoplight.io/prism/errors#KIND` line each.
    pub fn logged_errors(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                let (request, error) = line
                    .split_once("[HTTP SERVER] ")?
                    .1
                    .split_once("Request terminated with error: ")?;
                let request = request.split('\u{2716}').next().unwrap_or(request).trim();
                let kind = error.split(':').take(2).collect::<Vec<_>>().join(":");
                Some(format!("{request}: {kind}"))
            })
            .collect()
    }
}

/// The twitter-text helper, one per test binary.
struct Weigher {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn weigher() -> &'static Mutex<Result<Weigher, String>> {
    static WEIGHER: OnceLock<Mutex<Result<Weigher, String>>> = OnceLock::new();
    WEIGHER.get_or_init(|| {
        let dir = installed();
        let started = Command::new("node")
            .arg(sources().join("weigh.js"))
            .current_dir(&dir)
            .env("NODE_PATH", dir.join("node_modules"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting node weigh.js: {e}"))
            .and_then(|mut child| {
                // It exits when its stdin closes, that is with the test binary.
                Ok(Weigher {
                    stdin: child.stdin.take().ok_or("no stdin")?,
                    stdout: BufReader::new(child.stdout.take().ok_or("no stdout")?),
                })
            });
        Mutex::new(started)
    })
}

/// Starts the helper now, so that a failure shows in the test rather than as a 500.
pub fn start_weigher() {
    if let Err(e) = &*weigher().lock().unwrap_or_else(|e| e.into_inner()) {
        panic!("twitter-text is not available: {e}");
    }
}

/// The weighted length of a post's text by X's twitter-text (config v3).
pub fn weigh(text: &str) -> Result<usize, String> {
    let mut guard = weigher().lock().unwrap_or_else(|e| e.into_inner());
    let weigher = guard.as_mut().map_err(|e| e.clone())?;
    let line = serde_json::to_string(text).map_err(|e| e.to_string())?;
    writeln!(weigher.stdin, "{line}").map_err(|e| format!("writing to weigh.js: {e}"))?;
    let mut answer = String::new();
    weigher
        .stdout
        .read_line(&mut answer)
        .map_err(|e| format!("reading from weigh.js: {e}"))?;
    let answer: Value =
        serde_json::from_str(&answer).map_err(|e| format!("weigh.js answered {answer:?}: {e}"))?;
    answer["weightedLength"]
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("weigh.js: {answer}"))
}
