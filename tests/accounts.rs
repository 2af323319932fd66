//! `papercast accounts check` and `accounts login` against a real Mastodon-API server.

mod support;

use support::mastodon::{account_toml, write_config, MastodonMock, BOT_TOKEN};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_names_the_account_the_server_and_its_limits() {
    let mock = MastodonMock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(
        dir.path(),
        &account_toml("gc-bot", &mock.base, "PAPERCAST_TEST_TOKEN"),
    );
    let out = support::papercast_env(
        dir.path(),
        &["accounts", "check"],
        &[("PAPERCAST_TEST_TOKEN", BOT_TOKEN)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("gc-bot: ok: @bot on http://127.0.0.1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("posts up to 500 characters (URLs count 23)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 images per post of up to 10.5 MB"),
        "{stdout}"
    );
}

#[test]
fn check_says_exactly_what_is_wrong_and_never_shows_the_token() {
    let mock = MastodonMock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = "pc-test-secret-wrong-token-91ab";
    let accounts = [
        account_toml("wrong-token", &mock.base, "PAPERCAST_TEST_WRONG"),
        account_toml("no-token", &mock.base, "PAPERCAST_TEST_UNSET"),
        account_toml("down", "http://127.0.0.1:9", "PAPERCAST_TEST_TOKEN"),
        account_toml("good", &mock.base, "PAPERCAST_TEST_TOKEN"),
    ]
    .concat();
    write_config(dir.path(), &accounts);
    let out = support::papercast_env(
        dir.path(),
        &["accounts", "check"],
        &[
            ("PAPERCAST_TEST_WRONG", wrong),
            ("PAPERCAST_TEST_TOKEN", BOT_TOKEN),
            ("RUST_LOG", "trace"),
        ],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{all}");
    // A good account is a line on stdout; a failed one is one line on stderr that names
    // it once.
    let line = |name: &str| {
        let failed = format!("papercast: FAILED: account `{name}`: ");
        let lines: Vec<&str> = all
            .lines()
            .filter(|l| l.starts_with(&format!("{name}: ")) || l.starts_with(&failed))
            .collect();
        assert_eq!(lines.len(), 1, "one report for {name}: {all}");
        assert!(
            !lines[0].contains(&format!("account `{name}`: account `{name}`")),
            "{}",
            lines[0]
        );
        if lines[0].starts_with(&failed) {
            assert!(
                !text(&out.stdout).contains(&format!("account `{name}`")),
                "a failure is reported on stderr only: {all}"
            );
        }
        lines[0].to_owned()
    };
    let wrong_line = line("wrong-token");
    assert!(
        wrong_line.contains("401") && wrong_line.contains("PAPERCAST_TEST_WRONG"),
        "{wrong_line}"
    );
    let unset = line("no-token");
    assert!(unset.contains("PAPERCAST_TEST_UNSET is not set"), "{unset}");
    let down = line("down");
    assert!(
        down.contains("FAILED") && down.contains("127.0.0.1:9"),
        "{down}"
    );
    assert!(line("good").contains("ok: @bot"), "{all}");
    assert!(
        !all.contains(wrong) && !all.contains(BOT_TOKEN),
        "a token leaked: {all}"
    );
}

/// Runs `accounts login bot` against `mock` with the token file at `token_file`, typing
/// the code the mock grants.
fn log_in(
    mock: &MastodonMock,
    dir: &std::path::Path,
    token_file: &std::path::Path,
) -> std::process::Output {
    use std::io::Write;
    write_config(
        dir,
        &format!(
            "[[accounts]]\nname = \"bot\"\nplatform = \"mastodon\"\nserver = \"{}\"\n\
             token_file = \"{}\"\n",
            mock.base,
            token_file.display()
        ),
    );
    let mut child = support::command(dir, &["accounts", "login", "bot"], &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting papercast");
    // The mock's authorization page grants this code to the user `bot`.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"mockcode_bot\n")
        .expect("typing the code");
    child.wait_with_output().expect("papercast finished")
}

#[test]
fn login_registers_the_app_and_writes_the_token_file() {
    let mock = MastodonMock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("bot.token");
    let out = log_in(&mock, dir.path(), &token_file);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("{}/oauth/authorize?", mock.base)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&token_file.display().to_string()),
        "{stdout}"
    );
    let token = std::fs::read_to_string(&token_file).expect("token file");
    assert!(!token.trim().is_empty());
    assert!(
        !stdout.contains(token.trim()),
        "the token was printed: {stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the token file is readable by others");
    }

    let out = support::papercast(dir.path(), &["accounts", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bot: ok: @bot"),
        "{}",
        text(&out.stdout)
    );
}

#[cfg(unix)]
#[test]
fn login_replaces_a_wider_token_file_with_a_0600_one_and_refuses_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let mock = MastodonMock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("bot.token");
    std::fs::write(&token_file, "old token\n").expect("an old token file");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod 644");
    let out = log_in(&mock, dir.path(), &token_file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mode = std::fs::metadata(&token_file)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the old file's mode was kept");
    let token = std::fs::read_to_string(&token_file).expect("token file");
    assert!(
        !token.contains("old token") && !token.trim().is_empty(),
        "{token}"
    );

    // A symlink in the token file's place is refused, and its target left alone.
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "not a token\n").expect("the link's target");
    let link = dir.path().join("linked.token");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = log_in(&mock, dir.path(), &link);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "not a token\n"
    );
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
}
