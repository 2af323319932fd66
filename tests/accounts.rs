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
    let line = |name: &str| {
        all.lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no line for {name}: {all}"))
            .to_owned()
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

#[test]
fn login_registers_the_app_and_writes_the_token_file() {
    use std::io::Write;
    let mock = MastodonMock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("bot.token");
    write_config(
        dir.path(),
        &format!(
            "[[accounts]]\nname = \"bot\"\nplatform = \"mastodon\"\nserver = \"{}\"\n\
             token_file = \"{}\"\n",
            mock.base,
            token_file.display()
        ),
    );
    let mut child = support::command(dir.path(), &["accounts", "login", "bot"], &[])
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
    let out = child.wait_with_output().expect("papercast finished");
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
