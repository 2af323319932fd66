//! Test support: real servers on loopback for the integration tests.
//!
//! Each integration test file includes this module (`mod support;`) and uses what it
//! needs, so some helpers are unused in some test binaries.
#![allow(dead_code)]

pub mod bluesky;
pub mod browser;
pub mod guard;
pub mod mastodon;
pub mod postgres;
pub mod receivers;
pub mod redis;
pub mod rig;
pub mod site;
pub mod strip_proxy;
pub mod x;

use std::path::PathBuf;

/// The real blog corpus (`shared/corpus/graphcore-research`), beside the checkout;
/// `PAPERCAST_CORPUS` points elsewhere.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("PAPERCAST_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/graphcore-research")
        }
    }
}

/// The slugs of the corpus's Papers-of-the-Month posts (those with ground truth).
pub fn potm_slugs() -> Vec<String> {
    let dir = corpus_dir().join("expected");
    let mut slugs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    slugs.sort();
    slugs
}

/// The ground truth of one corpus post.
pub fn expected(slug: &str) -> serde_json::Value {
    let path = corpus_dir().join("expected").join(format!("{slug}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Runs the `papercast` binary with `args`, in `dir`, with a clean PAPERCAST__ environment.
pub fn papercast(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    papercast_env(dir, args, &[])
}

/// The `papercast` command with `args` in `dir`: a clean PAPERCAST environment plus `env`.
pub fn command(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_papercast"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("PAPERCAST") || name == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command
}

/// Runs the `papercast` binary like [`papercast`], with extra environment variables.
pub fn papercast_env(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    command(dir, args, env)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running papercast")
}

/// `target/peers`: where the test peers are installed, kept between runs.
pub fn peers_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`.
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("peers"))
        .unwrap_or_else(|| PathBuf::from("target/peers"))
}

/// Installs the npm packages that `sources/package.json` and the committed
/// `sources/package-lock.json` pin into `target/peers/<name>`, once per machine and again
/// when the lock file changes; returns that directory (holding `node_modules`). Test
/// binaries run in parallel, so the install holds a lock on a file beside it.
pub fn npm_installed(name: &str, sources: &std::path::Path, env: &[(&str, &str)]) -> PathBuf {
    let dir = peers_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("locking the npm install");
    let package_lock =
        std::fs::read(sources.join("package-lock.json")).expect("reading package-lock.json");
    let marker = dir.join("installed-package-lock.json");
    if std::fs::read(&marker).ok().as_deref() != Some(package_lock.as_slice()) {
        let started = std::time::Instant::now();
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(sources.join(file), dir.join(file))
                .unwrap_or_else(|e| panic!("copying {file}: {e}"));
        }
        let output = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("running npm ci (are node and npm installed?): {e}"));
        assert!(
            output.status.success(),
            "npm ci in {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&marker, &package_lock).expect("writing the install marker");
        eprintln!(
            "test peer: npm ci in {} took {:.1?}",
            dir.display(),
            started.elapsed()
        );
    }
    drop(lock);
    dir
}

/// Installs `package` (pinned, `name==version`) from PyPI into the virtualenv
/// `target/peers/<name>`, once per machine; returns the virtualenv. Test binaries run
/// in parallel, so the install holds a lock on a file beside it.
pub fn pip_installed(name: &str, package: &str) -> PathBuf {
    let dir = peers_dir();
    std::fs::create_dir_all(&dir).expect("creating target/peers");
    let venv = dir.join(name);
    let marker = venv.join(format!("installed-{package}"));
    let lock = std::fs::File::create(dir.join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("locking the pip install");
    if !marker.is_file() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let status = std::process::Command::new(&python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap_or_else(|e| panic!("running {python} -m venv (is python3 installed?): {e}"));
        assert!(status.success(), "{python} -m venv failed");
        let output = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", package])
            .output()
            .expect("running pip");
        assert!(
            output.status.success(),
            "pip install {package} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(&marker, "").expect("writing the install marker");
    }
    drop(lock);
    venv
}

/// A TCP port on loopback that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Logs in as a browser does: loads the login form (its cookie and CSRF token), then
/// posts `name` and `password` with them. Returns the answer to the POST.
pub async fn post_login(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let (cookie, csrf) = login_form(client, base).await;
    client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[("name", name), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .expect("posting the login form")
}

/// The login form's cookie (`name=value`) and the CSRF token in the form.
pub async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("the login page");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("papercast_login="))
        .and_then(|v| v.split(';').next())
        .expect("the login page sets its cookie")
        .to_owned();
    let body = page.text().await.expect("the login page's body");
    let field = "name=\"csrf\" value=\"";
    let start = body.find(field).expect("a CSRF field in the login form") + field.len();
    let csrf = body[start..]
        .split('"')
        .next()
        .expect("a CSRF value")
        .to_owned();
    (cookie, csrf)
}
