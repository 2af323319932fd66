//! `papercast run` and `papercast serve` as processes: stopped by SIGTERM in the middle
//! of a thread and started again, the thread completes with nothing posted twice; the
//! publish hook makes the watcher poll at once; a failing feed is tried again.

mod support;

use papercast::web::auth;
use serde_json::json;
use std::time::Duration;
use support::mastodon::squash;
use support::rig::{drafts, terminate, wait_until, web_address, Rig, FEED};
use support::site::Fault;

const POST: &str = "/2025-10-07-potm/";

/// The status of an HTTP request (a signed `POST` when `signature` is given).
fn http_status(url: &str, post: Option<(&str, String)>) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let request = match post {
            Some((body, signature)) => client
                .post(url)
                .header("X-Hub-Signature-256", signature)
                .body(body.to_owned()),
            None => client.get(url),
        };
        request.send().await.expect("a request").status().as_u16()
    })
}
const NEW_POST: &str = "/2026-03-03-potm/";
const POTM: &str = "[\"Papers of the Month\"]";

#[test]
fn sigterm_during_posting_leaves_the_thread_to_the_next_start_which_completes_it_once() {
    let rig = Rig::new(&[("gc", "required")], POTM);
    let url = rig.site.url(POST);
    rig.expect(&["announce", &url], 0);
    let id = drafts(&rig.queue())[0].0;
    let posts = rig.show(id)["posts"].as_array().expect("posts").clone();
    assert_eq!(posts.len(), 6);
    // Each post takes a while on the server: SIGTERM lands in the middle of the thread.
    rig.mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "latency", "delay_ms": 700}
    }));
    rig.expect(&["queue", "approve", &id.to_string(), "--at", "+1s"], 0);

    let mut daemon = rig.spawn(&["run"], "first.log");
    web_address(&mut daemon);
    wait_until("the first two posts", Duration::from_secs(30), || {
        rig.statuses("gc").len() >= 2
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("first.log"));
    let first = rig.log("first.log");
    let after_stop = rig.statuses("gc").len();
    assert!(
        after_stop < posts.len(),
        "the thread was finished before the stop; the test tests nothing: {first}"
    );
    assert!(first.contains("SIGTERM received"), "{first}");
    assert!(
        first.contains("the rest is posted at the next start"),
        "{first}"
    );
    let listed = &rig.queue()[0];
    assert_eq!(listed["state"], "approved", "left to resume: {listed}");
    assert_eq!(
        listed["sent"], after_stop,
        "what is on the server is recorded"
    );
    // Nothing more arrives while papercast is stopped.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(rig.statuses("gc").len(), after_stop);

    rig.mock.clear_faults();
    let mut daemon = rig.spawn(&["run"], "second.log");
    web_address(&mut daemon);
    wait_until("the rest of the thread", Duration::from_secs(30), || {
        rig.statuses("gc").len() >= posts.len()
    });
    // Give a second (wrong) copy the time to show up, then stop.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("second.log"));

    let statuses = rig.statuses("gc");
    assert_eq!(statuses.len(), posts.len(), "nothing posted twice");
    for (i, (status, post)) in statuses.iter().zip(&posts).enumerate() {
        assert_eq!(
            support::mastodon::squashed_text(status),
            squash(post["text"].as_str().expect("text")),
            "post {i}"
        );
        if i > 0 {
            assert_eq!(status["in_reply_to_id"], statuses[i - 1]["id"], "post {i}");
        }
    }
    let detail = rig.show(id);
    assert_eq!(detail["state"], "posted");
    let audit: Vec<&str> = detail["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        audit,
        ["drafted", "scheduled", "interrupted", "posted"],
        "{detail}"
    );
}

