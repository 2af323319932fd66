//! `papercast watch --once` against the corpus feed served on loopback: the first poll
//! announces nothing, a new entry becomes one draft per account, an unchanged feed is
//! answered 304, and failures (of the feed or of a post page) keep the state and are
//! tried again.

mod support;

use papercast::store::{EntryOutcome, ReviewStore, SqliteStore};
use std::time::Duration;
use support::rig::{drafts, Rig, FEED};
use support::site::Fault;

const NEW_POST: &str = "/2026-03-03-potm/";
const POTM: &str = "[\"Papers of the Month\"]";

fn requests(rig: &Rig, path: &str) -> usize {
    rig.site.control().requests.get(path).copied().unwrap_or(0)
}

fn not_modified(rig: &Rig) -> usize {
    rig.site
        .control()
        .not_modified
        .get(FEED)
        .copied()
        .unwrap_or(0)
}

#[test]
fn the_first_poll_records_and_a_new_entry_becomes_one_draft_per_account() {
    let rig = Rig::new(&[("gca", "required"), ("gcb", "required")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());

    let out = rig.expect(&["watch", "--once"], 0);
    assert!(
        out.contains("blog: first poll: 19 entries, 19 recorded as seen, 0 announced"),
        "{out}"
    );
    assert!(rig.queue().is_empty(), "the first poll announces nothing");

    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("blog: unchanged (304 Not Modified)"), "{out}");
    assert_eq!(not_modified(&rig), 1, "the unchanged feed was answered 304");

    // The post is published: its entry appears in the feed.
    rig.site.control().hidden.clear();
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("blog: 20 entries, 1 new"), "{out}");
    let list = rig.queue();
    let mut found = drafts(&list);
    found.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        found
            .iter()
            .map(|(_, account, state)| (account.as_str(), state.as_str()))
            .collect::<Vec<_>>(),
        [("gca", "pending"), ("gcb", "pending")],
        "exactly one draft per account: {list:?}"
    );
    for draft in &list {
        assert!(
            draft["post_url"]
                .as_str()
                .is_some_and(|u| u.ends_with(NEW_POST)),
            "{draft}"
        );
        assert!(draft["scheduled_at"].is_null(), "{draft}");
    }
    assert_eq!(
        requests(&rig, NEW_POST),
        1,
        "the page was read once for both"
    );

    // Nothing new since: 304 again, no page read, no parsing, no new draft.
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("unchanged (304"), "{out}");
    assert_eq!(not_modified(&rig), 2);
    assert_eq!(requests(&rig, NEW_POST), 1);
    assert_eq!(rig.queue().len(), 2);
    // Review is required: nothing was posted.
    assert!(rig.statuses("gca").is_empty() && rig.statuses("gcb").is_empty());
}

