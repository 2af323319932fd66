//! Several papercast instances on one PostgreSQL server: two `papercast run` daemons
//! watching one feed post a new post's thread once; the one posting it is killed
//! (SIGKILL) part-way and the other finishes the thread, nothing twice. And a SQLite
//! state copied to PostgreSQL announces nothing again. Two web servers on the store
//! with one secret: a session is good on both, and a logout on one ends it on both.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::mastodon::squash;
use support::rig::{wait_until, web_address, Daemon, Rig};

const POST: &str = "/2025-10-07-potm/";
const NEW_POST: &str = "/2026-03-03-potm/";
const POTM: &str = "[\"Papers of the Month\"]";
/// `store.lease` in these tests: the shortest accepted.
const LEASE: Duration = Duration::from_secs(5);
/// `daemon.publish_interval` of the rig.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(200);
/// `publish.request_timeout_secs` here: a post of unknown fate is looked up once a send
/// can no longer land (this plus a margin).
const REQUEST_TIMEOUT_SECS: u64 = 3;

/// The seed of the random kill point: `PAPERCAST_TEST_SEED` or a fresh one, printed so
/// that a failure can be repeated.
fn seed() -> u64 {
    let seed = std::env::var("PAPERCAST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("seed {seed} (repeat with PAPERCAST_TEST_SEED={seed})");
    seed
}

fn on_postgres(rig: &mut Rig, url: &str) {
    rig.env
        .push(("PAPERCAST__STORE__URL".into(), url.to_owned()));
    rig.env.push((
        "PAPERCAST__STORE__LEASE".into(),
        format!("{}s", LEASE.as_secs()),
    ));
    rig.env.push((
        "PAPERCAST__PUBLISH__REQUEST_TIMEOUT_SECS".into(),
        REQUEST_TIMEOUT_SECS.to_string(),
    ));
}

/// The process id in a claim's owner (`host/pid/nonce`).
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split('/').nth(1)?.parse().ok()
}

/// Every status of the thread is there once, in order, each answering the one before.
fn assert_thread_once(statuses: &[Value], posts: &[Value]) {
    assert_eq!(statuses.len(), posts.len(), "nothing posted twice");
    for (i, (status, post)) in statuses.iter().zip(posts).enumerate() {
        assert_eq!(
            support::mastodon::squashed_text(status),
            squash(post["text"].as_str().expect("text")),
            "post {i}"
        );
        if i > 0 {
            assert_eq!(status["in_reply_to_id"], statuses[i - 1]["id"], "post {i}");
        }
    }
}

#[test]
fn two_daemons_post_a_new_post_once_and_the_survivor_finishes_a_killed_ones_thread() {
    let seed = seed();
    let mut random = fastrand::Rng::with_seed(seed);
    let db = support::postgres::database();
    let mut rig = Rig::new(&[("gc", "none")], POTM);
    on_postgres(&mut rig, &db.url);
    rig.site.control().hidden.insert(NEW_POST.into());
    // The first poll records what the feed holds; only a post added later is new.
    rig.expect(&["watch", "--once"], 0);
    // Each post takes a while on the server, so that the kill lands mid-thread.
    rig.mock.fault(serde_json::json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "latency", "delay_ms": 400}
    }));
    let mut daemons: Vec<Option<Daemon>> = ["a.log", "b.log"]
        .iter()
        .map(|log| {
            let mut daemon = rig.spawn(&["run"], log);
            web_address(&mut daemon);
            Some(daemon)
        })
        .collect();
    rig.site.control().hidden.clear();

    // Killed after this many posts of the six are on the server (at least 1, so that
    // the survivor resumes a thread; at most 5, so that there is a rest to post).
    let kill_after = random.usize(1..=5);
    eprintln!("killing the posting daemon after post {kill_after}");
    wait_until("the thread's first posts", Duration::from_secs(60), || {
        rig.statuses("gc").len() >= kill_after
    });
    let owner = db.psql("SELECT lease_owner FROM drafts WHERE lease_owner IS NOT NULL");
    let pid = owner_pid(owner.trim()).unwrap_or_else(|| panic!("a claim: {owner:?}"));
    let index = daemons
        .iter()
        .position(|d| d.as_ref().is_some_and(|d| d.id() == pid))
        .unwrap_or_else(|| panic!("the claim {owner} is neither daemon's"));
    let mut posting = daemons[index].take().expect("the posting daemon");
    posting.kill().expect("SIGKILL");
    posting.wait().expect("the killed daemon's end");
    let killed_at = Instant::now();
    let at_kill = rig.statuses("gc").len();
    eprintln!("killed daemon {index} (pid {pid}) with {at_kill} post(s) on the server");

    let drafts = rig.queue();
    assert_eq!(
        drafts.len(),
        1,
        "one draft per post and account: {drafts:?}"
    );
    let id = drafts[0]["id"].as_i64().expect("an id");
    let posts = rig.show(id)["posts"].as_array().expect("posts").clone();
    assert_eq!(posts.len(), 6);
    // The lease, one publish interval, the wait before a post of unknown fate is looked
    // up, and the rest of the posts at the server's pace, with a margin for the machine.
    let limit = LEASE
        + PUBLISH_INTERVAL
        + Duration::from_secs(REQUEST_TIMEOUT_SECS + 2)
        + Duration::from_millis(400) * (posts.len() - at_kill.min(posts.len())) as u32
        + Duration::from_secs(5);
    wait_until("the survivor finishing the thread", limit, || {
        rig.queue().first().is_some_and(|d| d["state"] == "posted")
    });
    eprintln!("finished {:.1?} after the kill", killed_at.elapsed());
    // Give a wrong second copy the time to show up.
    std::thread::sleep(Duration::from_secs(1));
    assert_thread_once(&rig.statuses("gc"), &posts);
    let survivor = daemons
        .iter_mut()
        .flatten()
        .next()
        .expect("the surviving daemon");
    assert_eq!(
        support::rig::terminate(survivor),
        Some(0),
        "{}",
        rig.log(if index == 0 { "b.log" } else { "a.log" })
    );
    assert_eq!(rig.queue().len(), 1, "still one draft");
}

