//! The moderators' review queue in a real browser (headless Chromium over WebDriver):
//! log in, see a draft as it will be posted, edit it (over the limit is refused with the
//! count), approve it, and find the thread on the Mastodon test server. Markup in a
//! title from the blog is shown as text; a POST without a session or CSRF token is
//! refused.

mod support;

use std::time::Duration;
use support::browser::Browser;
use support::rig::{terminate, wait_until, web_address, Rig};
use tokio::runtime::Runtime;

const POST: &str = "/2026-03-03-potm/";
const MARKUP: &str = "<script>window.__pwned = 1</script>";

/// A browser whose calls run to completion on their own runtime: the rig's helpers
/// block on runtimes of their own, so the test itself stays synchronous.
struct Driven {
    rt: Runtime,
    browser: Browser,
}

impl Driven {
    fn start() -> Driven {
        let rt = Runtime::new().expect("a runtime");
        let browser = rt.block_on(Browser::start());
        Driven { rt, browser }
    }

    fn goto(&self, url: &str) {
        self.rt.block_on(self.browser.goto(url));
    }

    fn url(&self) -> String {
        self.rt.block_on(self.browser.current_url())
    }

    fn text(&self, css: &str) -> String {
        let element = self.rt.block_on(self.browser.find(css));
        self.rt.block_on(self.browser.text(&element))
    }

    fn click(&self, css: &str) {
        let element = self.rt.block_on(self.browser.find(css));
        self.rt.block_on(self.browser.click(&element));
    }

    /// Clicks a button that submits a form, and waits until the next page has loaded
    /// (so that nothing is read from the page being left).
    fn submit(&self, css: &str) {
        self.script("window.__leaving = true; return null");
        self.click(css);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self
            .script("return window.__leaving === undefined && document.readyState === 'complete'")
            != true
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the form's answer did not load"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn fill(&self, css: &str, text: &str) {
        let element = self.rt.block_on(self.browser.find(css));
        self.rt.block_on(self.browser.fill(&element, text));
    }

    fn count(&self, css: &str) -> usize {
        self.rt.block_on(self.browser.find_all(css)).len()
    }

    fn script(&self, script: &str) -> serde_json::Value {
        self.rt.block_on(self.browser.execute(script, vec![]))
    }
}

fn moderator(rig: &mut Rig) {
    let hash = papercast::web::auth::hash_password("correct horse").expect("hash");
    let config = rig.dir.path().join("papercast.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[moderators]]\nname = \"ann\"\npassword_hash = \"{hash}\"\n"
    ));
    std::fs::write(&config, text).expect("config");
    rig.env
        .push(("PAPERCAST_WEB_SECRET".into(), "a test secret".into()));
}

/// Starts `papercast run --backfill 1` and waits for the draft of the newest post.
fn daemon_with_a_draft(rig: &Rig) -> (support::rig::Daemon, String, i64) {
    let mut daemon = rig.spawn(&["run", "--backfill", "1"], "run.log");
    let base = web_address(&mut daemon);
    wait_until(
        "a draft of the newest post",
        Duration::from_secs(30),
        || rig.queue().iter().any(|d| d["state"] == "pending"),
    );
    let id = rig.queue()[0]["id"].as_i64().expect("a draft id");
    (daemon, base, id)
}

