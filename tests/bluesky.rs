//! `papercast announce` to a Bluesky account, end to end: the real corpus served on
//! loopback, a real PDS (`@atproto/dev-env`, see `support::bluesky`), the real binary.
//!
//! Every case reads the account's repository afterwards: exactly the thread `preview`
//! shows, once, each reply pointing at the head as root and the post before as parent.

mod support;

use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::bluesky::{account_toml, Account, Pds};
use support::mastodon::write_config;
use support::site::{Links, SiteServer};

/// The corpus post whose figures are in the corpus.
const SLUG: &str = "2025-10-07-potm";
const PASSWORD_ENV: &str = "PAPERCAST_TEST_BSKY_PASSWORD";
const NAME: &str = "gc-bsky";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One post as `preview --platform bluesky` shows it: its text, its figures' alt texts
/// and its links (shown text, full URL).
type Shown = (String, Vec<String>, Vec<(String, String)>);

fn preview(url: &str) -> Vec<Shown> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::papercast(
        dir.path(),
        &["preview", url, "--platform", "bluesky", "--format", "json"],
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
            let links = post["links"]
                .as_array()
                .expect("links")
                .iter()
                .map(|l| {
                    (
                        l["text"].as_str().expect("link text").to_owned(),
                        l["url"].as_str().expect("link URL").to_owned(),
                    )
                })
                .collect();
            (post["text"].as_str().expect("text").to_owned(), alts, links)
        })
        .collect()
}

/// A PDS account with papercast's config and state in a temp dir.
struct Bot {
    account: Account,
    dir: tempfile::TempDir,
}

impl Bot {
    fn new(pds: &Pds, name: &str) -> Bot {
        let account = pds.new_account(name);
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(
            dir.path(),
            &account_toml(NAME, &pds.base, &account.handle, PASSWORD_ENV),
        );
        Bot { account, dir }
    }

    fn command(&self, args: &[&str], password: &str) -> std::process::Command {
        support::command(self.dir.path(), args, &[(PASSWORD_ENV, password)])
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args, &self.account.app_password)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running papercast")
    }
}