#[test]
fn a_sqlite_state_copied_to_postgres_announces_nothing_again_and_keeps_its_discussions() {
    let db = support::postgres::database();
    let mut rig = Rig::new(&[("gc", "none")], POTM);
    let url = rig.site.url(POST);
    rig.expect(&["announce", &url], 0);
    let statuses = rig.statuses("gc");
    assert_eq!(statuses.len(), 6, "posted on SQLite");
    let alice = support::mastodon::ALICE_TOKEN;
    let head = statuses[0]["id"].as_str().expect("an id");
    rig.mock
        .post_status(alice, "Which of these papers comes with code?", Some(head));
    rig.expect(&["replies", "sync"], 0);
    let discussion = |rig: &Rig| {
        let out = rig.run(&["discussions", "2025-10-07-potm", "--format", "json"]);
        assert!(
            out.status.success(),
            "discussions: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("discussion JSON")
    };
    let before = discussion(&rig);
    assert!(
        before.to_string().contains("comes with code"),
        "the reply is in the discussion: {before}"
    );

    let copied = rig.expect(&["store", "copy", "--to", &db.url], 0);
    assert!(copied.contains("announcements"), "{copied}");
    assert_eq!(db.psql("SELECT count(*) FROM posts").trim(), "6");
    let refused = rig.run(&["store", "copy", "--to", &db.url]);
    assert!(!refused.status.success(), "a second copy is refused");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already holds a state"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    on_postgres(&mut rig, &db.url);
    std::fs::remove_file(rig.db()).expect("the SQLite file goes");
    let out = rig.expect(&["announce", &url], 0);
    assert!(out.contains("already announced"), "{out}");
    assert_eq!(rig.statuses("gc").len(), 6, "nothing posted");
    assert_eq!(discussion(&rig), before, "the discussion is unchanged");
    assert!(!rig.db().exists(), "PostgreSQL, not a new SQLite file");
    // New rows get ids after the copied ones.
    rig.mock
        .post_status(alice, "And a second question?", Some(head));
    rig.expect(&["replies", "sync"], 0);
    assert_eq!(
        db.psql("SELECT count(DISTINCT id) FROM replies").trim(),
        "2"
    );
}

/// A web server on the database at `url` with the moderator `ann` (password hash
/// `hash`, as in the config file the instances share) and the session secret every
/// instance shares; its base URL.
async fn web_instance(dir: &std::path::Path, url: &str, hash: &str) -> String {
    use papercast::config::{Config, ConfigSources};
    let file = dir.join("papercast.toml");
    std::fs::write(
        &file,
        format!("[store]\nurl = \"{url}\"\n[[moderators]]\nname = \"ann\"\npassword_hash = \"{hash}\"\n"),
    )
    .expect("write config");
    let config = Config::load(&ConfigSources {
        file: Some(file),
        environment: Some(vec![]),
        ..Default::default()
    })
    .expect("config");
    let secrets = papercast::web::WebSecrets {
        session: Some("one-secret-for-all-instances".into()),
        hook: None,
    };
    let store = papercast::store::open(&config.store).expect("the shared store");
    let state = std::sync::Arc::new(
        papercast::web::WebState::new(&config, secrets, Default::default())
            .expect("web state")
            .with_store(store),
    );
    let listener = papercast::web::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(papercast::web::serve(
        listener,
        state,
        std::future::pending(),
    ));
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_good_on_every_instance_and_a_logout_on_one_ends_it_on_all() {
    let db = support::postgres::database();
    let (one, two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let hash = papercast::web::auth::hash_password("s3cret pass").expect("hash");
    let first = web_instance(one.path(), &db.url, &hash).await;
    let second = web_instance(two.path(), &db.url, &hash).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let answer = support::post_login(&client, &first, "ann", "s3cret pass").await;
    assert_eq!(answer.status(), 303);
    let cookie = answer.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("a pair")
        .to_owned();
    let page = |base: String| {
        let (client, cookie) = (client.clone(), cookie.clone());
        async move {
            let answer = client
                .get(format!("{base}/replies"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("the replies page");
            let status = answer.status().as_u16();
            (status, answer.text().await.unwrap_or_default())
        }
    };
    let (status, body) = page(second.clone()).await;
    assert_eq!(status, 200, "logged in on the other instance too");
    // The CSRF token of the session, as the other instance's forms carry it.
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned();
    let answer = client
        .post(format!("{first}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(
        answer.status(),
        303,
        "the other instance's CSRF token is good here"
    );
    let (status, _) = page(second).await;
    assert_eq!(status, 303, "logged out on the other instance as well");
    let (status, _) = page(first).await;
    assert_eq!(status, 303);
}
