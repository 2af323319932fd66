//! Notifications with real receivers on loopback: a webhook receiver (papercast's JSON,
//! signed, and the Slack-style `text`) and a real SMTP server (aiosmtpd). A new draft,
//! a posted thread, a failed thread and a stopped account each reach the moderators
//! once; a receiver that fails gets the event later, once, across a daemon restart.

mod support;

use hmac::{KeyInit, Mac};
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use support::receivers::{Answer, Received, SmtpServer, WebhookReceiver};
use support::rig::{drafts, terminate, wait_until, web_address, Rig};

const POST: &str = "/2025-10-07-potm/";
const POTM: &str = "[\"Papers of the Month\"]";
const SECRET: &str = "a shared secret";

fn add_config(rig: &Rig, toml: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(rig.dir.path().join("papercast.toml"))
        .expect("opening papercast.toml");
    file.write_all(toml.as_bytes())
        .expect("appending to papercast.toml");
}

fn webhook_toml(name: &str, url: &str, extra: &str) -> String {
    format!("\n[[notify]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}/hook\"\n{extra}\n")
}

fn notifications(rig: &Rig) -> Vec<Value> {
    let out = rig.run(&["notify", "list", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("notify list JSON")
        .as_array()
        .expect("an array")
        .clone()
}

fn verifies(request: &Received) -> bool {
    let Some(signature) = request.header("x-papercast-signature-256") else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(&request.body);
    let hex_signature = signature.strip_prefix("sha256=").unwrap_or_default();
    let Ok(bytes) = hex::decode(hex_signature) else {
        return false;
    };
    mac.verify_slice(&bytes).is_ok()
}

#[test]
fn a_new_draft_and_its_posted_thread_reach_a_signed_webhook_a_slack_text_and_an_email() {
    let rig = Rig::new(&[("gc", "required")], POTM);
    let hook = WebhookReceiver::start(&[]);
    let slack = WebhookReceiver::start(&[]);
    let smtp = SmtpServer::start();
    add_config(
        &rig,
        &webhook_toml(
            "team",
            &hook.base,
            "secret_env = \"PAPERCAST_NOTIFY_SECRET\"",
        ),
    );
    add_config(
        &rig,
        &webhook_toml("chat", &slack.base, "format = \"slack\""),
    );
    add_config(
        &rig,
        &format!(
            "\n[[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\n\
             smtp_port = {}\ntls = \"none\"\nfrom = \"papercast@example.org\"\n\
             to = [\"moderators@example.org\"]\nevents = [\"draft_waiting\"]\n",
            smtp.port
        ),
    );
    let mut rig = rig;
    rig.env
        .push(("PAPERCAST_NOTIFY_SECRET".into(), SECRET.into()));
    rig.env.push((
        "PAPERCAST__WEB__PUBLIC_URL".into(),
        "https://mods.example.org/".into(),
    ));

    let url = rig.site.url(POST);
    rig.expect(&["announce", &url], 0);
    let id = drafts(&rig.queue())[0].0;
    let draft = rig.show(id);
    let texts: Vec<String> = draft["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["text"].as_str().expect("text").to_owned())
        .collect();
    // Recorded by `announce` itself, for the daemon to deliver: one per target.
    let queued = notifications(&rig);
    assert_eq!(queued.len(), 3, "{queued:?}");
    assert!(
        queued.iter().all(|n| n["delivered_at"].is_null()),
        "{queued:?}"
    );

    let mut daemon = rig.spawn(&["run"], "run.log");
    web_address(&mut daemon);
    wait_until("the three deliveries", Duration::from_secs(30), || {
        !hook.received().is_empty() && !slack.received().is_empty() && !smtp.mails().is_empty()
    });

    let request = &hook.received()[0];
    assert!(
        verifies(request),
        "the signature does not verify: {request:?}"
    );
    assert_eq!(request.header("x-papercast-event"), Some("draft_waiting"));
    let event = request.json();
    let link = format!("https://mods.example.org/drafts/{id}");
    assert_eq!(event["event"], "draft_waiting");
    assert_eq!(event["account"], "gc");
    assert_eq!(event["draft"]["id"], id);
    assert_eq!(event["draft"]["link"], link);
    assert_eq!(event["post"]["url"], draft["post_url"]);
    assert_eq!(event["post"]["title"], draft["post_title"]);
    assert_eq!(event["posts"], json!(texts));

    let text = slack.received()[0].json()["text"]
        .as_str()
        .expect("a Slack text")
        .to_owned();
    assert!(
        text.contains(&format!("<{link}|open draft {id}>")),
        "{text}"
    );
    assert!(slack.received()[0]
        .header("x-papercast-signature-256")
        .is_none());

    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let title = draft["post_title"].as_str().expect("title");
    assert_eq!(
        mail.subject,
        format!("[papercast] New draft {id} waits for review: “{title}” for gc")
    );
    assert_eq!(mail.to, "moderators@example.org");
    assert!(
        mail.body.contains(&format!("Draft: {link}")),
        "{}",
        mail.body
    );
    let mut at = 0;
    for (i, text) in texts.iter().enumerate() {
        let shown = format!("--- {}/{} ---\n{text}\n", i + 1, texts.len());
        let found = mail.body[at..]
            .find(&shown)
            .unwrap_or_else(|| panic!("post {} missing or out of order in:\n{}", i + 1, mail.body));
        at += found + shown.len();
    }

    // Approved while the daemon runs: the posted thread is told, with its link, to the
    // targets that take it (the email target takes only new drafts).
    rig.expect(&["queue", "approve", &id.to_string()], 0);
    wait_until(
        "the posted thread's notice",
        Duration::from_secs(30),
        || hook.received().len() >= 2 && slack.received().len() >= 2,
    );
    let posted = hook.received()[1].json();
    assert_eq!(posted["event"], "thread_posted");
    let head = rig.statuses("gc").first().cloned().expect("the head post");
    assert_eq!(posted["thread_link"], head["url"], "{posted}");
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
    assert_eq!(hook.received().len(), 2);
    assert_eq!(smtp.mails().len(), 1);
}

#[test]
fn a_failing_receiver_gets_the_event_later_once_even_across_a_restart() {
    let rig = Rig::new(&[("gc", "required")], POTM);
    // A 500, then no answer past the timeout (fetch.timeout_secs = 2), then accepted.
    let hook = WebhookReceiver::start(&[Answer::Status(500), Answer::Hang]);
    add_config(&rig, &webhook_toml("team", &hook.base, ""));
    rig.expect(&["announce", &rig.site.url(POST)], 0);

    let mut daemon = rig.spawn(&["run"], "first.log");
    web_address(&mut daemon);
    wait_until("the first attempt", Duration::from_secs(20), || {
        !hook.received().is_empty()
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("first.log"));
    let failed = &notifications(&rig)[0];
    assert_eq!(failed["attempts"], 1, "{failed}");
    assert!(failed["delivered_at"].is_null());
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("500"), "{error}");

    let mut daemon = rig.spawn(&["run"], "second.log");
    web_address(&mut daemon);
    wait_until(
        "the delivery after the retries",
        Duration::from_secs(90),
        || hook.received().iter().any(|r| r.answered == Some(200)),
    );
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("second.log"));
    let delivered = &notifications(&rig)[0];
    assert!(delivered["delivered_at"].is_string(), "{delivered}");
    assert_eq!(delivered["attempts"], 3, "{delivered}");

    // Started again: nothing more goes out.
    let mut daemon = rig.spawn(&["run"], "third.log");
    web_address(&mut daemon);
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("third.log"));
    let received = hook.received();
    let answers: Vec<Option<u16>> = received.iter().map(|r| r.answered).collect();
    assert_eq!(answers, vec![Some(500), None, Some(200)]);
    let ids: Vec<Option<&str>> = received
        .iter()
        .map(|r| r.header("x-papercast-delivery"))
        .collect();
    assert!(
        ids[0].is_some() && ids.iter().all(|id| *id == ids[0]),
        "{ids:?}"
    );
}

#[test]
fn a_failed_thread_and_a_stopped_account_each_tell_once_with_the_fix() {
    let mut rig = Rig::new(&[("gc", "none"), ("other", "none")], POTM);
    let hook = WebhookReceiver::start(&[]);
    add_config(&rig, &webhook_toml("team", &hook.base, ""));
    // `other`'s token is refused; `gc`'s server fails every post. The daemon tries each
    // thread three times (retry_failed_after = 1s) before it waits for a moderator.
    rig.env
        .push(("PAPERCAST_TEST_TOKEN_OTHER".into(), "not-a-token".into()));
    rig.env
        .push(("PAPERCAST__DAEMON__MAX_POST_ATTEMPTS".into(), "3".into()));
    rig.env
        .push(("PAPERCAST__PUBLISH__MAX_ATTEMPTS".into(), "1".into()));
    rig.mock.fault(json!({
        "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 503}
    }));
    let url = rig.site.url(POST);
    let first = rig.run(&["announce", &url]);
    assert_ne!(first.status.code(), Some(0));

    let mut daemon = rig.spawn(&["run"], "run.log");
    web_address(&mut daemon);
    let attempts = |account: &str| {
        rig.queue()
            .iter()
            .find(|d| d["account"] == account)
            .and_then(|d| d["id"].as_i64())
            .map(|id| {
                rig.show(id)["audit"]
                    .to_string()
                    .matches("post failed")
                    .count()
            })
            .unwrap_or(0)
    };
    wait_until(
        "three tries of each thread",
        Duration::from_secs(60),
        || attempts("gc") >= 3 && attempts("other") >= 3,
    );
    wait_until("the notices", Duration::from_secs(30), || {
        hook.received().len() >= 2
    });
    // Anything raised twice would go out within a round.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));

    let events: Vec<Value> = hook.received().iter().map(Received::json).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    let stopped = events
        .iter()
        .find(|e| e["event"] == "account_stopped")
        .unwrap_or_else(|| panic!("no account_stopped in {events:?}"));
    assert_eq!(stopped["account"], "other");
    let fix = stopped["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("papercast accounts login other"), "{fix}");
    let failed = events
        .iter()
        .find(|e| e["event"] == "thread_failed")
        .unwrap_or_else(|| panic!("no thread_failed in {events:?}"));
    assert_eq!(failed["account"], "gc");
    assert!(
        failed["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("503"),
        "{failed}"
    );
    let id = failed["draft"]["id"].as_i64().expect("draft id");
    assert!(
        failed["fix"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("papercast queue approve {id}")),
        "{failed}"
    );
}