/// Asserts that the account's posts are `expected`, once each, chained as a thread,
/// with a link facet on every URL and the figures with their alt texts.
fn assert_thread(pds: &Pds, account: &Account, expected: &[Shown], context: &str) {
    let records = pds.posts(account);
    let by_time = {
        let mut records = records.clone();
        records.sort_by(|a, b| {
            a["value"]["createdAt"]
                .as_str()
                .cmp(&b["value"]["createdAt"].as_str())
        });
        records
    };
    let texts: Vec<&str> = by_time
        .iter()
        .map(|r| r["value"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        by_time.len(),
        expected.len(),
        "{context}: the account has {} posts, the thread {}:\n{texts:#?}",
        by_time.len(),
        expected.len()
    );
    let head = &by_time[0];
    for (i, (record, (want, alts, links))) in by_time.iter().zip(expected).enumerate() {
        let post = &record["value"];
        assert_eq!(texts[i], want, "{context}: post {i}'s text");
        assert_eq!(
            post["langs"],
            serde_json::json!(["en"]),
            "{context}: post {i}"
        );
        let reply = &post["reply"];
        if i == 0 {
            assert!(reply.is_null(), "{context}: the head is a reply: {reply}");
        } else {
            let parent = &by_time[i - 1];
            assert_eq!(
                reply["parent"]["uri"], parent["uri"],
                "{context}: post {i}'s parent"
            );
            assert_eq!(
                reply["parent"]["cid"], parent["cid"],
                "{context}: post {i}'s parent"
            );
            assert_eq!(
                reply["root"]["uri"], head["uri"],
                "{context}: post {i}'s root"
            );
            assert_eq!(
                reply["root"]["cid"], head["cid"],
                "{context}: post {i}'s root"
            );
        }
        // Every link is a facet over exactly the UTF-8 bytes it shows, to its full URL
        // (a short `arxiv.org/abs/…` or the label "Our review").
        let facets = post["facets"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            facets.len(),
            links.len(),
            "{context}: post {i}'s facets: {facets:#?}"
        );
        for (facet, (shown, url)) in facets.iter().zip(links) {
            let start = facet["index"]["byteStart"].as_u64().expect("byteStart") as usize;
            let end = facet["index"]["byteEnd"].as_u64().expect("byteEnd") as usize;
            let feature = &facet["features"][0];
            assert_eq!(feature["$type"], "app.bsky.richtext.facet#link");
            assert_eq!(
                want.as_bytes().get(start..end),
                Some(shown.as_bytes()),
                "{context}: post {i}'s facet {facet}"
            );
            assert_eq!(feature["uri"], url.as_str(), "{context}: post {i}'s facet");
        }
        let images = post["embed"]["images"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let got: Vec<&str> = images.iter().filter_map(|i| i["alt"].as_str()).collect();
        assert_eq!(got, *alts, "{context}: post {i}'s images' alt texts");
        for image in &images {
            assert_eq!(post["embed"]["$type"], "app.bsky.embed.images");
            let cid = image["image"]["ref"]["$link"].as_str().expect("blob cid");
            assert!(
                pds.has_blob(account, cid),
                "{context}: post {i}'s blob {cid}"
            );
            assert!(image["aspectRatio"]["width"].as_u64().unwrap_or(0) > 0);
        }
    }
    // Record keys are unique by construction; no text appears twice either.
    let unique: HashSet<&str> = texts.iter().copied().collect();
    assert_eq!(unique.len(), texts.len(), "{context}: a post appears twice");
}

#[test]
fn announce_posts_the_thread_once_with_facets_replies_and_images() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    assert!(
        expected.iter().any(|(_, alts, _)| !alts.is_empty()),
        "the corpus post has figures"
    );
    let pds = Pds::start();
    let bot = Bot::new(&pds, "papercast-gc");

    let check = bot.run(&["accounts", "check"]);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    let check = text(&check.stdout);
    assert!(
        check.contains(&format!("{NAME}: ok: @{}", bot.account.handle))
            && check.contains("300 characters (URLs count in full), 4 images"),
        "{check}"
    );

    let out = bot.run(&["announce", &url]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "announce: {stderr}\n{}", pds.log());
    let stdout = text(&out.stdout);
    let link_prefix = format!(
        "{NAME}: https://bsky.app/profile/{}/post/",
        bot.account.handle
    );
    assert!(stdout.starts_with(&link_prefix), "{stdout}");
    assert!(
        stdout.contains(&format!("(posted {} posts)", expected.len())),
        "{stdout}"
    );
    assert!(!stderr.contains(&bot.account.app_password), "{stderr}");
    assert_thread(&pds, &bot.account, &expected, "first run");

    // The printed link names the head post's record key.
    let records = pds.posts(&bot.account);
    let head = records
        .iter()
        .find(|r| r["value"]["reply"].is_null())
        .expect("a head post");
    let rkey = head["uri"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("rkey");
    assert!(
        stdout.contains(&format!("{link_prefix}{rkey} ")),
        "{stdout}"
    );

    let again = bot.run(&["announce", &url]);
    assert!(again.status.success(), "rerun: {}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("already announced"),
        "{}",
        text(&again.stdout)
    );
    assert_thread(&pds, &bot.account, &expected, "second run");
}

#[test]
fn a_wrong_app_password_stops_the_account_naming_it_and_its_variable() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let pds = Pds::start();
    let bot = Bot::new(&pds, "papercast-wrong");
    let wrong = "wxyz-wxyz-wxyz-wxyz";
    let out = bot
        .command(&["announce", &url], wrong)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running papercast");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("account `{NAME}`")) && stderr.contains(PASSWORD_ENV),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "the password leaked: {stderr}");
    assert!(pds.posts(&bot.account).is_empty());

    let out = bot.run(&["announce", &url]);
    assert!(
        out.status.success(),
        "with the right password: {}",
        text(&out.stderr)
    );
    assert_thread(&pds, &bot.account, &preview(&url), "after the fix");
}

/// How many posts the state database records as sent with their fate unknown, read
/// through the store's contract.
fn sending(db: &std::path::Path) -> usize {
    use papercast::store::{DraftFilter, PostState, ReviewStore, SqliteStore};
    if !db.exists() {
        return 0;
    }
    let store = SqliteStore::open(db).expect("opening the state database");
    let drafts = store.drafts(DraftFilter::All).expect("reading the drafts");
    drafts
        .iter()
        .flat_map(|draft| &draft.thread.posts)
        .filter(|post| post.state == PostState::Sending)
        .count()
}

/// papercast killed (SIGKILL) right after a post reaches the PDS, several times:
/// the post it was sending is often recorded `sending`, its fate unknown. The next run
/// finds it by its record key instead of posting it again.
#[test]
fn killed_mid_thread_then_rerun_the_thread_is_complete_once() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let pds = Pds::start();
    let bot = Bot::new(&pds, "papercast-killed");
    let mut partial = 0;
    let mut unknown = 0;
    for run in 0..3 {
        let before = pds.posts(&bot.account).len();
        let mut child = bot
            .command(&["announce", &url], &bot.account.app_password)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting papercast");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            assert!(Instant::now() < deadline, "run {run} did not end");
            if pds.posts(&bot.account).len() > before {
                let _ = child.kill(); // SIGKILL
                break;
            }
        }
        let _ = child.wait();
        let after = pds.posts(&bot.account).len();
        if after > before && after < expected.len() {
            partial += 1;
        }
        unknown += sending(&bot.dir.path().join("state.db"));
    }
    eprintln!("kill test: {partial} of 3 kills mid-thread, {unknown} posts left `sending`");
    assert!(
        partial > 0,
        "no kill landed mid-thread: nothing was resumed"
    );
    let out = bot.run(&["announce", &url]);
    assert!(
        out.status.success(),
        "final run: {}\n{}",
        text(&out.stderr),
        pds.log()
    );
    assert_thread(&pds, &bot.account, &expected, "after kills");
}

