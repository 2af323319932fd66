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
fn rate_limits_are_waited_out_or_left_for_later_and_a_deleted_thread_is_no_error() {
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
    // The tree (429, then again), the thread's counts and the mentions.
    assert!(
        summary_line(&out).contains("read 1 thread(s) in 4 request(s): 1 new"),
        "{out}"
    );
    assert_eq!(world.discussion()["replies"][0]["text"], "First!");

    // A reset further away than publish.max_rate_limit_wait_secs (20 s here): the sync
    // stops this account, says so, and the next one catches up.
    mock.post_status(ALICE_TOKEN, "Second!", Some(&world.head));
    let reset = chrono::Utc::now().timestamp() + 3600;
    mock.fault(serde_json::json!({
        "match": {"methods": ["GET"], "path": "/api/v1/statuses/*/context"},
        "effect": {"type": "ratelimit", "headers": {"X-RateLimit-Reset": reset.to_string()}},
        "count": 1
    }));
    let out = world.output(&["replies", "sync"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("rate-limited") && err.contains("max_rate_limit_wait_secs"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("(stopped early)"));
    let out = world.sync();
    assert!(summary_line(&out).contains(": 1 new"), "{out}");

    // The team deletes the thread's head: its replies stay, and syncing is no error.
    mock.delete_status(BOT_TOKEN, &world.head);
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 0 new, 0 edited, 0 deleted"),
        "{out}"
    );
    assert_eq!(
        world.discussion()["replies"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn auto_hide_rules_and_a_single_answer_to_a_question() {
    let world = World::announce(
        "hide_keywords = [\"Giveaway\"]\nhide_bots = true\nanswer_questions = true\n",
    );
    let mock = &world.mock;
    let spam = mock.post_status(ALICE_TOKEN, "Free crypto GIVEAWAY here", Some(&world.head));
    let newsbot = mock.new_account("newsbot");
    mock.update_credentials(&newsbot, &[("bot", "true")]);
    let automated = mock.post_status(
        &newsbot,
        "Is this the paper? Auto-summary: ...",
        Some(&world.papers[1]),
    );
    let question = mock.post_status(
        ALICE_TOKEN,
        "Does this work for mixture-of-experts models?",
        Some(&world.papers[0]),
    );
    let out = world.sync();
    let line = summary_line(&out);
    assert!(
        line.contains(": 3 new") && line.contains("2 hidden by rules, 1 answered"),
        "{out}"
    );
    let listed = world.listed();
    assert_eq!(listed[&url_of(&spam)]["state"], "hidden");
    assert_eq!(listed[&url_of(&spam)]["hidden_by"], "rule");
    let bot = &listed[&url_of(&automated)];
    assert_eq!(
        (bot["state"].as_str(), bot["bot"].as_bool()),
        (Some("hidden"), Some(true))
    );
    assert!(
        bot["hidden_reason"]
            .as_str()
            .is_some_and(|r| r.contains("bot")),
        "{bot}"
    );
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

    // A reply to papercast's answer still belongs to the paper.
    let thanks = mock.post_status(ALICE_TOKEN, "Thanks, found it.", Some(&id_of(&answers[0])));
    let out = world.sync();
    assert!(
        summary_line(&out).contains(": 1 new") && summary_line(&out).contains("0 answered"),
        "{out}"
    );
    let texts = published(&world.discussion()["papers"][0]["replies"]);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[1], (url_of(&thanks), "Thanks, found it.".to_owned()));
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

/// The web server, in this process, over the world's state database.
struct Web {
    rt: tokio::runtime::Runtime,
    base: String,
}

const MODERATOR_PASSWORD: &str = "correct horse battery";

impl World {
    /// Serves the web pages with `origins` allowed to read discussions, and a moderator
    /// `ann`.
    fn serve(&self, origins: &[&str]) -> Web {
        use papercast::config::{Config, ConfigSources};
        use papercast::store::{ReplyStore, SqliteStore};
        use papercast::web::{self, auth, WebSecrets, WebState};
        use std::sync::Arc;
        let file = self.dir().join("papercast.toml");
        let mut toml = std::fs::read_to_string(&file).expect("config");
        let origins: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
        toml.push_str(&format!(
            "\n[web]\ndiscussion_origins = [{}]\n\n[[moderators]]\nname = \"ann\"\n\
             password_hash = \"{}\"\n",
            origins.join(", "),
            auth::hash_password(MODERATOR_PASSWORD).expect("hash")
        ));
        std::fs::write(&file, toml).expect("config");
        let config = Config::load(&ConfigSources {
            file: Some(file),
            environment: Some(vec![]),
            ..Default::default()
        })
        .expect("config");
        let store: Arc<dyn ReplyStore> =
            Arc::new(SqliteStore::open(&config.store.path).expect("state database"));
        let state = WebState::new(
            &config,
            WebSecrets {
                session: Some("test session secret".into()),
                hook: None,
            },
            Arc::new(tokio::sync::Notify::new()),
        )
        .expect("web state")
        .with_store(store);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let base = rt.block_on(async {
            let listener = web::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("address"));
            tokio::spawn(web::serve(
                listener,
                Arc::new(state),
                std::future::pending(),
            ));
            base
        });
        Web { rt, base }
    }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Web {
    fn request(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            let mut request = client.request(method, format!("{}{path}", self.base));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let response = request.send().await.expect("an answer");
            Answer {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: response.text().await.expect("a body"),
            }
        })
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.request(reqwest::Method::GET, path, headers)
    }

    /// Posts a form as another site's page would: with whatever cookie it is given.
    fn post_form(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
        self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            let mut request = client.post(format!("{}{path}", self.base)).form(form);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let response = request.send().await.expect("an answer");
            Answer {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: response.text().await.expect("a body"),
            }
        })
    }

    /// A logged-in session cookie of moderator `ann`.
    fn log_in(&self) -> String {
        let answer = self.rt.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            support::post_login(&client, &self.base, "ann", MODERATOR_PASSWORD).await
        });
        assert_eq!(answer.status(), 303);
        let cookie = answer.headers()["set-cookie"].to_str().expect("ascii");
        cookie.split(';').next().expect("a cookie").to_owned()
    }
}

