//! `papercast announce` end to end: the real corpus served on loopback, a real
//! Mastodon-API server (mastodon_mock) with fault injection, the real binary.
//!
//! Every case checks the account's statuses on the server afterwards: exactly the
//! thread `preview` shows, once, each post replying to the one before.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::mastodon::{account_toml, squash, squashed_text, write_config, MastodonMock};
use support::site::{Links, SiteServer};

/// The corpus post whose figures are in the corpus (so uploads can be checked).
const SLUG: &str = "2025-10-07-potm";
const TOKEN_ENV: &str = "PAPERCAST_TEST_TOKEN";
/// The mock's length limit, in raw code points.
const MOCK_MAX: usize = 500;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One post as `preview` shows it.
#[derive(Debug, Clone)]
struct Expected {
    text: String,
    /// (image URL, alt text)
    images: Vec<(String, String)>,
}

/// The Mastodon thread `preview` shows for the post at `url`.
fn preview(url: &str) -> Vec<Expected> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::papercast(
        dir.path(),
        &["preview", url, "--platform", "mastodon", "--format", "json"],
    );
    assert!(out.status.success(), "preview: {}", text(&out.stderr));
    let threads: Value = serde_json::from_slice(&out.stdout).expect("preview JSON");
    threads[0]["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| Expected {
            text: post["text"].as_str().expect("text").to_owned(),
            images: post["images"]
                .as_array()
                .map(|images| {
                    images
                        .iter()
                        .map(|i| {
                            (
                                i["url"].as_str().unwrap_or_default().to_owned(),
                                i["alt"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// A fresh account on `mock` with its own state and config in a temp dir.
struct Account {
    name: String,
    token: String,
    dir: tempfile::TempDir,
}

impl Account {
    fn new(mock: &MastodonMock, name: &str) -> Account {
        Account::on(mock, &mock.base, name, "")
    }

    /// An account on `mock` reached at `server` (e.g. through a proxy), with `extra`
    /// TOML in its config.
    fn on(mock: &MastodonMock, server: &str, name: &str, extra: &str) -> Account {
        let token = mock.new_account(name);
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(
            dir.path(),
            &format!("{}\n{extra}", account_toml(name, server, TOKEN_ENV)),
        );
        Account {
            name: name.into(),
            token,
            dir,
        }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("state.db")
    }

    /// Asserts the account's thread (see [`assert_thread_once`]).
    fn assert_thread(&self, mock: &MastodonMock, expected: &[Expected], context: &str) {
        assert_thread_once(
            mock,
            &self.token,
            &self.db(),
            &self.name,
            expected,
            true,
            context,
        );
    }

    fn announce(&self, url: &str, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["announce", url];
        args.extend_from_slice(extra);
        support::papercast_env(self.dir.path(), &args, &[(TOKEN_ENV, &self.token)])
    }
}

/// One post as papercast recorded it (before sending), from its state database.
struct Recorded {
    text: String,
    alts: Vec<String>,
    state: String,
    remote_id: Option<String>,
}

/// The posts of `account`'s thread in the latest announcement recorded in `db`, read
/// through the store's contract (so that the check holds for any store).
fn recorded(db: &Path, account: &str) -> Vec<Recorded> {
    use papercast::store::{DraftFilter, ReviewStore, SqliteStore};
    let store = SqliteStore::open(db).expect("opening the state database");
    let drafts = store.drafts(DraftFilter::All).expect("reading the drafts");
    let Some(thread) = drafts
        .into_iter()
        .map(|draft| draft.thread)
        .filter(|thread| thread.account == account)
        .max_by_key(|thread| thread.announcement_id)
    else {
        return Vec::new();
    };
    thread
        .posts
        .into_iter()
        .map(|post| Recorded {
            text: post.text,
            alts: post.images.into_iter().map(|image| image.alt).collect(),
            state: post.state.as_str().to_owned(),
            remote_id: post.remote.map(|remote| remote.id),
        })
        .collect()
}

/// Asserts that the account's statuses are its thread, each post once, chained: the
/// posts papercast recorded before sending, which are `preview`'s thread — except
/// that a post the mock refused as too long (it counts URLs in full) was refitted,
/// and the rest of the thread from it on with it.
fn assert_thread_once(
    mock: &MastodonMock,
    token: &str,
    db: &Path,
    account: &str,
    expected: &[Expected],
    figures: bool,
    context: &str,
) {
    let statuses = mock.statuses(token);
    let texts: Vec<String> = statuses.iter().map(squashed_text).collect();
    let posts = recorded(db, account);
    assert_eq!(
        statuses.len(),
        posts.len(),
        "{context}: the account has {} statuses, the thread {} posts:\n{texts:#?}",
        statuses.len(),
        posts.len()
    );
    for (i, (status, post)) in statuses.iter().zip(&posts).enumerate() {
        assert_eq!(texts[i], squash(&post.text), "{context}: post {i}'s text");
        assert_eq!(post.state, "sent", "{context}: post {i} is recorded sent");
        assert_eq!(
            post.remote_id.as_deref(),
            status["id"].as_str(),
            "{context}: post {i}'s recorded id"
        );
        let parent = &status["in_reply_to_id"];
        if i == 0 {
            assert!(parent.is_null(), "{context}: the head replies to {parent}");
        } else {
            assert_eq!(
                parent,
                &statuses[i - 1]["id"],
                "{context}: post {i} does not reply to post {}",
                i - 1
            );
        }
        let media: Vec<&str> = status["media_attachments"]
            .as_array()
            .map(|m| m.iter().filter_map(|a| a["description"].as_str()).collect())
            .unwrap_or_default();
        let alts: Vec<&str> = if figures {
            post.alts.iter().map(String::as_str).collect()
        } else {
            vec![]
        };
        assert_eq!(media, alts, "{context}: post {i}'s images and alt texts");
    }
    // The recorded plan is preview's thread, up to a post that was refitted.
    let same = expected
        .iter()
        .zip(&posts)
        .take_while(|(e, p)| squash(&e.text) == squash(&p.text))
        .count();
    if same < expected.len() {
        assert!(
            expected[same].text.chars().count() > MOCK_MAX || context.contains("refit"),
            "{context}: post {same} differs from preview without a reason to refit it"
        );
    } else {
        assert_eq!(
            posts.len(),
            expected.len(),
            "{context}: the thread is preview's"
        );
    }
    for (i, post) in expected.iter().enumerate().take(same) {
        let alts: Vec<&str> = post.images.iter().map(|(_, alt)| alt.as_str()).collect();
        assert_eq!(
            posts[i].alts, alts,
            "{context}: post {i}'s figures as previewed"
        );
    }
    // Whatever was refitted, every link of the thread is posted.
    let all = texts.concat();
    for post in expected {
        for link in post
            .text
            .split_whitespace()
            .filter(|w| w.starts_with("http"))
        {
            assert!(all.contains(link), "{context}: {link} was not posted");
        }
    }
}

#[test]
fn announce_posts_the_preview_thread_once_with_images_and_says_so_when_run_again() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    assert_eq!(expected.len(), 6, "head, four papers, closing");
    assert!(
        expected.iter().filter(|p| !p.images.is_empty()).count() >= 4,
        "the papers' figures: {expected:#?}"
    );

    let account = Account::new(&mock, "gcbot");
    let out = account.announce(&url, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    account.assert_thread(&mock, &expected, "first run");
    let head = &mock.statuses(&account.token)[0];
    let link = head["url"].as_str().expect("head url");
    assert_eq!(
        stdout.trim(),
        format!("gcbot: {link} (posted 6 posts)"),
        "prints the thread's link"
    );
    // Uploaded figures are the corpus files themselves, as PNG.
    let media = &mock.statuses(&account.token)[1]["media_attachments"][0];
    assert_eq!(media["type"], "image", "{media}");

    let out = account.announce(&url, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("already announced"), "{stderr}");
    assert!(
        text(&out.stdout).contains(&format!("gcbot: {link} (already announced")),
        "{}",
        text(&out.stdout)
    );
    account.assert_thread(&mock, &expected, "second run");

    // --again posts a second, complete thread.
    let out = account.announce(&url, &["--again"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let statuses = mock.statuses(&account.token);
    assert_eq!(statuses.len(), 12);
    assert!(statuses[6]["in_reply_to_id"].is_null(), "a new head");
    assert_eq!(statuses[7]["in_reply_to_id"], statuses[6]["id"]);
}

#[test]
fn a_missing_figure_leaves_its_post_without_it_and_warns() {
    // The figures of posts other than two are not in the corpus: the page links to
    // images that answer 404.
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url("/2025-09-08-potm/");
    let expected = preview(&url);
    assert!(
        expected.iter().any(|p| !p.images.is_empty()),
        "{expected:#?}"
    );
    let account = Account::new(&mock, "nofigs");
    let out = account.announce(&url, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("404") && stderr.contains("posting without it"),
        "{stderr}"
    );
    // This post's review links are long: a post fitted with URLs counted as 23 is over
    // the mock's raw limit, which answers 422, and papercast refits it.
    assert!(
        expected.iter().any(|p| p.text.chars().count() > MOCK_MAX) == stderr.contains("refitting"),
        "{stderr}"
    );
    assert_thread_once(
        &mock,
        &account.token,
        &account.db(),
        "nofigs",
        &expected,
        false,
        "missing figures",
    );
}

/// The positions a fault hits: the first post, a middle one, the last one.
fn positions(expected: &[Expected]) -> [usize; 3] {
    [0, expected.len() / 2, expected.len() - 1]
}

/// Runs `announce` with `fault` on the statuses endpoint at each position (fresh
/// account each), reruns it while it fails, and checks the thread.
fn fault_case(name: &str, fault: impl Fn() -> Value, rerun_expected: bool) {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    for position in positions(&expected) {
        let context = format!("{name} on post {position}");
        let account = Account::new(&mock, &format!("{name}{position}"));
        mock.clear_faults();
        mock.skip_requests("/api/v1/statuses", position);
        mock.fault(fault());
        let out = account.announce(&url, &[]);
        let stderr = text(&out.stderr);
        if rerun_expected {
            assert_eq!(out.status.code(), Some(3), "{context}: {stderr}");
            assert!(
                stderr.contains("run `papercast announce` again"),
                "{context}: {stderr}"
            );
            let out = account.announce(&url, &[]);
            let stdout = text(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{context}: {}",
                text(&out.stderr)
            );
            if position > 0 {
                assert!(
                    stdout.contains(&format!("posted the {} missing of 6 posts", 6 - position)),
                    "{context}: {stdout}"
                );
            }
        } else {
            assert_eq!(out.status.code(), Some(0), "{context}: {stderr}");
        }
        account.assert_thread(&mock, &expected, &context);
    }
}

fn status_fault(code: u16) -> Value {
    json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": code},
        "count": 1
    })
}

#[test]
fn a_500_or_503_is_retried_and_nothing_is_posted_twice() {
    fault_case("e500x", || status_fault(500), false);
    fault_case("e503x", || status_fault(503), false);
}

#[test]
fn a_malformed_answer_is_checked_then_retried_and_nothing_is_posted_twice() {
    fault_case(
        "malformed",
        || {
            json!({
                "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
                "effect": {"type": "malformed"},
                "count": 1
            })
        },
        false,
    );
}

#[test]
fn a_429_waits_for_the_reset_given_in_epoch_seconds_or_iso_8601() {
    let epoch = || {
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 2;
        json!({
            "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
            "effect": {"type": "ratelimit",
                       "headers": {"X-RateLimit-Reset": reset.to_string(), "Retry-After": "2"}},
            "count": 1
        })
    };
    fault_case("epoch", epoch, false);
    let iso = || {
        let reset = chrono::Utc::now() + chrono::Duration::seconds(2);
        json!({
            "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
            "effect": {"type": "ratelimit", "headers": {
                "X-RateLimit-Reset": reset.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "Retry-After": "2"}},
            "count": 1
        })
    };
    fault_case("iso", iso, false);
}

#[test]
fn a_rate_limit_longer_than_the_cap_stops_the_account_and_a_rerun_finishes() {
    // The mock's own default: reset in 300 s, beyond the 20 s the test config waits.
    fault_case(
        "longlimit",
        || {
            json!({
                "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
                "effect": {"type": "ratelimit"},
                "count": 1
            })
        },
        true,
    );
}

#[test]
fn a_401_stops_the_account_naming_the_token_variable_and_a_rerun_finishes() {
    fault_case("unauth", || status_fault(401), true);
    // The message says which account and which variable.
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let account = Account::new(&mock, "wrongtoken");
    let out = support::papercast_env(
        account.dir.path(),
        &["announce", &site.url(&format!("/{SLUG}/"))],
        &[(TOKEN_ENV, "pc-test-secret-not-a-token")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("account `wrongtoken`")
            && stderr.contains("401")
            && stderr.contains(TOKEN_ENV),
        "{stderr}"
    );
    assert!(!stderr.contains("pc-test-secret-not-a-token"), "{stderr}");
}

#[test]
fn a_request_held_past_the_timeout_is_looked_up_and_never_duplicated() {
    // The mock holds the request 30 s and then creates the status anyway; papercast
    // gives up after 2 s (test config), looks, finds nothing yet, and sends again with
    // the same Idempotency-Key. When the held request completes, the server must
    // answer it with the status already created.
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let mut accounts = Vec::new();
    let mut last_fault = Instant::now();
    for position in positions(&expected) {
        let account = Account::new(&mock, &format!("held{position}"));
        mock.clear_faults();
        mock.skip_requests("/api/v1/statuses", position);
        mock.fault(json!({
            "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
            "effect": {"type": "timeout"},
            "count": 1
        }));
        let started = Instant::now();
        let out = account.announce(&url, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "held on post {position}: {stderr}"
        );
        assert!(stderr.contains("no answer within 2 s"), "{stderr}");
        last_fault = started;
        accounts.push((position, account));
    }
    let held_until = last_fault + Duration::from_secs(32);
    std::thread::sleep(held_until.saturating_duration_since(Instant::now()));
    for (position, account) in &accounts {
        account.assert_thread(
            &mock,
            &expected,
            &format!("held on post {position}, after the held request completed"),
        );
    }
}

#[test]
fn a_422_on_length_refits_the_post_and_retries_once() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let account = Account::new(&mock, "refit");
    let position = 1;
    mock.skip_requests("/api/v1/statuses", position);
    mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 422, "body": {
            "error": "Validation failed: Text is too long (maximum is 500 characters)"}},
        "count": 1
    }));
    let out = account.announce(&url, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("refitting"), "{stderr}");
    let statuses = mock.statuses(&account.token);
    assert_eq!(
        squashed_text(&statuses[0]),
        squash(&expected[0].text),
        "the post before is untouched"
    );
    assert_ne!(
        squashed_text(&statuses[position]),
        squash(&expected[position].text),
        "the post is refitted"
    );
    account.assert_thread(&mock, &expected, "after a refit");
}

#[test]
fn two_accounts_on_two_servers_one_failing_does_not_stop_the_other() {
    let site = SiteServer::start(Links::Loopback);
    let good = MastodonMock::start();
    let bad = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let good_token = good.new_account("good");
    let bad_token = bad.new_account("bad");
    // Every post on the second server fails with 503: the account gives up after its
    // tries, while the first posts its whole thread.
    bad.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 503}
    }));
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(
        dir.path(),
        &[
            account_toml("flaky", &bad.base, "PAPERCAST_TEST_BAD"),
            account_toml("steady", &good.base, "PAPERCAST_TEST_GOOD"),
        ]
        .concat(),
    );
    let env = [
        ("PAPERCAST_TEST_BAD", bad_token.as_str()),
        ("PAPERCAST_TEST_GOOD", good_token.as_str()),
    ];
    let out = support::papercast_env(dir.path(), &["announce", &url], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("account `flaky`: ") && stderr.contains("; gave up after 4 tries"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("account `flaky`: account `flaky`"),
        "the account is named once: {stderr}"
    );
    assert!(
        text(&out.stdout).contains("steady: "),
        "{}",
        text(&out.stdout)
    );
    let db = dir.path().join("state.db");
    let check = |mock: &MastodonMock, token: &str, name: &str, context: &str| {
        assert_thread_once(mock, token, &db, name, &expected, true, context)
    };
    check(&good, &good_token, "steady", "the steady account");
    assert!(bad.statuses(&bad_token).is_empty());

    // The server recovers: the next run completes the failed account only.
    bad.clear_faults();
    let out = support::papercast_env(dir.path(), &["announce", &url], &env);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("steady: ") && stdout.contains("already announced"),
        "{stdout}"
    );
    assert!(
        stdout.contains("flaky: ") && stdout.contains("posted 6 posts"),
        "{stdout}"
    );
    check(&bad, &bad_token, "flaky", "the flaky account, resumed");
    check(
        &good,
        &good_token,
        "steady",
        "the steady account, untouched",
    );

    // A wrong token on one account: the other still posts (with --again, a new thread).
    let out = support::papercast_env(
        dir.path(),
        &["announce", &url, "--again"],
        &[
            ("PAPERCAST_TEST_BAD", "pc-test-secret-revoked"),
            ("PAPERCAST_TEST_GOOD", good_token.as_str()),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("account `flaky`") && stderr.contains("PAPERCAST_TEST_BAD"),
        "{stderr}"
    );
    assert_eq!(
        good.statuses(&good_token).len(),
        12,
        "the steady account posted again"
    );
}