/// Forgets that the last post of the thread was sent, as a crash between the PDS's
/// commit and papercast's record of it leaves it: `state` is `sending` (fate unknown,
/// looked up first) or `pending` (sent straight away).
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

/// A post the PDS committed but papercast did not record is found under its record key
/// (looked up when its fate is unknown; or when the create is refused because the key
/// is taken); a post that is really gone is posted again under the same key.
#[test]
fn a_post_on_the_pds_but_not_recorded_sent_is_found_not_duplicated() {
    let site = SiteServer::start(Links::Loopback);
    let url = site.url(&format!("/{SLUG}/"));
    let expected = preview(&url);
    let pds = Pds::start();
    let bot = Bot::new(&pds, "papercast-lost");
    let db = bot.dir.path().join("state.db");
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "announce: {}", text(&out.stderr));
    let last_uri = |pds: &Pds| {
        let records = pds.posts(&bot.account);
        let uris: HashSet<String> = records
            .iter()
            .filter_map(|r| r["value"]["reply"]["parent"]["uri"].as_str())
            .map(str::to_owned)
            .collect();
        records
            .iter()
            .filter_map(|r| r["uri"].as_str())
            .find(|uri| !uris.contains(*uri))
            .expect("a last post")
            .to_owned()
    };
    let last = last_uri(&pds);

    for state in ["sending", "pending"] {
        forget_last_post(&db, state);
        let out = bot.run(&["announce", &url]);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{state}: {stderr}");
        assert!(
            stderr.contains("exists already") || stderr.contains("on the server already"),
            "{state}: {stderr}"
        );
        // Found before sending (`sending`): nothing counts as sent in this run. A
        // `pending` post is refused (its key is taken) and found in the same call of
        // `post`, so it counts as sent.
        if state == "sending" {
            assert!(
                text(&out.stdout).contains("posted the 0 missing"),
                "{state}: {}",
                text(&out.stdout)
            );
        }
        assert_thread(&pds, &bot.account, &expected, state);
        assert_eq!(
            last_uri(&pds),
            last,
            "{state}: the last post is the same record"
        );
    }

    // Gone from the PDS (deleted): posted again, once, under the same record key.
    pds.delete(&bot.account, &last);
    forget_last_post(&db, "sending");
    let out = bot.run(&["announce", &url]);
    assert!(out.status.success(), "deleted: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("posted the 1 missing"),
        "{}",
        text(&out.stdout)
    );
    assert_thread(&pds, &bot.account, &expected, "deleted");
    assert_eq!(
        last_uri(&pds),
        last,
        "the post is back under its record key"
    );
}

#[test]
fn a_figure_over_blueskys_limit_goes_out_scaled_down_with_its_alt_text() {
    let site = SiteServer::start(Links::Loopback);
    // No corpus figure is over Bluesky's 1 MB: serve the post's first figure enlarged
    // three times, with a little noise so that it does not compress, in its place.
    let path = "/potm/2025/09/flowrl/figure_1.png";
    let original = std::fs::read(
        support::corpus_dir()
            .join("site")
            .join(path.trim_start_matches('/')),
    )
    .expect("the corpus figure");
    let figure = image::load_from_memory(&original).expect("a PNG");
    let mut big = figure
        .resize(
            figure.width() * 3,
            figure.height() * 3,
            image::imageops::FilterType::Triangle,
        )
        .to_rgba8();
    let mut state = 0x9e37_79b9_u32;
    for pixel in big.pixels_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        pixel.0[0] = pixel.0[0].wrapping_add((state & 7) as u8);
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(big)
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encoding");
    let bytes = bytes.into_inner();
    assert!(
        bytes.len() > 1_000_000,
        "the figure is {} bytes",
        bytes.len()
    );
    site.control().extra.insert(path.into(), bytes);

    let pds = Pds::start();
    let bot = Bot::new(&pds, "papercast-big");
    let out = bot.run(&["announce", &site.url(&format!("/{SLUG}/"))]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "announce: {stderr}");
    assert!(stderr.contains("scaled down to"), "{stderr}");
    let images: Vec<Value> = pds
        .posts(&bot.account)
        .iter()
        .flat_map(|r| {
            r["value"]["embed"]["images"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let resized = images
        .iter()
        .find(|i| i["alt"] == "Distribution matching vs reward maximisation")
        .unwrap_or_else(|| panic!("the enlarged figure is missing: {images:?}"));
    let size = resized["image"]["size"].as_u64().expect("blob size");
    assert!(size <= 1_000_000, "uploaded {size} bytes");
    let cid = resized["image"]["ref"]["$link"].as_str().expect("blob cid");
    assert!(pds.has_blob(&bot.account, cid), "the blob is on the PDS");
}
