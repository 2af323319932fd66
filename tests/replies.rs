//! Replies as discussion links, end to end: a corpus post is announced on a real
//! Mastodon-API server (mastodon_mock over loopback), other accounts reply, and
//! `papercast replies sync` / `discussions` reflect it.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use support::mastodon::{account_toml, write_config, MastodonMock, ALICE_TOKEN, BOT_TOKEN};
use support::site::{Links, SiteServer};

const SLUG: &str = "2025-10-07-potm";

/// A corpus post announced on the mock, with the ids of its thread posts.
struct World {
    mock: MastodonMock,
    site: SiteServer,
    dir: tempfile::TempDir,
    post_url: String,
    /// The head post's id.
    head: String,
    /// The first post of each paper, by position.
    papers: Vec<String>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl World {
    /// Announces the post with `[replies]` settings `replies_toml` (may be empty).
    fn announce(replies_toml: &str) -> World {
        let mock = MastodonMock::start();
        let site = SiteServer::start(Links::Loopback);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(
            dir.path(),
            &account_toml("gc", &mock.base, "PAPERCAST_TEST_TOKEN"),
        );
        if !replies_toml.is_empty() {
            let mut all = std::fs::read_to_string(&config).expect("config");
            all.push_str(&format!("\n[replies]\n{replies_toml}\n"));
            std::fs::write(&config, all).expect("config");
        }
        let post_url = site.url(&format!("/{SLUG}/"));
        let mut world = World {
            mock,
            site,
            dir,
            post_url,
            head: String::new(),
            papers: Vec::new(),
        };
        world.run(&["announce", &world.post_url.clone()]);
        let discussion = world.discussion();
        let ids: HashMap<String, String> = world
            .mock
            .statuses(BOT_TOKEN)
            .iter()
            .map(|s| (s["url"].as_str().unwrap_or("").to_owned(), id_of(s)))
            .collect();
        let id_at = |link: &Value| -> String {
            let url = link["threads"][0]["url"].as_str().expect("a thread url");
            ids[url].clone()
        };
        let papers: Vec<String> = discussion["papers"]
            .as_array()
            .expect("papers")
            .iter()
            .map(id_at)
            .collect();
        world.head = id_at(&discussion);
        world.papers = papers;
        assert!(world.papers.len() >= 2, "{discussion}");
        world
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn output(&self, args: &[&str]) -> std::process::Output {
        support::papercast_env(self.dir(), args, &[("PAPERCAST_TEST_TOKEN", BOT_TOKEN)])
    }

    /// Runs papercast and returns its standard output; it must succeed.
    fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "papercast {args:?} failed:\n{}{}\nmock log:\n{}",
            text(&out.stdout),
            text(&out.stderr),
            self.mock.log()
        );
        text(&out.stdout)
    }

    fn sync(&self) -> String {
        self.run(&["replies", "sync"])
    }

