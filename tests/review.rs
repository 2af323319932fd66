//! The review flow end to end against a real Mastodon-API server: a draft approved is
//! posted, a draft rejected is not, an edit over the limit is refused with its count,
//! and a scheduled draft is posted at its time and not before.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::mastodon::squash;
use support::rig::{drafts, terminate, wait_until, web_address, Rig};

const POST: &str = "/2025-10-07-potm/";
const POTM: &str = "[\"Papers of the Month\"]";

/// A rig with one account that needs review, and the post drafted by `announce`.
fn drafted() -> (Rig, i64) {
    let rig = Rig::new(&[("gc", "required")], POTM);
    let url = rig.site.url(POST);
    let out = rig.expect(&["announce", &url], 0);
    let list = rig.queue();
    let found = drafts(&list);
    assert_eq!(found.len(), 1, "{out}");
    let (id, account, state) = found[0].clone();
    assert_eq!((account.as_str(), state.as_str()), ("gc", "pending"));
    assert!(
        out.contains(&format!("gc: draft {id} waits for review")),
        "{out}"
    );
    assert!(
        rig.statuses("gc").is_empty(),
        "nothing is posted before review"
    );
    (rig, id)
}

fn texts(detail: &Value) -> Vec<String> {
    detail["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["text"].as_str().expect("text").to_owned())
        .collect()
}

/// Asserts that the account's statuses are the draft's posts, once each, as a thread.
fn assert_posted_once(rig: &Rig, detail: &Value) {
    let statuses = rig.statuses("gc");
    let expected = texts(detail);
    assert_eq!(statuses.len(), expected.len(), "each post once");
    for (i, (status, text)) in statuses.iter().zip(&expected).enumerate() {
        assert_eq!(
            support::mastodon::squashed_text(status),
            squash(text),
            "post {i}"
        );
        if i == 0 {
            assert!(status["in_reply_to_id"].is_null());
        } else {
            assert_eq!(status["in_reply_to_id"], statuses[i - 1]["id"], "post {i}");
        }
    }
}

fn actions(detail: &Value) -> Vec<(String, String)> {
    detail["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().expect("actor").to_owned(),
                e["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_approved_draft_is_posted_on_the_server() {
    let (rig, id) = drafted();
    let out = rig.expect(&["queue", "approve", &id.to_string(), "--as", "ann"], 0);
    assert!(
        out.contains("gc: http://") && out.contains("(posted 6 posts)"),
        "{out}"
    );
    let detail = rig.show(id);
    assert_eq!(detail["state"], "posted");
    assert_posted_once(&rig, &detail);
    // The figures went up with their alt text.
    let statuses = rig.statuses("gc");
    let media: usize = statuses
        .iter()
        .map(|s| s["media_attachments"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(media > 0, "no figure was uploaded");
    assert_eq!(
        actions(&detail),
        [
            (actor(), "drafted".to_owned()),
            ("ann".into(), "approved".into()),
            ("ann".into(), "posted".into()),
        ]
    );
    // Posted is final: a second approval is refused and posts nothing.
    let out = rig.expect(&["queue", "approve", &id.to_string()], 1);
    assert!(out.contains("posted already"), "{out}");
    assert_eq!(rig.statuses("gc").len(), 6);
}

/// Who the CLI's actor is without `--as` (what `announce` records as the drafter).
fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

#[test]
fn a_rejected_draft_is_never_posted() {
    let (rig, id) = drafted();
    let out = rig.expect(
        &[
            "queue",
            "reject",
            &id.to_string(),
            "--reason",
            "posted by hand",
            "--as",
            "bob",
        ],
        0,
    );
    assert!(out.contains("rejected (posted by hand)"), "{out}");
    let list = rig.queue();
    assert_eq!(list[0]["state"], "rejected");
    assert_eq!(list[0]["reason"], "posted by hand");
    assert_eq!(list[0]["decided_by"], "bob");
    // A publisher pass (as the daemon's) posts nothing; neither does `announce`.
    rig.expect(&["watch", "--once"], 0);
    let out = rig.expect(&["announce", &rig.site.url(POST)], 0);
    assert!(
        out.contains("was rejected by bob (posted by hand)"),
        "{out}"
    );
    assert!(rig.statuses("gc").is_empty());
    // A rejected draft can still be edited (and reconsidered); `true` edits nothing.
    let out = rig.run_env(&["queue", "edit", &id.to_string()], &[("EDITOR", "true")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no post changed"));
}

/// An `$EDITOR` that changes the file as `PAPERCAST_TEST_EDIT` says: `long` adds a
/// line of `PAPERCAST_TEST_LONG` characters at the top of post 2, `short` replaces
/// post 2's text.
fn editor(rig: &Rig) -> String {
    let path = rig.dir.path().join("editor.py");
    std::fs::write(
        &path,
        r#"#!/usr/bin/env python3
import os, sys
path = sys.argv[1]
lines = open(path, encoding="utf-8").read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("=== post 2/"))
end = next(i for i, l in enumerate(lines) if l.startswith("=== post 3/"))
if os.environ["PAPERCAST_TEST_EDIT"] == "long":
    lines.insert(start + 1, "x" * int(os.environ["PAPERCAST_TEST_LONG"]))
else:
    lines[start + 1:end] = ["Edited by a moderator.", ""]
open(path, "w", encoding="utf-8").write("\n".join(lines))
"#,
    )
    .expect("writing the editor");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    path.display().to_string()
}

#[test]
fn an_edit_over_the_limit_is_refused_with_its_count_and_a_good_one_is_posted() {
    let (rig, id) = drafted();
    let editor = editor(&rig);
    let before = rig.show(id);
    let length = before["posts"][1]["length"].as_u64().expect("length");
    let id_text = id.to_string();
    // A line that takes the post 21 characters over the limit, with its line break.
    let added = 520 - length;
    let out = rig.run_env(
        &["queue", "edit", &id_text],
        &[
            ("EDITOR", &editor),
            ("PAPERCAST_TEST_EDIT", "long"),
            ("PAPERCAST_TEST_LONG", &added.to_string()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(
            "post 2 is 521 characters long, over the limit of 500 for account `gc` \
             (521/500); shorten it by 21"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("your text is kept in"), "{stderr}");
    assert_eq!(texts(&rig.show(id)), texts(&before), "nothing changed");

    let out = rig.run_env(
        &["queue", "edit", &id_text, "--as", "ann"],
        &[("EDITOR", &editor), ("PAPERCAST_TEST_EDIT", "short")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("post 2/6 changed (22/500)"), "{stdout}");
    let edited = rig.show(id);
    assert_eq!(edited["posts"][1]["text"], "Edited by a moderator.");
    assert_eq!(edited["edits"], 1);
    assert!(actions(&edited).contains(&("ann".into(), "edited".into())));

    rig.expect(&["queue", "approve", &id_text], 0);
    let detail = rig.show(id);
    assert_posted_once(&rig, &detail);
    assert_eq!(
        support::mastodon::squashed_text(&rig.statuses("gc")[1]),
        "Editedbyamoderator."
    );
    // Once posted, the text cannot change.
    let out = rig.run_env(
        &["queue", "edit", &id_text],
        &[("EDITOR", &editor), ("PAPERCAST_TEST_EDIT", "short")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("posted already"));
}

#[test]
fn a_scheduled_draft_is_posted_at_its_time_and_not_before() {
    let (rig, id) = drafted();
    let at = chrono::Utc::now() + chrono::Duration::seconds(5);
    let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let out = rig.expect(
        &[
            "queue",
            "approve",
            &id.to_string(),
            "--at",
            &at_text,
            "--as",
            "ann",
        ],
        0,
    );
    assert!(out.contains(&format!("draft {id}: scheduled for")), "{out}");
    let listed = &rig.queue()[0];
    assert_eq!(listed["state"], "scheduled");
    let scheduled: chrono::DateTime<chrono::Utc> = listed["scheduled_at"]
        .as_str()
        .expect("scheduled_at")
        .parse()
        .expect("a time");
    assert_eq!(scheduled.timestamp_millis(), at.timestamp_millis());

    let mut daemon = rig.spawn(&["run"], "run.log");
    web_address(&mut daemon);
    // Until the time comes, the daemon is up and nothing is posted.
    while chrono::Utc::now() < at - chrono::Duration::milliseconds(300) {
        assert!(
            rig.statuses("gc").is_empty(),
            "posted before its time:\n{}",
            rig.log("run.log")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until("the scheduled thread", Duration::from_secs(30), || {
        rig.statuses("gc").len() == 6
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
    let statuses = rig.statuses("gc");
    let first: chrono::DateTime<chrono::Utc> = statuses[0]["created_at"]
        .as_str()
        .expect("created_at")
        .parse()
        .expect("a time");
    // The mock stores whole milliseconds at most; nothing came before the time.
    assert!(
        first >= at - chrono::Duration::milliseconds(1),
        "posted at {first}, scheduled for {at}"
    );
    let detail = rig.show(id);
    assert_eq!(detail["state"], "posted");
    assert_posted_once(&rig, &detail);
    let audit = actions(&detail);
    assert!(
        audit.contains(&("ann".into(), "scheduled".into())),
        "{audit:?}"
    );
    assert!(
        audit.contains(&("papercast run".into(), "posted".into())),
        "{audit:?}"
    );
}

#[test]
fn re_extracting_an_unchanged_post_keeps_the_draft_and_its_edits() {
    let (rig, id) = drafted();
    let editor = editor(&rig);
    let id_text = id.to_string();
    let out = rig.run_env(
        &["queue", "edit", &id_text],
        &[("EDITOR", &editor), ("PAPERCAST_TEST_EDIT", "short")],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = rig.expect(&["queue", "reextract", &id_text, "--as", "ann"], 0);
    assert!(out.contains("the post is unchanged"), "{out}");
    let detail = rig.show(id);
    assert_eq!(detail["posts"][1]["text"], "Edited by a moderator.");
    assert!(actions(&detail).contains(&("ann".into(), "re-extracted".into())));
    // The page is gone: re-extraction says so and changes nothing.
    rig.site
        .control()
        .faults
        .insert(POST.into(), support::site::Fault::Status(404));
    let out = rig.expect(&["queue", "reextract", &id_text], 1);
    assert!(out.contains("404"), "{out}");
    assert_eq!(rig.show(id)["posts"], detail["posts"]);
}