const BLOG: &str = "https://graphcore-research.github.io";

#[test]
fn served_discussions_have_types_cors_caching_and_404s() {
    let world = World::announce("");
    world
        .mock
        .post_status(ALICE_TOKEN, "Served reply", Some(&world.papers[0]));
    world.sync();
    let web = world.serve(&[BLOG]);
    let json_path = format!("/discussions/{SLUG}.json");

    let answer = web.get(&json_path, &[("Origin", BLOG)]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some(BLOG));
    assert_eq!(answer.header("vary"), Some("Origin"));
    assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    let etag = answer.header("etag").expect("an ETag").to_owned();
    let served: Value = serde_json::from_str(&answer.body).expect("JSON");
    assert_eq!(served, world.discussion());
    assert_eq!(served["papers"][0]["replies"][0]["text"], "Served reply");

    // Another origin gets the data (it is public) but no permission to read it in a browser.
    let answer = web.get(&json_path, &[("Origin", "https://evil.example")]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), None);

    // Unchanged: 304 without a body, with the same validators and CORS.
    let answer = web.get(&json_path, &[("Origin", BLOG), ("If-None-Match", &etag)]);
    assert_eq!(answer.status, 304);
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("etag"), Some(etag.as_str()));
    assert_eq!(answer.header("access-control-allow-origin"), Some(BLOG));
    assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));

    let answer = web.request(
        reqwest::Method::OPTIONS,
        &json_path,
        &[
            ("Origin", BLOG),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "if-none-match"),
        ],
    );
    assert_eq!(answer.status, 204);
    assert_eq!(answer.header("access-control-allow-origin"), Some(BLOG));
    assert!(answer
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("GET")));

    let answer = web.get(&format!("/discussions/{SLUG}.html"), &[("Origin", BLOG)]);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some(BLOG));
    assert!(answer.header("etag").is_some_and(|e| e != etag));
    assert!(answer
        .header("content-security-policy")
        .is_some_and(|p| p.contains("default-src 'none'")));
    assert!(
        answer.body.contains("Discuss on Mastodon</a>\n — 1 reply")
            && answer.body.contains("Served reply"),
        "{}",
        answer.body
    );

    // A new reply changes the ETag: the old one gets the new discussion.
    world
        .mock
        .post_status(ALICE_TOKEN, "Second served reply", Some(&world.head));
    world.sync();
    let answer = web.get(&json_path, &[("If-None-Match", &etag)]);
    assert_eq!(answer.status, 200);
    assert_ne!(answer.header("etag"), Some(etag.as_str()));
    assert!(answer.body.contains("Second served reply"));

    for path in [
        "/discussions/2019-01-01-potm.json".to_owned(),
        "/discussions/2019-01-01-potm.html".to_owned(),
        format!("/discussions/{SLUG}.xml"),
        format!("/discussions/{SLUG}"),
        "/discussions/..%2Fpapercast.json".to_owned(),
    ] {
        let answer = web.get(&path, &[("Origin", BLOG)]);
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some(BLOG),
            "{path}"
        );
        assert!(answer.header("cache-control").is_some(), "{path}");
    }
}