#[test]
fn dry_run_posts_and_records_nothing_and_never_shows_the_token() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let account = Account::new(&mock, "dry");
    let out = support::papercast_env(
        account.dir.path(),
        &["announce", &url, "--dry-run"],
        &[(TOKEN_ENV, &account.token), ("RUST_LOG", "trace")],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        text(&out.stdout).contains("dry run: nothing is posted"),
        "{all}"
    );
    for post in &expected {
        assert!(text(&out.stdout).contains(&post.text), "{all}");
    }
    assert!(!all.contains(&account.token), "the token leaked: {all}");
    assert!(mock.statuses(&account.token).is_empty(), "nothing posted");
    assert!(
        !account.dir.path().join("state.db").exists(),
        "nothing recorded"
    );
}

#[test]
fn the_token_never_appears_in_logs_or_errors() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let account = Account::new(&mock, "quiet");
    // A run with failures to log (a 500, a timeout, a 401), at the most verbose level.
    mock.fault(status_fault(500));
    mock.skip_requests("/api/v1/statuses", 1);
    mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "malformed"},
        "count": 1
    }));
    mock.skip_requests("/api/v1/statuses", 1);
    mock.fault(status_fault(401));
    let env = [(TOKEN_ENV, account.token.as_str()), ("RUST_LOG", "trace")];
    let first = support::papercast_env(account.dir.path(), &["announce", &url], &env);
    let second = support::papercast_env(account.dir.path(), &["announce", &url], &env);
    let all = [&first, &second]
        .iter()
        .map(|o| format!("{}{}", text(&o.stdout), text(&o.stderr)))
        .collect::<String>();
    assert_eq!(first.status.code(), Some(3), "{all}");
    assert_eq!(second.status.code(), Some(0), "{all}");
    assert!(
        all.contains("TRACE") || all.contains("DEBUG"),
        "verbose logs: {all}"
    );
    assert!(!all.contains(&account.token), "the token leaked: {all}");
    let db = std::fs::read(account.dir.path().join("state.db")).expect("state db");
    assert!(
        !String::from_utf8_lossy(&db).contains(&account.token),
        "the token is in the state database"
    );
}

