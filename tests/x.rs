//! `papercast announce` to an X account, end to end: the real corpus served on
//! loopback, the X test server behind Prism validating every request and answer
//! against X's OpenAPI description (see `support::x`), the real binary.
//!
//! Every case reads the account's posts afterwards: exactly the thread `preview`
//! shows, once, each reply to the post before it, figures with their alt texts; and
//! Prism found nothing outside X's spec.

mod support;

use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use support::mastodon::write_config;
use support::site::{Links, SiteServer};
use support::x::{Fault, When, XApi, XPost};

/// The corpus post whose figures are in the corpus.
const SLUG: &str = "2025-10-07-potm";
const TOKEN_ENV: &str = "PAPERCAST_TEST_X_TOKEN";
const CLIENT_ENV: &str = "PAPERCAST_TEST_X_CLIENT_ID";
const NAME: &str = "gc-x";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One post as `preview --platform x` shows it: its text and its figures' alt texts.
type Shown = (String, Vec<String>);

fn preview(url: &str) -> Vec<Shown> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::papercast(
        dir.path(),
        &["preview", url, "--platform", "x", "--format", "json"],
    );
    assert!(out.status.success(), "preview: {}", text(&out.stderr));
    let threads: Value = serde_json::from_slice(&out.stdout).expect("preview JSON");
    threads[0]["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| {
            let alts = post["images"]
                .as_array()
                .map(|images| {
                    images
                        .iter()
                        .map(|i| i["alt"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (post["text"].as_str().expect("text").to_owned(), alts)
        })
        .collect()
}

/// papercast's config and state for the X account in a temp dir.
struct Bot {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Bot {
    /// An account whose `token_env` holds the bot's access token.
    fn with_token(x: &XApi) -> Bot {
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(
            dir.path(),
            &format!(
                "[[accounts]]\nname = \"{NAME}\"\nplatform = \"x\"\nserver = \"{}\"\n\
                 token_env = \"{TOKEN_ENV}\"\nreview = \"none\"\n",
                x.base
            ),
        );
        Bot {
            dir,
            env: vec![(TOKEN_ENV.into(), x.bot.token.clone())],
        }
    }

    /// An account whose `token_file` holds what a login writes, and `extra` keys.
    fn with_token_file(x: &XApi, token_file: &str, extra: &str) -> Bot {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gc-x.json");
        std::fs::write(&path, token_file).expect("token file");
        write_config(
            dir.path(),
            &format!(
                "[[accounts]]\nname = \"{NAME}\"\nplatform = \"x\"\nserver = \"{}\"\n\
                 token_file = \"{}\"\nclient_id_env = \"{CLIENT_ENV}\"\nreview = \"none\"\n{extra}",
                x.base,
                path.display()
            ),
        );
        Bot {
            dir,
            env: vec![(CLIENT_ENV.into(), x.client_id.clone())],
        }
    }

    fn token_path(&self) -> std::path::PathBuf {
        self.dir.path().join("gc-x.json")
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        support::command(self.dir.path(), args, &env)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running papercast")
    }
}

/// Asserts that the bot's posts are `expected`, once each, chained as one thread, with
/// the figures and their alt texts.
fn assert_thread(x: &XApi, expected: &[Shown], context: &str) {
    let posts: Vec<XPost> = x.posts_by(&x.bot);
    let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        posts.len(),
        expected.len(),
        "{context}: the account has {} posts, the thread {}:\n{texts:#?}",
        posts.len(),
        expected.len()
    );
    let media = x.media();
    for (i, (post, (want, alts))) in posts.iter().zip(expected).enumerate() {
        assert_eq!(&post.text, want, "{context}: post {i}'s text");
        if i == 0 {
            assert_eq!(post.in_reply_to, None, "{context}: the head is a reply");
        } else {
            assert_eq!(
                post.in_reply_to.as_deref(),
                Some(posts[i - 1].id.as_str()),
                "{context}: post {i}'s parent"
            );
        }
        assert_eq!(post.conversation_id, posts[0].id, "{context}: post {i}");
        let post_alts: Vec<String> = post
            .media_ids
            .iter()
            .map(|id| {
                media
                    .iter()
                    .find(|m| &m.id == id)
                    .and_then(|m| m.alt_text.clone())
                    .unwrap_or_default()
            })
            .collect();
        let want_alts: Vec<String> = alts
            .iter()
            .map(|a| a.chars().take(1000).collect())
            .collect();
        assert_eq!(post_alts, want_alts, "{context}: post {i}'s figures");
    }
    let unique: HashSet<&str> = texts.iter().copied().collect();
    assert_eq!(unique.len(), texts.len(), "{context}: a post appears twice");
}

#[test]
fn announce_posts_the_thread_once_with_figures_and_alt_text() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    assert!(
        expected.iter().any(|(_, alts)| !alts.is_empty()),
        "the corpus post has figures"
    );
    assert!(expected.len() > 2, "a thread of several posts");
    assert!(expected[0].0.contains(&url), "the head links the blog post");
    let rules = papercast::model::LengthRules::x();
    for (post, _) in &expected {
        assert!(rules.count(post) <= 280, "over 280 weighted: {post}");
    }
    let x = XApi::start();
    let bot = Bot::with_token(&x);

    let check = bot.run(&["accounts", "check"]);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    let check = text(&check.stdout);
    assert!(
        check.contains(&format!("{NAME}: ok: @GCResearchTeam")) && check.contains("280 characters"),
        "{check}"
    );

    let out = bot.run(&["announce", &url]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "announce: {stderr}");
    let stdout = text(&out.stdout);
    let head = &x.posts_by(&x.bot)[0];
    assert!(
        stdout.contains(&format!(
            "{NAME}: https://x.com/GCResearchTeam/status/{}",
            head.id
        )),
        "{stdout}"
    );
    assert!(!stderr.contains(&x.bot.token), "{stderr}");
    assert_thread(&x, &expected, "first run");
    assert!(
        x.media().iter().all(|m| m.alt_text.is_some()),
        "every upload has its alt text"
    );

    let again = bot.run(&["announce", &url]);
    assert!(again.status.success(), "rerun: {}", text(&again.stderr));
    assert_thread(&x, &expected, "second run");
    x.assert_no_violations();
}

/// Announces with `fault` on the `nth` post (0 = the head), then again without it:
/// the thread is complete and nothing is twice.
fn fault_then_rerun(nth: u32, fault: Fault, context: &str) {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let bot = Bot::with_token(&x);
    let nth = nth.min(expected.len() as u32 - 1);
    x.inject(When::next("POST /2/tweets").after(nth), fault);
    let first = bot.run(&["announce", &url]);
    let first_err = text(&first.stderr);
    x.clear_faults();
    let again = bot.run(&["announce", &url]);
    assert!(
        again.status.success(),
        "{context}: rerun: {}\nfirst run: {first_err}",
        text(&again.stderr)
    );
    assert_thread(&x, &expected, context);
    x.assert_no_violations();
}

fn last() -> u32 {
    u32::MAX
}

#[test]
fn a_503_on_the_head_is_retried() {
    fault_then_rerun(0, Fault::Status(503), "503 on the head");
}

#[test]
fn a_post_committed_then_answered_503_is_found_not_sent_twice() {
    for nth in [0, 1, last()] {
        fault_then_rerun(
            nth,
            Fault::CommitThen(503),
            &format!("commit then 503 on {nth}"),
        );
    }
}

#[test]
fn a_post_held_past_the_timeout_is_found_not_sent_twice() {
    // The config's request timeout is 2 s.
    for nth in [0, 2, last()] {
        fault_then_rerun(
            nth,
            Fault::Hold(Duration::from_secs(4)),
            &format!("held on {nth}"),
        );
    }
}

#[test]
fn a_rate_limit_is_waited_out_in_order() {
    for nth in [1, last()] {
        fault_then_rerun(
            nth,
            Fault::RateLimited {
                reset_in: Duration::from_secs(3),
            },
            &format!("429 on {nth}"),
        );
    }
}

#[test]
fn a_401_stops_the_account_and_a_rerun_completes_it() {
    for nth in [0, 1, last()] {
        fault_then_rerun(nth, Fault::Status(401), &format!("401 on {nth}"));
    }
}

/// papercast's record loses the last post after X committed it: `state` is `sending`
/// (fate unknown, looked up first) or `pending` (sent straight away).
fn forget_last_post(db: &std::path::Path, state: &str) {
    let connection = rusqlite::Connection::open(db).expect("opening the state database");
    let changed = connection
        .execute(
            "UPDATE posts SET state = ?1, remote_id = NULL, remote_url = NULL, sent_at = NULL \
             WHERE idx = (SELECT MAX(idx) FROM posts)",
            [state],
        )
        .expect("updating the last post");
    assert_eq!(changed, 1);
    connection
        .execute("UPDATE threads SET state = 'posting'", [])
        .expect("updating the thread");
    connection
        .execute("UPDATE announcements SET announced_at = NULL", [])
        .expect("updating the announcement");
}

#[test]
fn a_duplicate_refusal_is_looked_up_never_taken_as_sent() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let bot = Bot::with_token(&x);
    let db = bot.dir.path().join("state.db");
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    let last = x.posts_by(&x.bot).last().expect("a last post").id.clone();
    for state in ["sending", "pending"] {
        forget_last_post(&db, state);
        let duplicates_before = x
            .seen()
            .iter()
            .filter(|r| r.route == "POST /2/tweets" && r.status == 403)
            .count();
        let out = bot.run(&["announce", &url]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{state}: {stderr}");
        assert!(
            stderr.contains("on the server already"),
            "{state}: {stderr}"
        );
        let duplicates = x
            .seen()
            .iter()
            .filter(|r| r.route == "POST /2/tweets" && r.status == 403)
            .count();
        // A `pending` post is sent, X refuses the repeat, and the look-up finds it.
        let refused = if state == "pending" { 1 } else { 0 };
        assert_eq!(duplicates - duplicates_before, refused, "{state}");
        assert_thread(&x, &expected, state);
        assert_eq!(x.posts_by(&x.bot).last().expect("last").id, last);
    }
    x.assert_no_violations();
}

#[test]
fn an_expired_token_is_refreshed_and_the_rotated_pair_saved_before_use() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let old_refresh = x.refresh_token(&x.bot);
    let stale = x.fresh_token(&x.bot);
    x.expire_access_tokens();
    let file = serde_json::json!({
        "access_token": stale,
        "refresh_token": old_refresh,
        "expires_at": chrono::Utc::now().to_rfc3339(),
        "scope": "tweet.read tweet.write users.read media.write offline.access",
    });
    let bot = Bot::with_token_file(&x, &file.to_string(), "");
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    assert_thread(&x, &expected, "after a refresh");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(bot.token_path()).expect("token file"))
            .expect("token JSON");
    let new_refresh = saved["refresh_token"].as_str().expect("a refresh token");
    assert_ne!(
        new_refresh, old_refresh,
        "X rotated it and papercast kept the new one"
    );
    assert_ne!(saved["access_token"], stale);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(bot.token_path())
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains(new_refresh) && !stderr.contains(&old_refresh),
        "{stderr}"
    );

    // The old refresh token is dead now; one that X refuses says to log in again.
    let dead = serde_json::json!({
        "access_token": stale,
        "refresh_token": old_refresh,
        "expires_at": chrono::Utc::now().to_rfc3339(),
    });
    std::fs::write(bot.token_path(), dead.to_string()).expect("token file");
    let check = bot.run(&["accounts", "check"]);
    assert!(!check.status.success());
    // A failure is reported once, on stderr.
    assert!(
        text(&check.stderr).contains("run `papercast accounts login gc-x`"),
        "{}",
        text(&check.stderr)
    );
    x.assert_no_violations();
}