#[test]
fn a_moderator_reviews_edits_and_approves_a_draft_in_the_browser() {
    let mut rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    moderator(&mut rig);
    // The corpus has no title with markup in it: serve the real page with one.
    rig.site.control().rewrites.insert(
        POST.into(),
        vec![(
            "<h1>February Papers:".into(),
            "<h1>February Papers &lt;script&gt;window.__pwned = 1&lt;/script&gt;:".into(),
        )],
    );
    let (mut daemon, base, id) = daemon_with_a_draft(&rig);

    let page = Driven::start();
    page.goto(&format!("{base}/"));
    assert!(page.url().ends_with("/login"), "the queue needs a login");
    page.fill("input[name=name]", "ann");
    page.fill("input[name=password]", "correct horse");
    page.submit("#login button");

    let row = format!("tr.draft[data-id=\"{id}\"] .draft-title");
    assert!(
        page.text(&row).contains(MARKUP),
        "markup in a title is shown as text"
    );
    page.submit(&row);
    assert!(page.url().ends_with(&format!("/drafts/{id}")));
    assert!(page.text("#draft-title").contains(MARKUP));
    assert_eq!(page.script("return typeof window.__pwned"), "undefined");
    assert!(page.count("img.figure") > 0, "figures are shown");
    assert!(
        page.count("textarea") >= 3,
        "the head post and a post per paper"
    );

    // Over the limit: refused with the count, nothing saved.
    let too_long = "x".repeat(600);
    page.fill("textarea[name=post_1]", &too_long);
    page.submit("#save");
    let flash = page.text("#flash");
    assert!(flash.contains("600/500"), "{flash}");
    assert_ne!(rig.show(id)["posts"][1]["text"], too_long.as_str());

    // Within the limit: saved, and audited as the moderator.
    let edited = "Edited by a moderator: one paper worth your time.";
    page.fill("textarea[name=post_1]", edited);
    page.submit("#save");
    assert_eq!(page.text("#flash"), "Saved.");
    let detail = rig.show(id);
    assert_eq!(detail["posts"][1]["text"], edited);
    assert!(page.text("#audit").contains("ann"));

    page.submit("#approve");
    let expected = detail["posts"].as_array().expect("posts").len();
    wait_until("the thread on the server", Duration::from_secs(30), || {
        rig.statuses("gc").len() == expected
    });
    let statuses = rig.statuses("gc");
    assert!(
        support::mastodon::squashed_text(&statuses[1]).contains(&support::mastodon::squash(edited))
    );
    wait_until(
        "the draft to show as posted",
        Duration::from_secs(10),
        || rig.queue()[0]["state"] == "posted",
    );
    assert_eq!(terminate(&mut daemon), Some(0));
    assert_eq!(rig.statuses("gc").len(), expected, "nothing posted twice");
}

#[test]
fn queue_actions_without_a_session_or_csrf_token_are_refused() {
    let mut rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    moderator(&mut rig);
    let (mut daemon, base, id) = daemon_with_a_draft(&rig);
    let approve = format!("{base}/drafts/{id}/approve");
    let rt = Runtime::new().expect("a runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let answer = client
            .post(&approve)
            .form(&[("csrf", "")])
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status(), 401);
        let login = support::post_login(&client, &base, "ann", "correct horse").await;
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("a pair")
            .to_owned();
        let answer = client
            .post(&approve)
            .header("cookie", &cookie)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status(), 403);
    });
    assert_eq!(rig.queue()[0]["state"], "pending", "nothing was approved");
    assert!(rig.statuses("gc").is_empty(), "nothing was posted");
    assert_eq!(terminate(&mut daemon), Some(0));
}