/// SIGKILL at random points of `announce`, then a rerun: every thread complete, once.
#[test]
fn killed_at_random_points_then_rerun_every_thread_is_complete_once() {
    let mock = MastodonMock::start();
    let base = mock.base.clone();
    kill_and_rerun(&mock, &base, 40, 50, &|| {});
}

/// The same against a server that ignores `Idempotency-Key` (a proxy strips it): a
/// resend is a second post there, so a post of unknown fate must be looked up only
/// once its earlier attempt can no longer land. 0 duplicates.
#[test]
fn killed_at_random_points_on_a_server_ignoring_idempotency_keys_no_post_is_doubled() {
    let mock = MastodonMock::start();
    // The proxy holds each new status for 300 ms, and one whose run was killed meanwhile
    // for 4 s more: it appears on the server after the rerun has started, so a rerun that
    // looked for it at once would not find it, post it again, and fail this test. The
    // rerun's wait (the test config's request timeout of 2 s + 5 s) outlasts the hold.
    let hold = support::strip_proxy::Hold {
        watching: Duration::from_millis(300),
        after_client_gone: Duration::from_secs(4),
    };
    let proxy = support::strip_proxy::StripProxy::holding(&mock.base, hold);
    // Before each check, whatever the proxy still holds lands, duplicates included.
    let settle = || proxy.wait_idle(Duration::from_secs(30));
    kill_and_rerun(&mock, &proxy.base, 100, 8, &settle);
    assert!(
        proxy.stripped.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the proxy removed Idempotency-Keys"
    );
}