#[test]
fn login_with_pkce_writes_a_token_file_the_account_checks_with() {
    use std::io::{BufRead, Write};
    let x = XApi::start();
    let bot = Bot::with_token_file(&x, "", "");
    std::fs::remove_file(bot.token_path()).expect("no token yet");
    let mut child = support::command(
        bot.dir.path(),
        &["accounts", "login", NAME],
        &[(CLIENT_ENV, &x.client_id)],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("starting the login");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let line = line.trim();
            line.starts_with(&x.authorize_url())
                .then(|| line.to_owned())
        })
        .expect("the authorization address");
    assert!(
        address.contains("offline.access") && address.contains("code_challenge_method=S256"),
        "{address}"
    );
    let redirect = x.approve(&address);
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{redirect}").expect("pasting the address");
    drop(stdin);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().expect("the login ends");
    assert!(
        out.status.success(),
        "login: {}\n{rest:?}",
        text(&out.stderr)
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(bot.token_path()).expect("token file"))
            .expect("token JSON");
    assert!(saved["refresh_token"].is_string() && saved["expires_at"].is_string());
    for line in &rest {
        assert!(
            !line.contains(saved["access_token"].as_str().unwrap_or("-")),
            "{line}"
        );
    }

    let check = bot.run(&["accounts", "check"]);
    assert!(
        check.status.success() && text(&check.stdout).contains("@GCResearchTeam"),
        "check: {}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    x.assert_no_violations();
}