#[test]
fn the_publish_hook_makes_the_watcher_poll_at_once() {
    let mut rig = Rig::polling(&[("gc", "required")], POTM, "1h");
    rig.env
        .push(("PAPERCAST_HOOK_SECRET".into(), "deploy-secret".into()));
    rig.site.control().hidden.insert(NEW_POST.into());
    let mut daemon = rig.spawn(&["run"], "run.log");
    let base = web_address(&mut daemon);
    wait_until("the first poll", Duration::from_secs(20), || {
        rig.log("run.log").contains("first poll")
    });
    rig.site.control().hidden.clear();

    let body = r#"{"ref":"refs/heads/main"}"#;
    let hook = format!("{base}/hooks/publish");
    let forged = auth::hub_signature(b"wrong", body.as_bytes());
    assert_eq!(http_status(&hook, Some((body, forged))), 401);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        rig.site.control().requests.get(FEED).copied(),
        Some(1),
        "a refused hook polls nothing"
    );
    let signed = auth::hub_signature(b"deploy-secret", body.as_bytes());
    assert_eq!(http_status(&hook, Some((body, signed))), 202);
    wait_until("the draft of the new post", Duration::from_secs(20), || {
        rig.queue().len() == 1
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
    let list = rig.queue();
    assert!(list[0]["post_url"]
        .as_str()
        .is_some_and(|u| u.ends_with(NEW_POST)));
    assert_eq!(list[0]["state"], "pending");
    assert!(rig
        .log("run.log")
        .contains("publish hook: polling every source now"));
}

#[test]
fn the_daemon_keeps_polling_a_failing_feed_and_drafts_once_it_recovers() {
    let rig = Rig::new(&[("gc", "none")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    rig.expect(&["watch", "--once"], 0);
    rig.site
        .control()
        .faults
        .insert(FEED.into(), Fault::Status(503));
    let mut daemon = rig.spawn(&["run"], "run.log");
    web_address(&mut daemon);
    let requests = || rig.site.control().requests.get(FEED).copied().unwrap_or(0);
    wait_until("three failed polls", Duration::from_secs(30), || {
        requests() >= 4
    });
    rig.site.control().faults.clear();
    rig.site.control().hidden.clear();
    wait_until("the new post, posted", Duration::from_secs(30), || {
        rig.queue().first().is_some_and(|d| d["state"] == "posted")
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
    let log = rig.log("run.log");
    assert!(
        log.contains("503") && log.contains("its last good state is kept"),
        "{log}"
    );
    assert_eq!(rig.queue().len(), 1);
    assert_eq!(rig.statuses("gc").len(), 6);
}

#[test]
fn serve_runs_the_web_page_alone_and_stops_on_sigterm() {
    let rig = Rig::new(&[], POTM);
    let mut server = rig.spawn(&["serve"], "serve.log");
    let base = web_address(&mut server);
    assert_eq!(http_status(&format!("{base}/login"), None), 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        rig.site.control().requests.get(FEED),
        None,
        "serve does not watch"
    );
    assert_eq!(terminate(&mut server), Some(0), "{}", rig.log("serve.log"));
    assert!(rig
        .log("serve.log")
        .contains("no moderators are configured"));
}

#[test]
fn run_collects_replies_and_serves_the_discussion() {
    let mut rig = Rig::new(&[("gc", "none")], POTM);
    rig.env
        .push(("PAPERCAST__REPLIES__MIN_INTERVAL_SECS".into(), "1".into()));
    let out = rig.expect(&["announce", &rig.site.url(POST)], 0);
    assert!(out.contains("(posted 6 posts)"), "{out}");
    let head = rig.statuses("gc")[0]["id"]
        .as_str()
        .expect("head id")
        .to_owned();

    let mut daemon = rig.spawn(&["run"], "run.log");
    let base = web_address(&mut daemon);
    rig.mock.post_status(
        support::mastodon::ALICE_TOKEN,
        "A zebra-striped question about FlowRL",
        Some(&head),
    );
    let discussion = format!("{base}/discussions/2025-10-07-potm.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = http_body(&discussion);
        if body.contains("zebra-striped") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reply never showed in the discussion: {body}\n{}",
            rig.log("run.log")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
}

/// The body of a GET.
fn http_body(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        reqwest::get(url)
            .await
            .expect("a request")
            .text()
            .await
            .unwrap_or_default()
    })
}
