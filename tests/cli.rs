//! The `papercast` binary end to end: bad input gives a one-line error naming the URL.

mod support;

use support::site::{Links, SiteServer};

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_missing_page_names_the_url_and_the_status() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url("/2019-01-01-potm/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains(&url) && err.contains("404"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_non_html_answer_is_refused() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url("/_test/json/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&url) && err.contains("application/json"),
        "{err}"
    );
}

#[test]
fn an_unreachable_host_names_the_url() {
    // Bind and drop a port so that nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/2025-10-07-potm/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&url) && err.contains("could not connect"),
        "{err}"
    );
}

#[test]
fn a_server_error_names_the_url_and_the_status() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url("/_test/error/503/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains(&url) && err.contains("503"), "{err}");
}

#[test]
fn a_bad_config_value_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("papercast.toml"),
        "[fetch]\ntimeout_secs = 0\n",
    )
    .expect("write");
    let out = support::papercast(dir.path(), &["extract", "whatever.html"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("fetch.timeout_secs"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_closed_stdout_is_a_quiet_normal_end() {
    // `papercast extract … --format json | head -c 10`: the reader goes away first.
    let dir = tempfile::tempdir().expect("temp dir");
    let page = support::corpus_dir().join("site/2025-10-07-potm/index.html");
    let mut child = support::command(
        dir.path(),
        &["extract", &page.display().to_string(), "--format", "json"],
        &[],
    )
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("starting papercast");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("the first bytes");
    drop(stdout);
    let out = child.wait_with_output().expect("papercast ends");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_absurd_window_is_a_named_config_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("papercast.toml"),
        "[replies]\nwindow_days = 1000000000000\n",
    )
    .expect("write");
    let out = support::papercast(dir.path(), &["replies", "sync"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("replies.window_days"), "{err}");
}