    fn discussion(&self) -> Value {
        let out = self.run(&["discussions", &self.post_url, "--format", "json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The recorded replies by URL (`replies list --format json`).
    fn listed(&self) -> HashMap<String, Value> {
        let out = self.run(&["replies", "list", SLUG, "--format", "json"]);
        let posts: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        posts[0]["replies"]
            .as_array()
            .expect("replies")
            .iter()
            .map(|r| (r["url"].as_str().expect("url").to_owned(), r.clone()))
            .collect()
    }
}

fn id_of(status: &Value) -> String {
    status["id"].as_str().expect("a status id").to_owned()
}

fn url_of(status: &Value) -> String {
    status["url"].as_str().expect("a status url").to_owned()
}

/// The URLs and texts of a list of published replies.
fn published(replies: &Value) -> Vec<(String, String)> {
    replies
        .as_array()
        .expect("replies")
        .iter()
        .map(|r| {
            (
                r["url"].as_str().expect("url").to_owned(),
                r["text"].as_str().expect("text").to_owned(),
            )
        })
        .collect()
}

fn summary_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("gc: "))
        .unwrap_or_else(|| panic!("no summary for gc: {out}"))
}

#[test]
fn replies_are_collected_under_the_right_paper_edited_deleted_hidden_and_never_twice() {
    let world = World::announce("");
    let mock = &world.mock;
    let bob = mock.new_account("bob");

    let on_post = mock.post_status(ALICE_TOKEN, "Great roundup, thanks!", Some(&world.head));
    let on_first = mock.post_status(
        ALICE_TOKEN,
        "How does FlowRL compare to GRPO?",
        Some(&world.papers[0]),
    );
    let answer = mock.post_status(
        &bob,
        "It matches distributions instead.",
        Some(&id_of(&on_first)),
    );
    let on_second = mock.post_status(ALICE_TOKEN, "Nice result.", Some(&world.papers[1]));
    let follow_up = mock.post_status(
        ALICE_TOKEN,
        "Following up on my own reply.",
        Some(&id_of(&on_second)),
    );
    // Followers-only and direct replies are never collected.
    for visibility in ["private", "direct"] {
        mock.post_json(
            ALICE_TOKEN,
            serde_json::json!({
                "status": format!("@bot just for you ({visibility})"),
                "visibility": visibility,
                "in_reply_to_id": world.head
            }),
        );
    }

    let out = world.sync();
    assert!(
        summary_line(&out).contains("read 1 thread(s)") && summary_line(&out).contains(": 5 new"),
        "{out}"
    );

    let discussion = world.discussion();
    assert_eq!(discussion["post_url"], world.post_url.as_str());
    assert_eq!(discussion["threads"][0]["account"], "gc");
    assert_eq!(discussion["threads"][0]["platform"], "mastodon");
    assert_eq!(
        published(&discussion["replies"]),
        [(url_of(&on_post), "Great roundup, thanks!".to_owned())]
    );
    assert_eq!(
        published(&discussion["papers"][0]["replies"]),
        [
            (
                url_of(&on_first),
                "How does FlowRL compare to GRPO?".to_owned()
            ),
            (
                url_of(&answer),
                "It matches distributions instead.".to_owned()
            ),
        ]
    );
    assert_eq!(
        published(&discussion["papers"][1]["replies"]),
        [
            (url_of(&on_second), "Nice result.".to_owned()),
            (
                url_of(&follow_up),
                "Following up on my own reply.".to_owned()
            ),
        ]
    );
    let first = &discussion["papers"][0]["replies"][0];
    assert_eq!(first["author"], "alice");
    assert!(first["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(first["html"].as_str().is_some_and(|h| h.contains("<p>")));
    for later in &discussion["papers"].as_array().expect("papers")[2..] {
        assert!(later["replies"].as_array().expect("replies").is_empty());
    }

    // Nothing changed: nothing is added twice.
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 0 new, 0 edited, 0 deleted, 0 restored"),
        "{out}"
    );
    assert_eq!(world.discussion(), discussion);
    assert_eq!(world.listed().len(), 5);

    // An edit shows the new text; a deletion takes the reply away.
    mock.edit_status(ALICE_TOKEN, &id_of(&on_post), "Great roundup, edited!");
    mock.delete_status(&bob, &id_of(&answer));
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 0 new, 1 edited, 1 deleted"),
        "{out}"
    );
    let discussion = world.discussion();
    let edited = &discussion["replies"][0];
    assert_eq!(edited["text"], "Great roundup, edited!");
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(
        published(&discussion["papers"][0]["replies"]),
        [(
            url_of(&on_first),
            "How does FlowRL compare to GRPO?".to_owned()
        )]
    );
    assert_eq!(world.listed()[&url_of(&answer)]["state"], "deleted");

    // A hidden reply (and the reply under it) never appears.
    let id = world.listed()[&url_of(&on_second)]["id"].to_string();
    let out = world.run(&[
        "replies",
        "hide",
        &id,
        "--reason",
        "off topic",
        "--by",
        "ann",
    ]);
    assert!(out.contains("is hidden"), "{out}");
    let discussion = world.discussion();
    assert!(discussion["papers"][1]["replies"]
        .as_array()
        .expect("replies")
        .is_empty());
    let listed = world.listed();
    assert_eq!(listed[&url_of(&on_second)]["state"], "hidden");
    assert_eq!(listed[&url_of(&on_second)]["hidden_by"], "ann");
    assert_eq!(listed[&url_of(&follow_up)]["state"], "under_hidden");
    let html = world.run(&["discussions", SLUG, "--format", "html"]);
    assert!(
        !html.contains("Nice result") && !html.contains("Following up"),
        "{html}"
    );
    // Syncing again does not bring it back.
    world.sync();
    assert!(world.discussion()["papers"][1]["replies"]
        .as_array()
        .expect("replies")
        .is_empty());

    world.run(&["replies", "unhide", &url_of(&on_second)]);
    assert_eq!(
        world.discussion()["papers"][1]["replies"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Hiding an author hides all of their replies, now and later.
    let handle = world.listed()[&url_of(&on_post)]["handle"]
        .as_str()
        .expect("handle")
        .to_owned();
    let out = world.run(&["replies", "hide-author", &handle]);
    assert!(
        out.contains("is hidden") && out.contains("(4 recorded replies)"),
        "{out}"
    );
    mock.post_status(ALICE_TOKEN, "One more thing.", Some(&world.head));
    world.sync();
    let discussion = world.discussion();
    assert!(
        discussion["replies"]
            .as_array()
            .expect("replies")
            .is_empty(),
        "{discussion}"
    );
    assert!(discussion["papers"][0]["replies"]
        .as_array()
        .expect("replies")
        .is_empty());
    let list = world.run(&["replies", "list"]);
    assert!(
        list.contains("hidden authors:") && list.contains("@alice@"),
        "{list}"
    );
}

#[test]
fn a_reply_only_seen_as_a_mention_is_collected_once() {
    let world = World::announce("");
    let mock = &world.mock;
    let reply = mock.post_status(
        ALICE_TOKEN,
        "@bot where is the code?",
        Some(&world.papers[1]),
    );
    // A server whose `context` lags behind shows the head's tree without the reply.
    let mut context = mock.get(
        &format!("/api/v1/statuses/{}/context", world.head),
        BOT_TOKEN,
    );
    context["descendants"]
        .as_array_mut()
        .expect("descendants")
        .retain(|s| s["id"] != reply["id"]);
    mock.fault(serde_json::json!({
        "match": {"methods": ["GET"], "path": format!("/api/v1/statuses/{}/context", world.head)},
        "effect": {"type": "status", "status": 200, "body": context},
        "count": 1
    }));
    let out = world.sync();
    assert!(summary_line(&out).contains(": 1 new"), "{out}");
    let discussion = world.discussion();
    assert_eq!(
        published(&discussion["papers"][1]["replies"]),
        [(url_of(&reply), "@bot where is the code?".to_owned())]
    );
    // The tree shows it now, and the mention cursor moved on: nothing twice.
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 0 new, 0 edited, 0 deleted"),
        "{out}"
    );
    assert_eq!(world.listed().len(), 1);
}

#[test]
fn a_rate_limit_is_waited_out() {
    let world = World::announce("");
    let mock = &world.mock;
    mock.post_status(ALICE_TOKEN, "First!", Some(&world.head));
    let reset = chrono::Utc::now().timestamp() + 1;
    mock.fault(serde_json::json!({
        "match": {"methods": ["GET"], "path": "/api/v1/statuses/*/context"},
        "effect": {"type": "ratelimit", "headers": {"X-RateLimit-Reset": reset.to_string()}},
        "count": 1
    }));
    let out = world.sync();
    assert!(summary_line(&out).contains(": 1 new"), "{out}");
    assert_eq!(world.discussion()["replies"][0]["text"], "First!");
}

#[test]
fn auto_hide_rules_and_a_single_answer_to_a_question() {
    let world = World::announce("hide_keywords = [\"Giveaway\"]\nanswer_questions = true\n");
    let mock = &world.mock;
    let spam = mock.post_status(ALICE_TOKEN, "Free crypto GIVEAWAY here", Some(&world.head));
    let question = mock.post_status(
        ALICE_TOKEN,
        "Does this work for mixture-of-experts models?",
        Some(&world.papers[0]),
    );
    let out = world.sync();
    let line = summary_line(&out);
    assert!(
        line.contains(": 2 new") && line.contains("1 hidden by rules, 1 answered"),
        "{out}"
    );
    let listed = world.listed();
    assert_eq!(listed[&url_of(&spam)]["state"], "hidden");
    assert_eq!(listed[&url_of(&spam)]["hidden_by"], "rule");
    let discussion = world.discussion();
    assert!(discussion["replies"]
        .as_array()
        .expect("replies")
        .is_empty());

    // The answer replies to the question with the paper's section on the blog.
    let paper_url = discussion["papers"][0]["url"]
        .as_str()
        .expect("paper url")
        .to_owned();
    assert!(paper_url.starts_with(&world.post_url) && paper_url.contains('#'));
    let answers: Vec<Value> = mock
        .statuses(BOT_TOKEN)
        .into_iter()
        .filter(|s| s["in_reply_to_id"] == question["id"])
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    let answer = support::mastodon::squashed_text(&answers[0]);
    assert!(
        answer.contains(&support::mastodon::squash(&paper_url)) && answer.contains("@alice"),
        "{answer}"
    );
    // Papercast's answer is not a reply of the discussion, and it is sent only once.
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 0 new") && summary_line(&out).contains("0 answered"),
        "{out}"
    );
    mock.edit_status(
        ALICE_TOKEN,
        &id_of(&question),
        "Does this work for MoE models, really?",
    );
    let out = world.sync();
    assert!(
        summary_line(&out).contains("1 edited") && summary_line(&out).contains("0 answered"),
        "{out}"
    );
    let count = mock
        .statuses(BOT_TOKEN)
        .iter()
        .filter(|s| s["in_reply_to_id"] == question["id"])
        .count();
    assert_eq!(count, 1);
    let texts: Vec<(String, String)> = published(&world.discussion()["papers"][0]["replies"]);
    assert_eq!(
        texts,
        [(
            url_of(&question),
            "Does this work for MoE models, really?".to_owned()
        )]
    );
}

#[test]
fn export_writes_json_and_html_per_post_and_only_what_changed() {
    let world = World::announce("");
    world
        .mock
        .post_status(ALICE_TOKEN, "Exported <b>reply</b>", Some(&world.papers[0]));
    world.sync();
    let out_dir = world.dir().join("site-discussions");
    let out = world.run(&["discussions", "--export", out_dir.to_str().expect("utf-8")]);
    assert!(
        out.contains("2 file(s) written, 0 already up to date"),
        "{out}"
    );
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join(format!("{SLUG}.json"))).expect("json file"),
    )
    .expect("json");
    assert_eq!(json, world.discussion());
    let html = std::fs::read_to_string(out_dir.join(format!("{SLUG}.html"))).expect("html file");
    assert!(html.contains("Exported &lt;b&gt;reply&lt;/b&gt;"), "{html}");
    assert!(
        html.contains("Discuss on Mastodon</a>\n — 1 reply"),
        "{html}"
    );
    let out = world.run(&["discussions", "--export", out_dir.to_str().expect("utf-8")]);
    assert!(
        out.contains("0 file(s) written, 2 already up to date"),
        "{out}"
    );
    let _ = &world.site;
}

#[test]
fn an_unknown_post_is_an_error_that_says_what_to_give() {
    let world = World::announce("");
    let out = world.output(&["discussions", "2019-01-01-potm"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("2019-01-01-potm") && err.contains("slug"),
        "{err}"
    );
    let out = world.output(&["replies", "hide", "99999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("replies list"),
        "{}",
        text(&out.stderr)
    );
    let out = world.output(&["replies", "hide-author", "alice"]);
    assert!(
        text(&out.stderr).contains("@user@server"),
        "{}",
        text(&out.stderr)
    );
    // The URL without its trailing slash names the same post.
    let trimmed = world.post_url.trim_end_matches('/');
    let json = world.run(&["discussions", trimmed]);
    assert!(json.contains(&world.post_url), "{json}");
}