/// Kills `announce` at random moments on fresh accounts reached at `server`, reruns
/// it, and checks each thread is complete with every post once.
fn kill_and_rerun(
    mock: &MastodonMock,
    server: &str,
    status_latency_ms: u64,
    default_runs: usize,
    settle: &dyn Fn(),
) {
    let runs: usize = std::env::var("PAPERCAST_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_runs);
    let seed: u64 = std::env::var("PAPERCAST_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill test: {runs} runs, seed {seed} (PAPERCAST_KILL_SEED to repeat)");
    let mut rng = fastrand::Rng::with_seed(seed);

    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    // Latency on every write widens the windows between "sent" and "recorded".
    for (path, delay_ms) in [
        ("/api/v1/statuses", status_latency_ms),
        ("/api/v2/media", 40),
    ] {
        mock.fault(json!({
            "match": {"methods": ["POST"], "path": path},
            "effect": {"type": "latency", "delay_ms": delay_ms}
        }));
    }
    // How long a whole run takes here: kills land anywhere in it.
    let probe = Account::on(mock, server, "probe", "");
    let started = Instant::now();
    let out = probe.announce(&url, &[]);
    let whole = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut partial = 0;
    for run in 0..runs {
        let account = Account::on(mock, server, &format!("k{run}"), "");
        let delay = Duration::from_micros(rng.u64(0..=whole.as_micros() as u64));
        let mut child = support::command(
            account.dir.path(),
            &["announce", &url],
            &[(TOKEN_ENV, &account.token)],
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting papercast");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let after_kill = mock.statuses(&account.token).len();
        if after_kill > 0 && after_kill < expected.len() {
            partial += 1;
        }
        let out = account.announce(&url, &[]);
        settle();
        let context =
            format!("run {run} (seed {seed}), killed after {delay:?} with {after_kill} posts up");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{context}: {}",
            text(&out.stderr)
        );
        account.assert_thread(mock, &expected, &context);
    }
    eprintln!("kill test: {partial} of {runs} kills left a half-posted thread");
    assert!(
        partial >= runs / 10,
        "only {partial} of {runs} kills landed mid-thread: the test is not testing resumption"
    );
}

#[test]
fn account_flags_choose_the_accounts_and_an_unknown_name_is_a_config_error() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let chosen = mock.new_account("chosen");
    let other = mock.new_account("other");
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(
        dir.path(),
        &[
            account_toml("chosen", &mock.base, "PAPERCAST_TEST_CHOSEN"),
            account_toml("other", &mock.base, "PAPERCAST_TEST_OTHER"),
        ]
        .concat(),
    );
    let env = [
        ("PAPERCAST_TEST_CHOSEN", chosen.as_str()),
        ("PAPERCAST_TEST_OTHER", other.as_str()),
    ];
    let out = support::papercast_env(dir.path(), &["announce", &url, "--account", "nobody"], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`nobody`") && stderr.contains("chosen, other"),
        "{stderr}"
    );

    let out = support::papercast_env(dir.path(), &["announce", &url, "--account", "chosen"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("chosen: "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(mock.statuses(&chosen).len(), 6);
    assert!(
        mock.statuses(&other).is_empty(),
        "the other account was not chosen"
    );
}

/// A real corpus page with its first paper's section repeated `times` times: a case the
/// corpus lacks (a page that repeats itself), made from the real page by the site
/// server's rewrite, not hand-written.
fn repeat_first_section(site: &SiteServer, slug: &str, times: usize) -> String {
    let path = format!("/{slug}/");
    let page =
        std::fs::read_to_string(support::corpus_dir().join(format!("site/{slug}/index.html")))
            .expect("the corpus page");
    let first = page.find("<h2 id=").expect("a first paper");
    let second = first + 1 + page[first + 1..].find("<h2 id=").expect("a second paper");
    let section = page[first..second].to_owned();
    site.control()
        .rewrites
        .insert(path.clone(), vec![(section.clone(), section.repeat(times))]);
    site.url(&path)
}

#[test]
fn a_post_with_more_papers_than_compose_max_papers_is_refused_by_preview_and_announce() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = repeat_first_section(&site, "2025-02-27-potm", 20);

    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::papercast(dir.path(), &["preview", &url, "--platform", "mastodon"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "preview: {}", text(&out.stdout));
    assert!(
        stderr.contains("more than compose.max_papers = 12"),
        "{stderr}"
    );

    let account = Account::new(&mock, "gcbot");
    let out = account.announce(&url, &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "announce: {}", text(&out.stdout));
    assert!(
        stderr.contains("more than compose.max_papers = 12"),
        "{stderr}"
    );
    assert!(mock.statuses(&account.token).is_empty(), "nothing posted");

    // A thread longer than compose.max_posts is refused too, however few the papers.
    let out = support::papercast_env(
        account.dir.path(),
        &["announce", &url],
        &[
            (TOKEN_ENV, &account.token),
            ("PAPERCAST__COMPOSE__MAX_PAPERS", "100"),
            ("PAPERCAST__COMPOSE__MAX_POSTS", "10"),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "announce: {}", text(&out.stdout));
    assert!(
        stderr.contains("more than compose.max_posts = 10"),
        "{stderr}"
    );
    assert!(mock.statuses(&account.token).is_empty(), "nothing posted");
}

#[test]
fn two_announce_runs_on_one_database_wait_for_each_other_and_post_once() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    for round in 0..3 {
        let account = Account::new(&mock, &format!("gcbot{round}"));
        let spawn = || {
            support::command(
                account.dir.path(),
                &["announce", &url],
                &[(TOKEN_ENV, &account.token)],
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting papercast")
        };
        let (first, second) = (spawn(), spawn());
        for child in [first, second] {
            let out = child.wait_with_output().expect("papercast finished");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "round {round}: {stderr}");
            assert!(!stderr.contains("database is locked"), "{stderr}");
        }
        account.assert_thread(&mock, &expected, &format!("round {round}"));
    }
}

#[test]
fn a_missing_token_variable_is_named_at_start_before_anything_is_recorded() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let account = Account::new(&mock, "gcbot");
    // No token variable in the environment.
    let out = support::papercast(account.dir.path(), &["announce", &url]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("gcbot") && stderr.contains(&format!("{TOKEN_ENV} is not set")),
        "{stderr}"
    );
    assert!(!account.db().exists(), "nothing was recorded");
    assert!(mock.statuses(&account.token).is_empty());
}

#[test]
fn a_post_answered_with_another_status_is_an_error_not_reported_as_sent() {
    let site = SiteServer::start(Links::Loopback);
    let mock = MastodonMock::start();
    let url = site.url(&format!("/{SLUG}/"));
    let account = Account::new(&mock, "gcbot");
    // An earlier status of the account, returned for the head post (as a server does
    // for a reused Idempotency-Key).
    let earlier = mock.post_status(&account.token, "An earlier status.", None);
    mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 200, "body": earlier},
        "count": 1
    }));
    let out = account.announce(&url, &[]);
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("answered the post with another status")
            && stderr.contains("other text than the post sent"),
        "{stderr}"
    );
    assert!(!stdout.contains("posted"), "{stdout}");
    let recorded = recorded(&account.db(), "gcbot");
    assert!(
        recorded
            .iter()
            .all(|p| p.remote_id.as_deref() != earlier["id"].as_str()),
        "the earlier status was recorded as the head"
    );
    assert_eq!(
        mock.statuses(&account.token).len(),
        1,
        "nothing else was posted"
    );
}