#[test]
fn an_edit_without_a_valid_version_or_with_a_nul_byte_or_a_huge_post_index_is_refused() {
    let mut rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    moderator(&mut rig);
    let (mut daemon, base, id) = daemon_with_a_draft(&rig);
    let before = rig.show(id)["posts"].clone();
    let rt = Runtime::new().expect("a runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let login = support::post_login(&client, &base, "ann", "correct horse").await;
        let cookie = login.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("a pair")
            .to_owned();
        let page = client
            .get(format!("{base}/drafts/{id}"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("draft page")
            .text()
            .await
            .expect("body");
        let value_of = |name: &str| {
            let field = format!("name=\"{name}\" value=\"");
            let start = page.find(&field).expect("the field") + field.len();
            page[start..].split('"').next().expect("a value").to_owned()
        };
        let (csrf, version) = (value_of("csrf"), value_of("version"));
        let edit = |fields: Vec<(&'static str, String)>| {
            let (client, cookie) = (client.clone(), cookie.clone());
            let url = format!("{base}/drafts/{id}/edit");
            async move {
                let answer = client
                    .post(url)
                    .header("cookie", cookie)
                    .form(&fields)
                    .send()
                    .await
                    .expect("edit");
                (answer.status().as_u16(), answer.text().await.expect("body"))
            }
        };
        let text = || "Edited by a moderator.".to_owned();
        let (status, body) = edit(vec![("csrf", csrf.clone()), ("post_1", text())]).await;
        assert_eq!(status, 422, "no version: {body}");
        assert!(body.contains("no valid `version` field"), "{body}");
        let (status, body) = edit(vec![
            ("csrf", csrf.clone()),
            ("version", "abc".into()),
            ("post_1", text()),
        ])
        .await;
        assert_eq!(status, 422, "version=abc: {body}");
        assert!(body.contains("no valid `version` field"), "{body}");
        let (status, body) = edit(vec![
            ("csrf", csrf.clone()),
            ("version", version.clone()),
            ("post_1", "A NUL\0 inside.".into()),
        ])
        .await;
        assert_eq!(status, 422, "NUL: {body}");
        assert!(body.contains("control character U+0000"), "{body}");
        let (status, body) = edit(vec![
            ("csrf", csrf.clone()),
            ("version", version.clone()),
            ("post_18446744073709551615", text()),
        ])
        .await;
        assert_eq!(status, 422, "huge index: {body}");
        assert!(
            body.contains("there is no post 18446744073709551616; the thread has"),
            "{body}"
        );
    });
    assert_eq!(rig.show(id)["posts"], before, "nothing was saved");
    assert_eq!(terminate(&mut daemon), Some(0));
}

/// The text of each cell of draft `id`'s row on the queue page.
fn row_cells(page: &Driven, id: i64) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll('tr.draft[data-id=\"{id}\"] td'))\
         .map(td => td.innerText.trim())"
    );
    serde_json::from_value(page.script(&script)).expect("the row's cells as strings")
}

fn log_in_as_ann(page: &Driven, base: &str) {
    page.goto(&format!("{base}/login"));
    page.fill("input[name=name]", "ann");
    page.fill("input[name=password]", "correct horse");
    page.submit("#login button");
}

#[test]
fn the_queue_page_shows_each_column_and_a_failed_drafts_reason() {
    let mut rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    moderator(&mut rig);
    // The daemon holds a token the server refuses, so that approving the draft fails;
    // the draft itself is made with the right one.
    let token_env = rig.accounts[0].token_env.clone();
    rig.expect(&["watch", "--once", "--backfill", "1"], 0);
    rig.env.push((token_env.clone(), "a refused token".into()));
    let mut daemon = rig.spawn(&["serve"], "serve.log");
    let base = web_address(&mut daemon);
    let draft = rig.queue()[0].clone();
    let id = draft["id"].as_i64().expect("a draft id");
    let posts = draft["post_count"].as_u64().expect("a post count");

    let page = Driven::start();
    log_in_as_ann(&page, &base);
    let headers: Vec<String> = serde_json::from_value(page.script(
        "return Array.from(document.querySelectorAll('#drafts th')).map(th => th.innerText.trim())",
    ))
    .expect("header cells");
    assert_eq!(headers, ["#", "Post", "Account", "State", "When", "Thread"]);
    let cells = row_cells(&page, id);
    assert_eq!(cells[0], id.to_string());
    assert_eq!(cells[1], draft["post_title"].as_str().expect("a title"));
    assert_eq!(cells[2], "gc (mastodon)");
    assert_eq!(cells[3], "pending");
    let updated = draft["updated_at"].as_str().expect("a time")[..16].replace('T', " ");
    assert_eq!(cells[4], updated);
    assert_eq!(cells[5], format!("0 of {posts} posted"));

    page.goto(&format!("{base}/drafts/{id}"));
    page.submit("#approve");
    wait_until("the draft to fail", Duration::from_secs(30), || {
        rig.queue()[0]["state"] == "failed"
    });
    page.goto(&format!("{base}/"));
    let cells = row_cells(&page, id);
    assert_eq!(cells[3], "failed");
    assert!(
        cells[5].starts_with(&format!("0 of {posts} posted"))
            && cells[5].contains("failed: account `gc`:"),
        "the Thread column says why: {cells:?}"
    );
    assert!(rig.statuses("gc").is_empty(), "nothing was posted");
    assert_eq!(terminate(&mut daemon), Some(0));
}