/// Hostile text as a person would type it: the server escapes it.
const TYPED: &str = "<script>window.__pwned=1</script> <img src=x onerror=\"window.__pwned=2\"> \
                     [me](javascript:window.__pwned=3) javascript:window.__pwned=4";

/// Hostile HTML as another server of the family might pass it on unescaped.
const RAW: &str = "<p>raw <script>window.__pwned=5</script><img src=x onerror=\"window.__pwned=6\">\
                   <a href=\"javascript:window.__pwned=7\">raw link</a>\
                   <svg onload=\"window.__pwned=8\"></svg>\
                   <iframe src=\"javascript:window.__pwned=9\"></iframe>\
                   <a href=\"https://arxiv.org/abs/2509.15207\" onclick=\"window.__pwned=10\">paper</a></p>";

#[test]
fn hostile_replies_are_harmless_text_in_a_real_browser() {
    let world = World::announce("");
    let mock = &world.mock;
    let typed = mock.post_status(ALICE_TOKEN, TYPED, Some(&world.papers[0]));
    let raw = mock.post_status(ALICE_TOKEN, "placeholder", Some(&world.head));
    // A server that passes remote HTML and profile fields through unsanitised.
    let mut context = mock.get(
        &format!("/api/v1/statuses/{}/context", world.head),
        BOT_TOKEN,
    );
    for status in context["descendants"].as_array_mut().expect("descendants") {
        if status["id"] == raw["id"] {
            status["content"] = RAW.into();
            status["account"]["display_name"] =
                "<img src=x onerror=window.__pwned=11>Mallory".into();
            status["account"]["url"] = "javascript:window.__pwned=12".into();
            status["account"]["avatar_static"] = "javascript:window.__pwned=13".into();
        }
    }
    mock.fault(serde_json::json!({
        "match": {"methods": ["GET"], "path": format!("/api/v1/statuses/{}/context", world.head)},
        "effect": {"type": "status", "status": 200, "body": context},
        "count": 1
    }));
    let out = world.sync();
    assert!(summary_line(&out).contains(": 2 new"), "{out}");
    let web = world.serve(&[&world.site.origin]);
    let fragment = format!("{}/discussions/{SLUG}.html", web.base);
    let blog_page = world.site.url(&format!("/{SLUG}/"));
    let typed_url = url_of(&typed);

    web.rt.block_on(async {
        let browser = support::browser::Browser::start().await;
        // The real blog page embeds the fragment the way a blog script would: a
        // cross-origin fetch (CORS) and innerHTML.
        browser.goto(&blog_page).await;
        browser
            .execute(
                "window.__done = false;
                 const box = document.createElement('section');
                 box.id = 'papercast-test';
                 document.body.prepend(box);
                 fetch(arguments[0])
                   .then(r => { window.__status = r.status; return r.text(); })
                   .then(html => { box.innerHTML = html; window.__done = true; })
                   .catch(e => { window.__failure = String(e); window.__done = true; });",
                vec![fragment.clone().into()],
            )
            .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while browser.execute("return window.__done;", vec![]).await != true {
            assert!(std::time::Instant::now() < deadline, "the fetch never finished");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let failure = browser.execute("return window.__failure || null;", vec![]).await;
        assert_eq!(failure, Value::Null, "the fetch failed (CORS?)");
        assert_eq!(browser.execute("return window.__status;", vec![]).await, 200);
        // Let any handler that would fire (a broken image's onerror) fire.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        for link in browser.find_all("#papercast-test a:not([href])").await {
            browser.click(&link).await;
        }
        assert_eq!(
            browser.execute("return typeof window.__pwned;", vec![]).await,
            "undefined",
            "a script ran"
        );
        let dangerous = browser
            .execute(
                "return document.querySelectorAll('#papercast-test script, \
                 #papercast-test iframe, #papercast-test svg, #papercast-test [onerror], \
                 #papercast-test [onload], #papercast-test [onclick], \
                 #papercast-test [href^=\"javascript\"], #papercast-test [src^=\"javascript\"], \
                 #papercast-test img[src=\"x\"]').length;",
                vec![],
            )
            .await;
        assert_eq!(dangerous, 0);
        let shown = browser.text(&browser.find("#papercast-test").await).await;
        for visible in [
            "<script>window.__pwned=1</script>",
            "<img src=x onerror=\"window.__pwned=2\">",
            "javascript:window.__pwned=4",
            "raw link",
            "<img src=x onerror=window.__pwned=11>Mallory",
            "Discuss on Mastodon",
        ] {
            assert!(shown.contains(visible), "`{visible}` is not shown:\n{shown}");
        }
        let safe_link = browser
            .execute(
                "return document.querySelector('#papercast-test a[href=\"https://arxiv.org/abs/2509.15207\"]').rel;",
                vec![],
            )
            .await;
        assert!(
            safe_link.as_str().is_some_and(|rel| rel.contains("nofollow")),
            "{safe_link}"
        );
        let typed_link = browser
            .execute(
                "return !!document.querySelector('#papercast-test a[href=\"' + arguments[0] + '\"]');",
                vec![typed_url.clone().into()],
            )
            .await;
        assert_eq!(typed_link, true, "the reply links to itself");

        // Opened on its own, the fragment is just as inert.
        browser.goto(&fragment).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            browser.execute("return typeof window.__pwned;", vec![]).await,
            "undefined"
        );
        let body = browser.text(&browser.find("body").await).await;
        assert!(body.contains("<script>window.__pwned=1</script>"), "{body}");
    });
}

