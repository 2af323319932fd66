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

#[test]
fn a_fraction_in_a_whole_number_key_or_a_newline_in_user_agent_is_a_config_error_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (toml, named) in [
        ("[fetch]\ntimeout_secs = 0.5\n", "fetch.timeout_secs is 0.5"),
        ("[fetch]\ntimeout_secs = inf\n", "fetch.timeout_secs is inf"),
        ("[fetch]\nuser_agent = \"a\\nb\"\n", "fetch.user_agent"),
    ] {
        std::fs::write(dir.path().join("papercast.toml"), toml).expect("config");
        let out = support::papercast(dir.path(), &["extract", "page.html"]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{toml}: {err}");
        assert!(err.contains(named), "{toml}: {err}");
    }
}

#[test]
fn terminal_escapes_in_a_page_title_are_not_printed_by_extract_or_preview() {
    // A real corpus page whose title carries ESC[2J (clear screen) and an OSC title
    // sequence, raw and as character references: a case the corpus lacks, made from the
    // real page by the site server's rewrite.
    let site = SiteServer::start(Links::Loopback);
    let path = "/2025-02-27-potm/";
    site.control().rewrites.insert(
        path.into(),
        vec![("<h1>".into(), "<h1>\u{1b}[2J&#27;]0;owned&#7;".into())],
    );
    let url = site.url(path);
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        vec!["extract", url.as_str()],
        vec!["preview", url.as_str(), "--platform", "mastodon"],
    ] {
        let out = support::papercast(dir.path(), &args);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("[2J"),
            "{args:?}: the rewritten title is shown: {stdout}"
        );
        assert!(
            !stdout
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{args:?}: {stdout:?}"
        );
    }
}

/// `papercast <path> -h`, which must succeed.
fn help(path: &[&str]) -> String {
    let mut args: Vec<&str> = path.to_vec();
    args.push("-h");
    let out = support::papercast(&std::env::temp_dir(), &args);
    assert!(
        out.status.success(),
        "papercast {args:?}: {}",
        stderr_of(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The entries of a help section ("Commands:", "Arguments:", "Options:") as (name,
/// description), the description joined over wrapped lines.
fn section(help: &str, title: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line == title {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with(' ') {
            break;
        }
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let continued = indent > 6 && !body.starts_with('-') && !entries.is_empty();
        if continued {
            let last = entries.last_mut().expect("an entry");
            last.1.push(' ');
            last.1.push_str(body);
            continue;
        }
        let (name, description) = match body.find("  ") {
            Some(at) => (&body[..at], body[at..].trim()),
            None => (body, ""),
        };
        entries.push((name.trim().to_owned(), description.to_owned()));
    }
    entries
}

/// Every command path (`["queue", "show"]`, …), from the top-level help down.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        for (name, _) in section(&help(&refs), "Commands:") {
            if name != "help" {
                let mut child = path.clone();
                child.push(name);
                paths.push(child);
            }
        }
        i += 1;
    }
    paths
}

#[test]
fn every_command_argument_and_option_has_a_description_in_help() {
    let paths = command_paths();
    assert!(paths.len() > 20, "every command is found: {paths:?}");
    let mut missing = Vec::new();
    for path in &paths {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&refs);
        for title in ["Commands:", "Arguments:", "Options:"] {
            for (name, description) in section(&text, title) {
                // A description-less entry shows only clap's own "[default: …]".
                if description.is_empty() || description.starts_with('[') {
                    missing.push(format!("papercast {} {name}", path.join(" ")));
                }
            }
        }
    }
    assert!(missing.is_empty(), "no description in --help: {missing:#?}");
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// Every `papercast …` command the README shows, in its examples (`$ papercast …`) and
/// in its text (`` `papercast …` `` on one line).
fn readme_commands() -> Vec<String> {
    let text = readme();
    let mut commands = Vec::new();
    for line in text.lines() {
        if let Some(command) = line.strip_prefix("$ papercast ") {
            let command = command.split("  #").next().unwrap_or(command);
            commands.push(command.trim().to_owned());
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                if let Some(command) = span.strip_prefix("papercast ") {
                    commands.push(command.trim().to_owned());
                }
            }
        }
    }
    commands
}