#[test]
fn the_login_page_without_moderators_says_how_to_add_one() {
    let rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    let mut daemon = rig.spawn(&["serve"], "serve.log");
    let base = web_address(&mut daemon);
    let page = Driven::start();
    page.goto(&format!("{base}/login"));
    let text = page.text("#no-moderators");
    assert!(text.contains("No moderators are configured"), "{text}");
    assert!(
        text.contains("papercast moderators hash-password") && text.contains("[[moderators]]"),
        "{text}"
    );
    assert_eq!(page.count("form#login"), 0, "no form that cannot succeed");
    assert_eq!(terminate(&mut daemon), Some(0));
}

#[test]
fn a_post_drafted_for_mastodon_and_bluesky_is_one_row_one_page_and_approve_all_posts_both_once() {
    let mut rig = Rig::new(&[("gc", "required")], r#"["Papers of the Month"]"#);
    moderator(&mut rig);
    let pds = support::bluesky::Pds::start();
    let sky = pds.new_account("gcsky");
    let config = rig.dir.path().join("papercast.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[accounts]]\nname = \"gc-bsky\"\nplatform = \"bluesky\"\nserver = \"{}\"\n\
         handle = \"{}\"\npassword_env = \"PAPERCAST_TEST_BSKY\"\nlanguage = \"en\"\n\
         review = \"required\"\n",
        pds.base, sky.handle
    ));
    std::fs::write(&config, text).expect("config");
    rig.env
        .push(("PAPERCAST_TEST_BSKY".into(), sky.app_password.clone()));
    // The corpus has no title with markup in it: serve the real page with one.
    rig.site.control().rewrites.insert(
        POST.into(),
        vec![(
            "<h1>February Papers:".into(),
            "<h1>February Papers &lt;script&gt;window.__pwned = 1&lt;/script&gt;:".into(),
        )],
    );
    let mut daemon = rig.spawn(&["run", "--backfill", "1"], "run.log");
    let base = web_address(&mut daemon);
    wait_until("a draft per account", Duration::from_secs(40), || {
        rig.queue()
            .iter()
            .filter(|d| d["state"] == "pending")
            .count()
            == 2
    });
    let queue = rig.queue();
    let post = queue[0]["announcement_id"]
        .as_i64()
        .expect("announcement id");
    assert_eq!(queue[1]["announcement_id"], post, "one post, two drafts");
    let lengths: Vec<(String, usize)> = queue
        .iter()
        .map(|d| {
            let id = d["id"].as_i64().expect("id");
            let posts = rig.show(id)["posts"].as_array().expect("posts").len();
            (d["account"].as_str().expect("account").to_owned(), posts)
        })
        .collect();

    let page = Driven::start();
    page.goto(&format!("{base}/login"));
    page.fill("input[name=name]", "ann");
    page.fill("input[name=password]", "correct horse");
    page.submit("#login button");
    assert_eq!(page.count("tr.post-row"), 1, "one row for the post");
    let row = page.text("tr.post-row");
    assert!(
        row.contains("gc: pending") && row.contains("gc-bsky: pending"),
        "{row}"
    );
    assert!(page.text("tr.post-row .post-title").contains(MARKUP));

    page.submit("tr.post-row .post-title");
    assert!(
        page.url().ends_with(&format!("/posts/{post}")),
        "{}",
        page.url()
    );
    assert!(page.text("#post-title").contains(MARKUP));
    assert_eq!(page.script("return typeof window.__pwned"), "undefined");
    assert_eq!(page.count("section.account-column"), 2);
    for (account, posts) in &lengths {
        let cards = format!("section.account-column[data-account=\"{account}\"] article.card");
        assert_eq!(
            page.count(&cards),
            *posts,
            "{account}: every post as a card"
        );
    }
    // As readers see them: links, hashtags, images with their alt text.
    let mastodon_link = page.script(
        "return document.querySelector('[data-account=\"gc\"] a.link[href^=\"https://arxiv.org/\"]').textContent",
    );
    assert!(
        mastodon_link
            .as_str()
            .unwrap_or_default()
            .starts_with("https://arxiv.org/"),
        "Mastodon shows the full address: {mastodon_link}"
    );
    let bluesky_link = page.script(
        "const a = document.querySelector('[data-account=\"gc-bsky\"] a.link[href^=\"https://arxiv.org/\"]'); \
         return [a.textContent, a.href]",
    );
    let shown = bluesky_link[0].as_str().unwrap_or_default();
    let target = bluesky_link[1].as_str().unwrap_or_default();
    assert!(
        !shown.starts_with("https://") && target.ends_with(shown.trim_end_matches('…')),
        "Bluesky shows the short text of its facet, leading to the full address: {bluesky_link}"
    );
    assert!(
        page.count("[data-account=\"gc\"] .hashtag") > 0,
        "hashtags are styled"
    );
    let alts = page
        .script("return [...document.querySelectorAll('article.card img.figure')].map(i => i.alt)");
    let alts = alts.as_array().expect("alts");
    assert!(
        !alts.is_empty()
            && alts
                .iter()
                .all(|a| a.as_str().is_some_and(|a| !a.is_empty())),
        "{alts:?}"
    );
    let shot = page.rt.block_on(page.browser.screenshot());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join("post-page.png"), shot).expect("writing the screenshot");

    // Editing re-counts as the moderator types (the server still checks on save).
    let gc_draft = queue
        .iter()
        .find(|d| d["account"] == "gc")
        .and_then(|d| d["id"].as_i64())
        .expect("gc's draft");
    page.goto(&format!("{base}/drafts/{gc_draft}"));
    page.fill(
        "textarea[name=post_1]",
        &format!("{} https://arxiv.org/abs/2404.11912", "é".repeat(480)),
    );
    assert_eq!(
        page.text(".post-block[data-index=\"1\"] .length"),
        "504/500"
    );
    assert_eq!(page.count(".post-block[data-index=\"1\"] .length.over"), 1);
    page.goto(&format!("{base}/posts/{post}"));

    page.submit("#approve-all");
    assert!(page.text("#flash").contains("Approved"));
    let gc_posts = lengths
        .iter()
        .find(|(a, _)| a == "gc")
        .map(|(_, n)| *n)
        .unwrap_or(0);
    let sky_posts = lengths
        .iter()
        .find(|(a, _)| a == "gc-bsky")
        .map(|(_, n)| *n)
        .unwrap_or(0);
    wait_until(
        "both threads on their servers",
        Duration::from_secs(60),
        || rig.statuses("gc").len() == gc_posts && pds.posts(&sky).len() == sky_posts,
    );
    wait_until("both drafts posted", Duration::from_secs(20), || {
        rig.queue().iter().all(|d| d["state"] == "posted")
    });
    assert_eq!(terminate(&mut daemon), Some(0), "{}", rig.log("run.log"));
    assert_eq!(rig.statuses("gc").len(), gc_posts, "nothing posted twice");
    assert_eq!(pds.posts(&sky).len(), sky_posts, "nothing posted twice");
    for draft in rig.queue() {
        let id = draft["id"].as_i64().expect("id");
        let history = rig.show(id)["audit"].to_string();
        assert!(
            history.contains("\"actor\":\"ann\""),
            "approved as ann: {history}"
        );
    }
}