#[test]
fn moderators_hide_and_show_replies_on_the_web_page() {
    let world = World::announce("");
    let mock = &world.mock;
    let rude = mock.post_status(ALICE_TOKEN, "<b>rude</b> reply", Some(&world.papers[1]));
    let fine = mock.post_status(ALICE_TOKEN, "fine reply", Some(&world.head));
    world.sync();
    let web = world.serve(&[BLOG]);
    let rude_id = world.listed()[&url_of(&rude)]["id"].to_string();
    let page = format!("{}/replies/{SLUG}", web.base);

    web.rt.block_on(async {
        let browser = support::browser::Browser::start().await;
        browser.goto(&page).await;
        assert!(
            browser.current_url().await.ends_with("/login"),
            "a login first"
        );
        log_in_browser(&browser).await;
        browser.goto(&page).await;
        let row = format!("#reply-{rude_id}");
        let text = browser.text(&browser.find(&row).await).await;
        assert!(
            text.contains("<b>rude</b> reply") && text.contains("published"),
            "{text}"
        );
        browser
            .fill(
                &browser
                    .find(&format!("{row} form.hide input[name=reason]"))
                    .await,
                "rude <em>really</em>",
            )
            .await;
        browser
            .click(&browser.find(&format!("{row} form.hide button")).await)
            .await;
        wait_for_text(&browser, &row, "hidden by ann: rude <em>really</em>").await;
        assert!(browser
            .current_url()
            .await
            .ends_with(&format!("/replies/{SLUG}")));
    });
    let discussion = world.discussion();
    assert!(discussion["papers"][1]["replies"]
        .as_array()
        .expect("replies")
        .is_empty());
    assert_eq!(discussion["replies"][0]["url"], url_of(&fine).as_str());

    // Without a session, or without the form's CSRF token, nothing changes.
    let unhide = format!("/replies/{rude_id}/unhide");
    let forged = web.post_form(&unhide, None, &[("csrf", "forged")]);
    assert_eq!(forged.status, 401);
    let cookie = web.log_in();
    let forged = web.post_form(&unhide, Some(&cookie), &[("csrf", "forged")]);
    assert_eq!(forged.status, 403);
    let forged = web.post_form(
        "/authors/hide",
        Some(&cookie),
        &[("handle", "@alice@localhost"), ("csrf", "")],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(world.listed()[&url_of(&rude)]["state"], "hidden");

    web.rt.block_on(async {
        let browser = support::browser::Browser::start().await;
        browser.goto(&format!("{}/login", web.base)).await;
        log_in_browser(&browser).await;
        browser.goto(&page).await;
        let row = format!("#reply-{rude_id}");
        browser
            .click(&browser.find(&format!("{row} form.unhide button")).await)
            .await;
        wait_for_text(&browser, &row, "published").await;
    });
    assert_eq!(
        world.discussion()["papers"][1]["replies"][0]["url"],
        url_of(&rude).as_str()
    );
}

/// Logs `ann` in on the login page the browser shows, and waits until it has left it.
async fn log_in_browser(browser: &support::browser::Browser) {
    browser
        .fill(&browser.find("input[name=name]").await, "ann")
        .await;
    browser
        .fill(
            &browser.find("input[name=password]").await,
            MODERATOR_PASSWORD,
        )
        .await;
    browser.click(&browser.find("#login button").await).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while browser.current_url().await.ends_with("/login") {
        assert!(
            std::time::Instant::now() < deadline,
            "the login did not go through"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits until the element `css` shows `needle` (a form's answer is a new page).
async fn wait_for_text(browser: &support::browser::Browser, css: &str, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let shown = browser
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                vec![css.into()],
            )
            .await;
        let shown = shown.as_str().unwrap_or_default().to_owned();
        if shown.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{css}` never showed `{needle}`: {shown}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A corpus post announced on a full local Bluesky network (PLC, PDS, AppView), and
/// optionally on mastodon_mock too.
struct Networks {
    net: support::bluesky::Pds,
    bot: support::bluesky::Account,
    alice: support::bluesky::Account,
    mock: Option<MastodonMock>,
    _site: SiteServer,
    dir: tempfile::TempDir,
    post_url: String,
}

impl Networks {
    fn announce(with_mastodon: bool, extra_toml: &str) -> Networks {
        let net = support::bluesky::Pds::start_with_appview();
        let bot = net.new_account("gcresearch");
        let alice = net.new_account("alice");
        let mock = with_mastodon.then(MastodonMock::start);
        let site = SiteServer::start(Links::Loopback);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut accounts = support::bluesky::account_toml(
            "gc-bsky",
            &net.base,
            &bot.handle,
            "PAPERCAST_TEST_BSKY_PASSWORD",
        );
        if let Some(mock) = &mock {
            accounts.push_str(&account_toml("gc", &mock.base, "PAPERCAST_TEST_TOKEN"));
        }
        accounts.push_str(extra_toml);
        write_config(dir.path(), &accounts);
        let post_url = site.url(&format!("/{SLUG}/"));
        let world = Networks {
            net,
            bot,
            alice,
            mock,
            _site: site,
            dir,
            post_url,
        };
        world.run(&["announce", &world.post_url.clone()]);
        world
    }

    fn output(&self, args: &[&str]) -> std::process::Output {
        support::papercast_env(
            self.dir.path(),
            args,
            &[
                ("PAPERCAST_TEST_TOKEN", BOT_TOKEN),
                (
                    "PAPERCAST_TEST_BSKY_PASSWORD",
                    self.bot.app_password.as_str(),
                ),
            ],
        )
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "papercast {args:?} failed:\n{}{}\nPDS log:\n{}",
            text(&out.stdout),
            text(&out.stderr),
            self.net.log()
        );
        text(&out.stdout)
    }

    fn discussion(&self) -> Value {
        let out = self.run(&["discussions", SLUG, "--format", "json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The `at://` URI of a thread post from its bsky.app link in the discussion.
    fn uri(&self, link: &Value) -> String {
        let url = link["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .find(|t| t["platform"] == "bluesky")
            .and_then(|t| t["url"].as_str())
            .expect("a Bluesky thread link");
        let rkey = url.rsplit('/').next().expect("rkey");
        format!("at://{}/app.bsky.feed.post/{rkey}", self.bot.did)
    }

    /// The bsky.app link of a reply by alice.
    fn link(&self, reply: &support::bluesky::RecordRef) -> String {
        let rkey = reply.uri.rsplit('/').next().expect("rkey");
        format!("https://bsky.app/profile/{}/post/{rkey}", self.alice.handle)
    }

    fn account_line<'a>(out: &'a str, account: &str) -> &'a str {
        out.lines()
            .find(|l| l.starts_with(&format!("{account}: ")))
            .unwrap_or_else(|| panic!("no summary for {account}: {out}"))
    }
}

#[test]
fn bluesky_replies_quotes_deletions_and_hiding_reach_the_right_paper_once() {
    let world = Networks::announce(false, "\n[replies]\nhide_keywords = [\"casino\"]\n");
    let (net, alice) = (&world.net, &world.alice);
    let announced = world.discussion();
    let head = world.uri(&announced);
    let first = world.uri(&announced["papers"][0]);
    let second = world.uri(&announced["papers"][1]);

    let on_head = net.reply(alice, &head, "Great roundup, thanks!");
    let on_first = net.reply(alice, &first, "How does FlowRL compare to GRPO?");
    let under = net.reply(
        alice,
        &on_first.uri,
        "Answering myself: it matches distributions.",
    );
    let doomed = net.reply(alice, &second, "A reply I will delete.");
    let spam = net.reply(alice, &head, "Win big at the casino");
    let quote = net.quote(alice, &second, "Quoting the second paper: worth a read");
    for reply in [&on_head, &on_first, &under, &doomed, &spam, &quote] {
        net.wait_indexed(&reply.uri);
    }
    net.wait_for("the quote notification", || {
        net.read(&world.bot, "app.bsky.notification.listNotifications", &[])["notifications"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["reason"] == "quote"))
    });

    let out = world.run(&["replies", "sync"]);
    let line = Networks::account_line(&out, "gc-bsky");
    assert!(
        line.contains("read 1 thread(s)")
            && line.contains(": 6 new")
            && line.contains("1 hidden by rules"),
        "{out}"
    );
    let discussion = world.discussion();
    let texts = |replies: &Value| -> Vec<(String, String, String)> {
        replies
            .as_array()
            .expect("replies")
            .iter()
            .map(|r| {
                (
                    r["url"].as_str().expect("url").to_owned(),
                    r["text"].as_str().expect("text").to_owned(),
                    r["platform"].as_str().expect("platform").to_owned(),
                )
            })
            .collect()
    };
    let bsky = |reply: &support::bluesky::RecordRef, text: &str| {
        (world.link(reply), text.to_owned(), "bluesky".to_owned())
    };
    assert_eq!(
        texts(&discussion["replies"]),
        [bsky(&on_head, "Great roundup, thanks!")],
        "{discussion}"
    );
    assert_eq!(
        texts(&discussion["papers"][0]["replies"]),
        [
            bsky(&on_first, "How does FlowRL compare to GRPO?"),
            bsky(&under, "Answering myself: it matches distributions.")
        ]
    );
    assert_eq!(
        texts(&discussion["papers"][1]["replies"]),
        [
            bsky(&doomed, "A reply I will delete."),
            bsky(&quote, "Quoting the second paper: worth a read")
        ]
    );
    assert_eq!(discussion["replies"][0]["handle"], "@alice.test");
    assert_eq!(
        discussion["replies"][0]["author_url"],
        "https://bsky.app/profile/alice.test"
    );

    // A moderator hides one; the author deletes another.
    world.run(&["replies", "hide", &world.link(&under), "--reason", "test"]);
    net.delete(alice, &doomed.uri);
    net.wait_for("the deleted reply to leave the AppView", || {
        net.indexed_post(&doomed.uri).is_none()
    });
    let out = world.run(&["replies", "sync"]);
    let line = Networks::account_line(&out, "gc-bsky");
    assert!(line.contains(": 0 new, 0 edited, 1 deleted"), "{out}");
    let discussion = world.discussion();
    assert_eq!(
        texts(&discussion["papers"][0]["replies"]),
        [bsky(&on_first, "How does FlowRL compare to GRPO?")]
    );
    assert_eq!(
        texts(&discussion["papers"][1]["replies"]),
        [bsky(&quote, "Quoting the second paper: worth a read")]
    );
    let all = discussion.to_string();
    assert!(!all.contains("casino") && !all.contains("delete"), "{all}");

    // Nothing changed: nothing is added, and the tree is read in one request.
    // The thread, the one quote (never in a tree), the thread's counts and the
    // notifications.
    let out = world.run(&["replies", "sync"]);
    let line = Networks::account_line(&out, "gc-bsky");
    assert!(
        line.contains("in 4 request(s): 0 new, 0 edited, 0 deleted, 0 restored"),
        "{out}"
    );
    let listed = world.run(&["replies", "list", SLUG, "--format", "json"]);
    let listed: Value = serde_json::from_str(&listed).expect("list JSON");
    assert_eq!(
        listed[0]["replies"].as_array().map(Vec::len),
        Some(6),
        "{listed}"
    );
}

#[test]
fn one_post_on_mastodon_and_bluesky_is_one_discussion_in_time_order() {
    let world = Networks::announce(true, "");
    let mock = world.mock.as_ref().expect("mastodon_mock");
    let announced = world.discussion();
    let head = world.uri(&announced);
    let mastodon_head = id_of(
        &mock
            .statuses(BOT_TOKEN)
            .into_iter()
            .find(|s| s["in_reply_to_id"].is_null())
            .expect("the Mastodon head post"),
    );
    let pause = || std::thread::sleep(std::time::Duration::from_millis(1100));
    let first = mock.post_status(ALICE_TOKEN, "First, on Mastodon", Some(&mastodon_head));
    pause();
    let second = world.net.reply(&world.alice, &head, "Second, on Bluesky");
    world.net.wait_indexed(&second.uri);
    pause();
    let third = mock.post_status(
        ALICE_TOKEN,
        "Third, on Mastodon again",
        Some(&mastodon_head),
    );

    let out = world.run(&["replies", "sync"]);
    assert!(
        Networks::account_line(&out, "gc").contains(": 2 new"),
        "{out}"
    );
    assert!(
        Networks::account_line(&out, "gc-bsky").contains(": 1 new"),
        "{out}"
    );
    let discussion = world.discussion();
    let platforms: Vec<&str> = discussion["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .filter_map(|t| t["platform"].as_str())
        .collect();
    assert!(
        platforms.len() == 2 && platforms.contains(&"mastodon") && platforms.contains(&"bluesky"),
        "{discussion}"
    );
    for paper in discussion["papers"].as_array().expect("papers") {
        assert_eq!(
            paper["threads"].as_array().map(Vec::len),
            Some(2),
            "{paper}"
        );
    }
    let replies: Vec<(&str, &str, &str)> = discussion["replies"]
        .as_array()
        .expect("replies")
        .iter()
        .map(|r| {
            (
                r["text"].as_str().expect("text"),
                r["platform"].as_str().expect("platform"),
                r["url"].as_str().expect("url"),
            )
        })
        .collect();
    assert_eq!(
        replies,
        [
            ("First, on Mastodon", "mastodon", url_of(&first).as_str()),
            (
                "Second, on Bluesky",
                "bluesky",
                world.link(&second).as_str()
            ),
            (
                "Third, on Mastodon again",
                "mastodon",
                url_of(&third).as_str()
            ),
        ]
    );
    let html = world.run(&["discussions", SLUG, "--format", "html"]);
    let fragment = scraper::Html::parse_fragment(&html);
    let select = |css: &str| scraper::Selector::parse(css).expect("selector");
    assert_eq!(
        fragment
            .select(&select("section.papercast-discussion"))
            .count(),
        1,
        "{html}"
    );
    let lead = fragment
        .select(&select(
            "section.papercast-discussion > p.papercast-discuss",
        ))
        .next()
        .expect("the post's line");
    let lead: String = lead.text().collect();
    let lead = lead.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(lead, "Discuss on Mastodon · Bluesky — 3 replies", "{html}");
    let labels: Vec<String> = fragment
        .select(&select(
            "section.papercast-discussion > ol > li .papercast-network",
        ))
        .map(|e| e.text().collect())
        .collect();
    assert_eq!(labels, ["Mastodon", "Bluesky", "Mastodon"], "{html}");
    let links: Vec<&str> = fragment
        .select(&select(
            "section.papercast-discussion > ol > li a.papercast-time",
        ))
        .filter_map(|e| e.value().attr("href"))
        .collect();
    assert_eq!(
        links,
        [
            url_of(&first).as_str(),
            world.link(&second).as_str(),
            url_of(&third).as_str()
        ]
    );
}

#[test]
fn likes_and_reposts_on_each_network_show_in_the_report_for_their_paper() {
    let world = Networks::announce(true, "");
    let mock = world.mock.as_ref().expect("mastodon_mock");
    let announced = world.discussion();
    let mastodon_ids: HashMap<String, String> = mock
        .statuses(BOT_TOKEN)
        .iter()
        .map(|s| (url_of(s), id_of(s)))
        .collect();
    let mastodon_post = |link: &Value| -> String {
        let url = link["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .find(|t| t["platform"] == "mastodon")
            .and_then(|t| t["url"].as_str())
            .expect("a Mastodon thread link");
        mastodon_ids[url].clone()
    };
    // On Mastodon the first paper draws a favourite and a reblog; on Bluesky the
    // second paper a like and a repost.
    let first = mastodon_post(&announced["papers"][0]);
    mock.act_on(ALICE_TOKEN, &first, "favourite");
    mock.act_on(ALICE_TOKEN, &first, "reblog");
    let second = world.uri(&announced["papers"][1]);
    world.net.like(&world.alice, &second);
    world.net.repost(&world.alice, &second);
    world
        .net
        .wait_for("the like and the repost to be counted", || {
            world
                .net
                .indexed_post(&second)
                .is_some_and(|p| p["likeCount"] == 1 && p["repostCount"] == 1)
        });

    let out = world.run(&["replies", "sync"]);
    for account in ["gc", "gc-bsky"] {
        let line = Networks::account_line(&out, account);
        assert!(
            !line.contains("counts changed on 0 post(s)"),
            "{account}: {out}"
        );
    }
    let report: Value = serde_json::from_str(&world.run(&["report", SLUG, "--format", "json"]))
        .expect("report JSON");
    let counts = |subject: usize, platform: &str| -> Value {
        report["subjects"][subject]["networks"]
            .as_array()
            .expect("networks")
            .iter()
            .find(|n| n["platform"] == platform)
            .map(|n| n["counts"].clone())
            .unwrap_or_else(|| panic!("no {platform} counts: {report}"))
    };
    let anchor = |subject: usize| {
        report["subjects"][subject]["about"]
            .as_str()
            .expect("about")
            .to_owned()
    };
    assert_eq!(report["subjects"][0]["about"], "post");
    // Subject 1 is the first paper, subject 2 the second.
    let (m1, b1, m2, b2) = (
        counts(1, "mastodon"),
        counts(1, "bluesky"),
        counts(2, "mastodon"),
        counts(2, "bluesky"),
    );
    assert_eq!(
        (m1["likes"].as_u64(), m1["reposts"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(
        (b1["likes"].as_u64(), b1["reposts"].as_u64()),
        (Some(0), Some(0)),
        "{report}"
    );
    assert_eq!(
        (m2["likes"].as_u64(), m2["reposts"].as_u64()),
        (Some(0), Some(0)),
        "{report}"
    );
    assert_eq!(
        (b2["likes"].as_u64(), b2["reposts"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    // Mastodon (here) gives no quote count: unknown, not 0; Bluesky gives one.
    assert!(m1["quotes"].is_null(), "{report}");
    assert_eq!(b2["quotes"].as_u64(), Some(0));
    let total = &report["subjects"][2]["total"];
    assert_eq!(
        (total["likes"].as_u64(), total["reposts"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(report["series"][2]["points"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));

    let text = world.run(&["report", SLUG]);
    assert!(text.contains("n/a") && text.contains(&anchor(1)), "{text}");
    let csv = world.run(&["report", "--format", "csv"]);
    let row = csv
        .lines()
        .find(|l| l.contains(&format!(",{},mastodon,gc,", anchor(1))))
        .unwrap_or_else(|| panic!("no row for the first paper on Mastodon: {csv}"));
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(&cells[5..8], ["1", "1", "n/a"], "{row}");

    // Nothing changed since: no row is added on either network.
    let out = world.run(&["replies", "sync"]);
    for account in ["gc", "gc-bsky"] {
        let line = Networks::account_line(&out, account);
        assert!(
            line.contains("counts changed on 0 post(s)"),
            "{account}: {out}"
        );
    }
    let again: Value = serde_json::from_str(&world.run(&["report", SLUG, "--format", "json"]))
        .expect("report JSON");
    assert_eq!(again["series"], report["series"]);
}

#[test]
fn the_report_page_charts_each_paper_and_shows_hostile_names_as_text() {
    let world = World::announce("");
    let mock = &world.mock;
    let hostile = "<img src=x onerror=window.__pwned=21>Mallory";
    mock.update_credentials(ALICE_TOKEN, &[("display_name", hostile)]);
    mock.act_on(ALICE_TOKEN, &world.papers[0], "favourite");
    mock.act_on(ALICE_TOKEN, &world.papers[1], "reblog");
    mock.post_status(ALICE_TOKEN, "Nice paper", Some(&world.papers[0]));
    world.sync();
    let anchors: Vec<String> = world.discussion()["papers"]
        .as_array()
        .expect("papers")
        .iter()
        .map(|p| p["anchor"].as_str().expect("anchor").to_owned())
        .collect();
    let web = world.serve(&[BLOG]);
    let page = format!("{}/report", web.base);
    web.rt.block_on(async {
        let browser = support::browser::Browser::start().await;
        browser.goto(&page).await;
        assert!(
            browser.current_url().await.ends_with("/login"),
            "a login first"
        );
        log_in_browser(&browser).await;
        browser.goto(&page).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let series = browser
            .execute(
                "return Array.from(document.querySelectorAll('.chart svg g.series'))
                   .map(g => g.getAttribute('data-about'));",
                vec![],
            )
            .await;
        let mut expected: Vec<String> = vec!["post".to_owned()];
        expected.extend(anchors.iter().cloned());
        assert_eq!(series, serde_json::json!(expected), "one series per paper");
        // The chart is drawn: every series has a line with points.
        let drawn = browser
            .execute(
                "return Array.from(document.querySelectorAll('.chart svg g.series polyline'))
                   .every(l => l.getAttribute('points').trim().split(' ').length >= 2)
                   && document.querySelector('.chart svg').getBoundingClientRect().width > 100;",
                vec![],
            )
            .await;
        assert_eq!(drawn, true);
        assert_eq!(
            browser
                .execute("return typeof window.__pwned;", vec![])
                .await,
            "undefined",
            "a script ran"
        );
        let injected = browser
            .execute(
                "return document.querySelectorAll('main img, main [onerror]').length;",
                vec![],
            )
            .await;
        assert_eq!(injected, 0);
        let ranked = browser.text(&browser.find("#ranked").await).await;
        assert!(
            ranked.contains(&format!("{hostile} (mastodon)")),
            "{ranked}"
        );
    });
}