#[test]
fn a_feed_that_fails_keeps_its_state_and_is_tried_again() {
    let rig = Rig::new(&[("gca", "required")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    rig.expect(&["watch", "--once"], 0);
    let before = SqliteStore::open(&rig.db())
        .expect("store")
        .feed_state("blog")
        .expect("state")
        .expect("a state after the first poll");
    assert!(before.validators.etag.is_some());
    // The post is published while the feed fails in three ways.
    rig.site.control().hidden.clear();
    let url = rig.site.url(FEED);
    for (fault, says) in [
        (Fault::Status(500), "500"),
        (Fault::Truncate, "not a readable RSS, Atom or JSON feed"),
        (
            Fault::Delay(Duration::from_millis(3000)),
            "no answer within 2 s",
        ),
    ] {
        rig.site.control().faults.insert(FEED.into(), fault.clone());
        let out = rig.expect(&["watch", "--once"], 1);
        assert!(
            out.contains(&url) && out.contains(says) && out.contains("last good state is kept"),
            "{fault:?}: {out}"
        );
        assert_eq!(
            out.matches("last good state is kept").count(),
            1,
            "{fault:?}: one report of the failure: {out}"
        );
        assert!(rig.queue().is_empty(), "{fault:?}: nothing drafted");
    }
    let after = SqliteStore::open(&rig.db())
        .expect("store")
        .feed_state("blog")
        .expect("state")
        .expect("state");
    assert_eq!(after.consecutive_failures, 3);
    assert_eq!(after.validators, before.validators, "validators kept");
    assert_eq!(after.initialized_at, before.initialized_at);
    assert_eq!(after.last_success_at, before.last_success_at);
    assert!(after.last_error.is_some_and(|e| e.contains("no answer")));

    rig.site.control().faults.clear();
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("1 new"), "not taken for a first run: {out}");
    assert_eq!(drafts(&rig.queue()).len(), 1);
    let state = SqliteStore::open(&rig.db())
        .expect("store")
        .feed_state("blog")
        .expect("state")
        .expect("state");
    assert_eq!(state.consecutive_failures, 0);
}

#[test]
fn a_post_page_that_cannot_be_drafted_is_reported_posts_nothing_and_is_tried_again() {
    let rig = Rig::new(&[("gca", "none")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    rig.expect(&["watch", "--once"], 0);
    rig.site.control().hidden.clear();
    rig.site
        .control()
        .faults
        .insert(NEW_POST.into(), Fault::Status(404));
    let out = rig.expect(&["watch", "--once"], 1);
    assert!(
        out.contains("NOT DRAFTED") && out.contains("404") && out.contains(NEW_POST),
        "{out}"
    );
    assert!(rig.queue().is_empty());
    assert!(rig.statuses("gca").is_empty(), "nothing posted");

    // The feed is unchanged (304), but the page is tried again at the next poll.
    rig.site.control().faults.clear();
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("unchanged (304"), "{out}");
    let list = rig.queue();
    assert_eq!(drafts(&list).len(), 1, "{out}");
    // The account needs no review: the draft was posted at once.
    assert_eq!(list[0]["state"], "posted", "{out}");
    let posts = rig.show(list[0]["id"].as_i64().expect("id"))["posts"]
        .as_array()
        .expect("posts")
        .len();
    assert_eq!(rig.statuses("gca").len(), posts);
}

#[test]
fn an_article_is_given_up_after_the_configured_tries_and_never_posted() {
    // Every category: an Article in the feed is a new entry that does not extract.
    let rig = Rig::new(&[("gca", "none")], "[]");
    let article = "/2026-05-04-stochastic-rounding/";
    rig.site.control().hidden.insert(article.into());
    rig.expect(&["watch", "--once"], 0);
    rig.site.control().hidden.clear();
    for attempt in 1..=3 {
        let out = rig.expect(&["watch", "--once"], 1);
        assert!(
            out.contains("NOT DRAFTED") && out.contains("not a Papers of the Month post"),
            "try {attempt}: {out}"
        );
    }
    assert_eq!(requests(&rig, article), 3);
    let out = rig.expect(&["watch", "--once"], 0);
    assert_eq!(requests(&rig, article), 3, "given up: {out}");
    let store = SqliteStore::open(&rig.db()).expect("store");
    let entry = store
        .seen_entries("blog")
        .expect("entries")
        .into_iter()
        .find(|e| e.url.ends_with(article))
        .expect("the article is recorded");
    assert_eq!(entry.outcome, EntryOutcome::GaveUp);
    assert_eq!(entry.attempts, 3);
    assert!(rig.queue().is_empty());
    assert!(rig.statuses("gca").is_empty());
}

#[test]
fn backfill_on_a_feed_polled_before_says_it_did_nothing() {
    let rig = Rig::new(&[("gca", "required")], POTM);
    rig.expect(&["watch", "--once"], 0);
    let out = rig.expect(&["watch", "--once", "--backfill", "3"], 0);
    assert!(
        out.contains("blog: --backfill 3 did nothing")
            && out.contains("first poll only")
            && out.contains("papercast announce URL"),
        "{out}"
    );
    assert!(rig.queue().is_empty(), "nothing drafted: {out}");
}

#[test]
fn backfill_announces_the_newest_posts_of_a_first_poll_oldest_first() {
    let rig = Rig::new(&[("gca", "required")], POTM);
    let out = rig.expect(&["watch", "--once", "--backfill", "2"], 0);
    assert!(out.contains("2 announced"), "{out}");
    assert!(
        out.contains("[1/2]") && out.contains("[2/2]"),
        "progress: {out}"
    );
    let mut urls: Vec<String> = rig
        .queue()
        .iter()
        .map(|d| d["post_url"].as_str().expect("url").to_owned())
        .collect();
    urls.sort();
    assert_eq!(urls.len(), 2);
    assert!(urls[0].ends_with("/2026-02-10-potm/"), "{urls:?}");
    assert!(urls[1].ends_with("/2026-03-03-potm/"), "{urls:?}");
}

#[test]
fn with_no_accounts_the_watcher_still_watches_and_says_so() {
    let rig = Rig::new(&[], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(out.contains("no accounts are configured"), "{out}");
    rig.site.control().hidden.clear();
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(
        out.contains("no accounts are configured, so no draft was made"),
        "{out}"
    );
    assert!(rig.queue().is_empty());
}

#[test]
fn feed_entry_with_file_link_is_refused() {
    // The feed's entry for a new post points at a local copy of that very page (as a
    // hostile feed could): read from disk, it would become a draft.
    let rig = Rig::new(&[("gca", "none")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    rig.expect(&["watch", "--once"], 0);
    let local = support::corpus_dir()
        .join("site")
        .join(NEW_POST.trim_matches('/'))
        .join("index.html")
        .canonicalize()
        .expect("the corpus page");
    let file_link = format!("file://{}", local.display());
    {
        let mut control = rig.site.control();
        control.hidden.clear();
        control.rewrites.insert(
            FEED.into(),
            vec![(
                format!("{}</link>", rig.site.url(NEW_POST)),
                format!("{file_link}</link>"),
            )],
        );
    }
    let out = rig.expect(&["watch", "--once"], 1);
    assert!(
        out.contains(&file_link) && out.contains("http(s) only") && out.contains("NOT DRAFTED"),
        "{out}"
    );
    assert!(rig.queue().is_empty(), "nothing drafted from a local file");
    assert!(rig.statuses("gca").is_empty());
    let store = SqliteStore::open(&rig.db()).expect("store");
    let entry = store
        .seen_entries("blog")
        .expect("entries")
        .into_iter()
        .find(|e| e.url == file_link)
        .expect("the entry is recorded");
    assert_eq!(
        entry.outcome,
        EntryOutcome::GaveUp,
        "a refused link is not tried again at every poll"
    );
    assert_eq!(entry.attempts, 1);
    // The next poll (feed unchanged) does not try it again.
    let out = rig.expect(&["watch", "--once"], 0);
    assert!(!out.contains(&file_link), "{out}");
}

#[test]
fn a_deeply_nested_page_is_refused_at_once_and_not_tried_again() {
    // The real post with 100,000 nested <div>s inserted into its body (568 kB): the
    // tree builder would take minutes over it.
    let rig = Rig::new(&[("gca", "none")], POTM);
    rig.site.control().hidden.insert(NEW_POST.into());
    rig.expect(&["watch", "--once"], 0);
    {
        let mut control = rig.site.control();
        control.hidden.clear();
        control.rewrites.insert(
            NEW_POST.into(),
            vec![("<body".into(), format!("{}<body", "<div>".repeat(100_000)))],
        );
    }
    let out = rig.expect(&["watch", "--once"], 1);
    assert!(
        out.contains("NOT DRAFTED") && out.contains("nests its elements more than 1000 deep"),
        "{out}"
    );
    assert!(rig.queue().is_empty());
    let out = rig.expect(&["watch", "--once"], 0);
    assert_eq!(requests(&rig, NEW_POST), 1, "not fetched again: {out}");
    let entry = SqliteStore::open(&rig.db())
        .expect("store")
        .seen_entries("blog")
        .expect("entries")
        .into_iter()
        .find(|e| e.url.ends_with(NEW_POST))
        .expect("the entry is recorded");
    assert_eq!(entry.outcome, EntryOutcome::GaveUp);
    assert!(rig.statuses("gca").is_empty());
}