#[test]
fn every_command_and_option_in_the_readme_exists_in_the_binary() {
    let paths: Vec<Vec<String>> = command_paths();
    let commands = readme_commands();
    assert!(
        commands.len() > 30,
        "the README's examples are found: {commands:?}"
    );
    let mut wrong = Vec::new();
    for command in &commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        // The longest run of leading words that is a command.
        let depth = (0..=words.len())
            .rev()
            .find(|&n| {
                paths
                    .iter()
                    .any(|p| p.iter().map(String::as_str).eq(words[..n].iter().copied()))
            })
            .unwrap_or(0);
        if depth == 0 {
            wrong.push(format!("papercast {command}: no such command"));
            continue;
        }
        let text = help(&words[..depth]);
        let options: Vec<String> = section(&text, "Options:")
            .into_iter()
            .flat_map(|(name, _)| {
                name.split([',', ' '])
                    .filter(|n| n.starts_with("--"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        for word in &words[depth..] {
            let flag = word.split('=').next().unwrap_or(word);
            if flag.starts_with("--") && !options.iter().any(|o| o == flag) {
                wrong.push(format!(
                    "papercast {command}: {flag} is not an option of it"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the README drifted from the binary: {wrong:#?}"
    );
}

/// The backticked and quoted names in the README paragraph that starts with `lead`.
fn readme_names(lead: &str) -> String {
    let text = readme();
    let start = text
        .find(lead)
        .unwrap_or_else(|| panic!("the README says {lead:?}"));
    let paragraph = &text[start..];
    let end = paragraph.find("\n\n").unwrap_or(paragraph.len());
    paragraph[..end].to_owned()
}

/// Every key of every object in `value`, with its path (`papers[].figure.url`).
fn keys(value: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                out.push((path.to_owned(), key.clone()));
                keys(inner, &format!("{path}{key}."), out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                keys(item, path, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_readmes_json_shapes_of_extract_and_preview_match_the_output() {
    let page = support::corpus_dir().join("site/2025-10-07-potm/index.html");
    let page = page.display().to_string();
    let dir = std::env::temp_dir();
    let run = |args: &[&str]| -> serde_json::Value {
        let out = support::papercast(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    };
    let described = readme_names("`extract --format json` prints");
    let mut found = Vec::new();
    // Pages whose intros differ (bullets, prose), so that optional fields show up too.
    for slug in [
        "2025-10-07-potm",
        "2024-04-30-potm",
        "2026-01-13-potm",
        "2024-01-29-potm",
    ] {
        let page = support::corpus_dir().join(format!("site/{slug}/index.html"));
        let page = page.display().to_string();
        keys(
            &run(&["extract", &page, "--format", "json"]),
            "",
            &mut found,
        );
    }
    for (path, key) in &found {
        assert!(
            described.contains(&format!("`{key}`")) || described.contains(&format!("`{key}[]`")),
            "extract's JSON has `{path}{key}`, which the README does not list: {described}"
        );
    }
    let described = readme_names("`preview --format json` prints");
    let preview = run(&["preview", &page, "--format", "json"]);
    assert!(preview.is_array(), "an array, one thread per platform");
    assert!(described.contains("array"), "{described}");
    let mut found = Vec::new();
    keys(&preview, "", &mut found);
    for (path, key) in &found {
        assert!(
            described.contains(&format!("\"{key}\"")),
            "preview's JSON has `{path}{key}`, which the README does not show: {described}"
        );
    }
}

#[test]
fn the_readmes_preview_sample_numbers_papers_as_preview_does() {
    // The README's sample is a real preview of this page on Bluesky.
    let page = support::corpus_dir().join("site/2024-04-30-potm/index.html");
    let out = support::papercast(
        &std::env::temp_dir(),
        &[
            "preview",
            &page.display().to_string(),
            "--platform",
            "bluesky",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    let readme = readme();
    let sample: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("--- "))
        .map(str::trim)
        .collect();
    assert!(sample.len() >= 3, "the README has a preview sample");
    for line in sample {
        assert!(
            printed.lines().any(|l| l == line),
            "README line {line:?} is not in:\n{printed}"
        );
    }
    assert!(
        printed.contains("--- 2/7 paper 1 "),
        "papers count from 1: {printed}"
    );
}

fn config_dir(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("papercast.toml"), toml).expect("write config");
    dir
}

const ACCOUNT: &str = "[[accounts]]\nname = \"gc\"\nplatform = \"mastodon\"\n\
                       server = \"http://127.0.0.1:9\"\ntoken_env = \"PAPERCAST_TEST_GC_TOKEN\"\n";

fn corpus_page(slug: &str) -> String {
    support::corpus_dir()
        .join(format!("site/{slug}/index.html"))
        .display()
        .to_string()
}

#[test]
fn a_bad_enum_in_the_config_lists_the_valid_values_under_its_dotted_key() {
    let dir = config_dir(&ACCOUNT.replace("\"mastodon\"", "\"twitter\""));
    let out = support::papercast(dir.path(), &["queue", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("`accounts[0].platform`"), "{err}");
    assert!(
        err.contains("`mastodon`") && err.contains("`bluesky`"),
        "{err}"
    );
    assert!(
        err.starts_with("papercast: config file papercast.toml: "),
        "{err}"
    );
    assert!(!err.contains("variant constructor"), "{err}");
}

#[test]
fn an_unknown_key_says_which_file_or_environment_variable_it_came_from() {
    let dir = config_dir("[fetch]\ntimeout_sec = 7\n");
    let out = support::papercast(dir.path(), &["queue", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("config file papercast.toml") && err.contains("`fetch.timeout_sec`"),
        "{err}"
    );
    let empty = tempfile::tempdir().expect("temp dir");
    let out = support::papercast_env(
        empty.path(),
        &["queue", "list"],
        &[("PAPERCAST__COMPOSE__CLOSING", "false")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("the environment variable PAPERCAST__COMPOSE__CLOSING"),
        "{err}"
    );
}

/// A draft for account `gc` (its server unreachable), made with a token in the
/// environment.
fn a_pending_draft() -> tempfile::TempDir {
    let dir = config_dir(ACCOUNT);
    let out = support::papercast_env(
        dir.path(),
        &["announce", &corpus_page("2026-01-13-potm")],
        &[("PAPERCAST_TEST_GC_TOKEN", "a token")],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    dir
}

#[test]
fn errors_name_the_account_once() {
    let dir = a_pending_draft();
    let out = support::papercast_env(
        dir.path(),
        &["queue", "approve", "1"],
        &[("PAPERCAST_TEST_GC_TOKEN", "a token")],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("account `gc`: "), "{all}");
    assert!(!all.contains("account `gc`: account `gc`"), "{all}");
}

#[test]
fn a_draft_that_failed_shows_failed_and_why_in_queue_list_and_its_json() {
    let dir = a_pending_draft();
    // No token now: posting it fails before anything is sent.
    let out = support::papercast(dir.path(), &["queue", "approve", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let out = support::papercast(dir.path(), &["queue", "list"]);
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(list.contains(" failed "), "{list}");
    assert!(
        list.contains("draft 1 failed: account `gc`: no token: the environment variable PAPERCAST_TEST_GC_TOKEN is not set"),
        "{list}"
    );
    let out = support::papercast(dir.path(), &["queue", "list", "--format", "json"]);
    let drafts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(drafts[0]["state"], "failed");
    assert!(
        drafts[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("PAPERCAST_TEST_GC_TOKEN is not set")),
        "{drafts}"
    );
}

#[test]
fn announce_dry_run_without_accounts_previews_on_the_default_limits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::papercast(
        dir.path(),
        &["announce", "--dry-run", &corpus_page("2026-01-13-potm")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("no accounts are configured"), "{printed}");
    assert!(printed.contains("`papercast preview`"), "{printed}");
    assert!(printed.contains("--- 1/5 head [218/500]"), "{printed}");
    assert!(
        !dir.path().join("papercast.db").exists(),
        "nothing recorded"
    );
}

#[test]
fn announce_dry_run_shows_each_posts_length_and_limit_like_preview() {
    let dir = config_dir(ACCOUNT);
    let page = corpus_page("2026-01-13-potm");
    let out = support::papercast(dir.path(), &["announce", "--dry-run", &page]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let dry = String::from_utf8_lossy(&out.stdout).into_owned();
    let out = support::papercast(dir.path(), &["preview", &page, "--platform", "mastodon"]);
    let preview = String::from_utf8_lossy(&out.stdout).into_owned();
    // The same lengths against the same limit, post by post.
    let lengths = |text: &str, prefix: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.split('[').nth(1))
            .map(|l| l.split(']').next().unwrap_or_default().to_owned())
            .collect()
    };
    let dry_lengths = lengths(&dry, "-- ");
    assert_eq!(dry_lengths, lengths(&preview, "--- "), "{dry}\n{preview}");
    assert!(dry_lengths.iter().all(|l| l.ends_with("/500")), "{dry}");
}

#[test]
fn a_location_that_is_neither_a_file_nor_http_says_what_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().display().to_string();
    for location in ["2025-10-07-potm", "ftp://example.org/post", folder.as_str()] {
        let out = support::papercast(dir.path(), &["extract", location]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr_of(&out);
        assert!(
            err.contains(
                "papercast reads a post from an http:// or https:// URL, or from a saved HTML page"
            ),
            "{location}: {err}"
        );
        assert!(!err.contains("os error"), "{err}");
    }
}

#[test]
fn read_only_commands_do_not_create_the_state_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["queue", "list"][..],
        &["queue", "list", "--format", "json"],
        &["queue", "show", "1"],
        &["replies", "list"],
        &["discussions", "2025-10-07-potm"],
        &["config", "show"],
        &["config", "check"],
    ] {
        support::papercast(dir.path(), args);
        assert!(
            !dir.path().join("papercast.db").exists(),
            "papercast {args:?} created papercast.db"
        );
    }
    let out = support::papercast(dir.path(), &["queue", "list", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out = support::papercast(dir.path(), &["queue", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no drafts"));
}

#[test]
fn config_check_names_a_missing_secret_and_config_show_redacts_secrets() {
    let hash = papercast::web::auth::hash_password("a password").expect("hash");
    let dir = config_dir(&format!(
        "{ACCOUNT}\n[[moderators]]\nname = \"ann\"\npassword_hash = \"{hash}\"\n"
    ));
    let out = support::papercast(dir.path(), &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("PAPERCAST_TEST_GC_TOKEN is not set"), "{err}");
    let out = support::papercast_env(
        dir.path(),
        &["config", "check"],
        &[("PAPERCAST_TEST_GC_TOKEN", "a token")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("papercast.toml: keys and values ok")
            && printed.contains("1 account(s)")
            && printed.contains("1 moderator(s)")
            && printed.contains("configuration ok"),
        "{printed}"
    );

    let out = support::papercast_env(
        dir.path(),
        &["config", "show"],
        &[("PAPERCAST__FETCH__TIMEOUT_SECS", "7")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let table: toml::Table = shown.parse().expect("config show prints TOML");
    assert_eq!(
        table["fetch"]["timeout_secs"].as_integer(),
        Some(7),
        "the environment counts"
    );
    assert_eq!(
        table["accounts"][0]["token_env"].as_str(),
        Some("PAPERCAST_TEST_GC_TOKEN")
    );
    assert_eq!(
        table["moderators"][0]["password_hash"].as_str(),
        Some("<redacted>")
    );
    assert!(!shown.contains(&hash), "{shown}");
}

#[test]
fn run_and_watch_check_every_accounts_secret_at_start() {
    let dir = config_dir(&format!(
        "{ACCOUNT}\n[[sources]]\nname = \"blog\"\nfeed = \"http://127.0.0.1:9/feed.xml\"\n\
         [web]\nlisten = \"127.0.0.1:0\"\n"
    ));
    for args in [&["run"][..], &["watch", "--once"], &["watch"]] {
        let out = support::papercast(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "papercast {args:?}: {}",
            stderr_of(&out)
        );
        let err = stderr_of(&out);
        assert!(
            err.contains("account `gc`: no token: the environment variable PAPERCAST_TEST_GC_TOKEN is not set")
                && err.contains("before it starts"),
            "{args:?}: {err}"
        );
        assert!(
            !dir.path().join("papercast.db").exists(),
            "{args:?} started"
        );
    }
}

#[test]
fn hash_password_on_a_terminal_does_not_echo_the_password() {
    use std::io::Write;
    // `script` gives the command a terminal; the password is typed into it.
    let bin = env!("CARGO_BIN_EXE_papercast");
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{bin} moderators hash-password"),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs the command on a terminal");
    let mut stdin = child.stdin.take().expect("stdin");
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(b"typed-secret-42\n").expect("typing");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("script's output");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("Password (not shown):"), "{screen}");
    assert!(
        screen.contains("$argon2id$"),
        "the hash is printed: {screen}"
    );
    assert!(
        !screen.contains("typed-secret-42"),
        "the password was echoed: {screen}"
    );
}

#[test]
fn queue_and_replies_name_the_actor_the_same_way() {
    // One way to name who did something: an option whose default is $USER.
    for (path, option) in [
        (&["queue"][..], "--as <NAME>"),
        (&["replies", "hide"], "--by <NAME>"),
        (&["replies", "unhide"], "--by <NAME>"),
        (&["replies", "hide-author"], "--by <NAME>"),
    ] {
        let options = section(&help(path), "Options:");
        let (_, description) = options
            .iter()
            .find(|(name, _)| name == option)
            .unwrap_or_else(|| panic!("papercast {path:?} has {option}: {options:?}"));
        assert_eq!(
            description, "Who you are, for the audit log (default: $USER)",
            "papercast {path:?} {option}"
        );
    }
}