#[test]
fn a_reply_to_a_papers_post_shows_under_that_paper() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let x = XApi::start();
    let bot = Bot::with_token(&x);
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    let posts = x.posts_by(&x.bot);
    let alice = x.add_user("alice_reads", "Alice");
    let on_paper = x.reply_as(&alice, &posts[1].id, "How does FlowRL compare to GRPO?");
    let on_head = x.reply_as(&alice, &posts[0].id, "Great roundup, thanks!");
    // Someone else's post in another conversation is not a reply to the thread.
    x.post_as(&alice, "Unrelated musings about GRPO");

    let sync = bot.run(&["replies", "sync"]);
    assert!(
        sync.status.success(),
        "sync: {}{}",
        text(&sync.stdout),
        text(&sync.stderr)
    );
    assert!(
        text(&sync.stdout).contains("2 new"),
        "{}",
        text(&sync.stdout)
    );
    let out = bot.run(&["discussions", &url, "--format", "json"]);
    assert!(out.status.success(), "discussions: {}", text(&out.stderr));
    let discussion: Value = serde_json::from_slice(&out.stdout).expect("discussion JSON");
    assert_eq!(discussion["threads"][0]["platform"], "x");
    let urls = |replies: &Value| -> Vec<(String, String)> {
        replies
            .as_array()
            .expect("replies")
            .iter()
            .map(|r| {
                (
                    r["url"].as_str().unwrap_or_default().to_owned(),
                    r["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        urls(&discussion["papers"][0]["replies"]),
        [(
            format!("https://x.com/alice_reads/status/{on_paper}"),
            "@GCResearchTeam How does FlowRL compare to GRPO?".to_owned()
        )],
        "{discussion:#}"
    );
    assert_eq!(
        urls(&discussion["replies"]),
        [(
            format!("https://x.com/alice_reads/status/{on_head}"),
            "@GCResearchTeam Great roundup, thanks!".to_owned()
        )]
    );
    assert_eq!(discussion["papers"][0]["replies"][0]["author"], "Alice");

    // Read again: nothing new, nothing twice.
    let again = bot.run(&["replies", "sync"]);
    assert!(
        text(&again.stdout).contains("0 new"),
        "{}",
        text(&again.stdout)
    );
    x.assert_no_violations();
}

#[test]
fn usage_is_counted_per_month_and_the_monthly_post_limit_stops_before_passing() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let limit = expected.len() + 1;
    let bot = Bot::with_token_file(&x, &x.bot.token, &format!("monthly_post_limit = {limit}\n"));
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    assert_thread(&x, &expected, "within the limit");
    let requests = x.seen().len();

    let check = bot.run(&["accounts", "check"]);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert!(
        text(&check.stdout).contains(&format!(
            "{NAME}: usage in {month}: {requests} requests, {} posts of monthly_post_limit = {limit}",
            expected.len()
        )),
        "{}",
        text(&check.stdout)
    );

    // Announcing again would pass the limit: nothing is sent, the thread is kept.
    let again = bot.run(&["announce", &url, "--again"]);
    assert!(!again.status.success());
    let all = format!("{}{}", text(&again.stdout), text(&again.stderr));
    assert!(
        all.contains("would pass monthly_post_limit") && all.contains("the thread is kept"),
        "{all}"
    );
    assert_thread(&x, &expected, "past the limit");
    let connection =
        rusqlite::Connection::open(bot.dir.path().join("state.db")).expect("state database");
    let kept: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM posts WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )
        .expect("counting");
    assert_eq!(
        kept as usize,
        expected.len(),
        "the new thread is kept unsent"
    );
    x.assert_no_violations();
}

/// papercast killed (SIGKILL) at random moments while X answers posts slowly, several
/// times, then run to the end: the thread is complete and nothing is twice. The seed
/// is printed; `PAPERCAST_TEST_SEED=<seed>` repeats a run's kill times.
#[test]
fn killed_at_random_moments_then_rerun_the_thread_is_complete_once() {
    let seed: u64 = std::env::var("PAPERCAST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill test: seed {seed} (PAPERCAST_TEST_SEED={seed} repeats it)");
    let mut random = fastrand::Rng::with_seed(seed);
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let bot = Bot::with_token(&x);
    x.inject(
        When::next("POST /2/tweets").always(),
        Fault::Slow(Duration::from_millis(400)),
    );
    let env: Vec<(&str, &str)> = bot
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut killed = 0;
    for run in 0..4 {
        let mut child = support::command(bot.dir.path(), &["announce", &url], &env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting papercast");
        let after = Duration::from_millis(random.u64(300..4000));
        let deadline = std::time::Instant::now() + after;
        let mut ended = false;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                ended = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !ended {
            let _ = child.kill(); // SIGKILL
            killed += 1;
        }
        let _ = child.wait();
        eprintln!(
            "kill test: run {run} {} after {after:?}; {} posts on X",
            if ended { "ended" } else { "killed" },
            x.posts_by(&x.bot).len()
        );
    }
    assert!(killed > 0, "seed {seed}: no run was killed");
    let out = bot.run(&["announce", &url]);
    assert!(
        out.status.success(),
        "seed {seed}: final run: {}",
        text(&out.stderr)
    );
    // Posts still landing from a killed run's slow request are on X by now (the final
    // run waited for them before looking).
    assert_thread(&x, &expected, &format!("after kills (seed {seed})"));
    x.assert_no_violations();
}

#[test]
fn a_spent_posting_window_is_waited_out_without_a_429() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let x = XApi::start();
    let bot = Bot::with_token(&x);
    x.set_rate_limit("POST /2/tweets", 4, Duration::from_secs(3));
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    assert_thread(&x, &expected, "a small window");
    let limited = x
        .seen()
        .iter()
        .filter(|r| r.route == "POST /2/tweets" && r.status == 429)
        .count();
    assert_eq!(limited, 0, "x-rate-limit-remaining = 0 was respected");
    x.assert_no_violations();
}
