//! One contract for every store backend: each test below runs against SQLite (in
//! memory) and against a real PostgreSQL server (a fresh database on the test cluster,
//! see `support::postgres`). A new store method gets its test here, once.

mod support;

use chrono::{DateTime, Duration, Utc};
use papercast::model::{Announcement, Engagement, Figure, LengthRules, Paper};
use papercast::model::{FeedEntry, Validators};
use papercast::store::*;

/// Runs each named test (a `fn(&dyn ReplyStore)`) on both backends.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let store = papercast::store::SqliteStore::in_memory().expect("a SQLite store");
                    super::$name(&store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let db = crate::support::postgres::database();
                    let store = papercast::store::PostgresStore::open(&db.url)
                        .expect("a PostgreSQL store");
                    super::$name(&store);
                }
            )*
        }
    };
}

contract!(
    a_planned_thread_round_trips_with_stable_keys,
    post_states_follow_sends,
    replanning_replaces_the_unsent_rest_with_new_keys,
    again_starts_a_new_generation_with_new_keys,
    post_keys_are_unique_per_post_url_when_last_segments_match,
    saving_tells_new_edited_unchanged_and_restored_replies_apart,
    rules_hide_new_replies_but_never_overrule_a_moderator,
    hidden_authors_match_any_spelling_of_the_handle,
    an_answer_is_begun_once_only,
    watched_threads_follow_the_window_and_record_checks,
    a_failed_poll_changes_nothing_but_the_failure_count,
    a_whole_feed_is_recorded_at_once_without_touching_other_sources,
    entries_are_recorded_once_and_count_their_tries,
    a_claim_keeps_others_out_until_it_ends_or_its_holder_is_gone,
    two_claims_at_once_give_the_draft_to_one,
    one_thread_per_announcement_and_account_whoever_drafts_it,
    the_last_time_an_actor_did_something_is_kept,
    engagement_is_a_series_of_changes_with_unknown_counts_kept_unknown,
    usage_adds_up_per_account_and_month,
    a_notification_is_queued_once_claimed_by_one_sender_and_kept_until_delivered,
);

fn announcement() -> Announcement {
    Announcement {
        url: "https://graphcore-research.github.io/2025-10-07-potm/".into(),
        slug: "2025-10-07-potm".into(),
        title: "September Papers".into(),
        date: "2025-10-07".into(),
        tags: vec![],
        social_image: None,
        intro_theme: None,
        papers: vec![Paper {
            position: 0,
            title: "FlowRL".into(),
            authors: "X. Zhu".into(),
            orgs: "Lab".into(),
            link: "https://arxiv.org/abs/2509.15207".into(),
            anchor: "flowrl".into(),
            url: "https://graphcore-research.github.io/2025-10-07-potm/#flowrl".into(),
            intro_summary: None,
            intro_sentence: None,
            key_idea: "Idea.".into(),
            figure: None,
        }],
    }
}

fn planned(n: usize) -> Vec<PlannedPost> {
    (0..n)
        .map(|i| PlannedPost {
            role: format!("{{\"kind\":\"post{i}\"}}"),
            text: format!("post {i}"),
            links: vec![],
            images: if i == 1 {
                vec![Figure {
                    url: "https://example.org/f.png".into(),
                    alt: "alt".into(),
                    caption: None,
                }]
            } else {
                vec![]
            },
        })
        .collect()
}

/// Records one posted thread of two posts (ids 100, 101) on account `gc`.
fn posted(store: &dyn ReplyStore) -> i64 {
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let posts: Vec<PlannedPost> = [r#"{"kind":"head"}"#, r#"{"kind":"paper","position":0}"#]
        .iter()
        .map(|role| PlannedPost {
            role: (*role).into(),
            text: "t".into(),
            links: vec![],
            images: vec![],
        })
        .collect();
    let thread = store
        .plan_thread(&record, "gc", "mastodon", &posts, "{}")
        .expect("plan");
    for (post, id) in thread.posts.iter().zip(["100", "101"]) {
        store
            .mark_sent(
                &post.key,
                &RemotePost {
                    id: id.into(),
                    url: Some(format!("https://social.example/@gc/{id}")),
                },
            )
            .expect("sent");
    }
    thread.id
}

fn status(id: &str, parent: &str, html: &str) -> ServerStatus {
    ServerStatus {
        id: id.into(),
        in_reply_to: Some(parent.into()),
        author_id: "7".into(),
        author_handle: "@Alice@Social.Example".into(),
        author_name: "Alice".into(),
        author_url: "https://social.example/@alice".into(),
        author_avatar: None,
        author_bot: false,
        url: format!("https://social.example/@alice/{id}"),
        visibility: "public".into(),
        created_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
        edited_at: None,
        content_html: html.into(),
        spoiler_text: String::new(),
    }
}

fn entry(id: &str) -> FeedEntry {
    FeedEntry {
        id: format!("https://blog.example/{id}/"),
        url: format!("https://blog.example/{id}/"),
        title: id.to_uppercase(),
        categories: vec!["Papers of the Month".into()],
        published: None,
    }
}

fn draft(store: &dyn ReplyStore) -> i64 {
    let record = store
        .record_announcement(
            &Announcement {
                url: "https://blog.example/p/".into(),
                slug: "p".into(),
                title: "P".into(),
                date: "2026-11-01".into(),
                tags: vec![],
                social_image: None,
                papers: vec![],
                intro_theme: None,
            },
            false,
        )
        .expect("record");
    let posts = vec![PlannedPost {
        role: "{\"kind\":\"head\"}".into(),
        text: "head".into(),
        links: vec![],
        images: vec![],
    }];
    store
        .create_draft(
            &record,
            &NewDraft {
                account: "gc",
                platform: "mastodon",
                posts: &posts,
                plan_json: "[]",
                rules: &LengthRules::mastodon(500, 23),
                review: ReviewState::Pending,
                origin: "announce",
                actor: "ann",
                details: "",
            },
        )
        .expect("draft")
        .0
        .id
}

fn a_planned_thread_round_trips_with_stable_keys(store: &dyn ReplyStore) {
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    assert_eq!(record.generation, 0);
    assert_eq!(record.announcement, announcement());
    let thread = store
        .plan_thread(&record, "gc", "mastodon", &planned(3), "{}")
        .expect("plan");
    assert_eq!(thread.state, ThreadState::Planned);
    let keys: Vec<&str> = thread.posts.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "2025-10-07-potm-12d9476e6f97.0/gc/0",
            "2025-10-07-potm-12d9476e6f97.0/gc/1",
            "2025-10-07-potm-12d9476e6f97.0/gc/2"
        ]
    );
    assert_eq!(thread.posts[1].images.len(), 1);
    assert!(thread.posts.iter().all(|p| p.state == PostState::Pending));

    // Planning again returns what was recorded, even if the composer changed its mind.
    let again = store
        .plan_thread(&record, "gc", "mastodon", &planned(5), "{}")
        .expect("plan again");
    assert_eq!(again, thread);
    assert_eq!(store.thread(record.id, "gc").expect("load"), Some(thread));
    assert_eq!(store.thread(record.id, "other").expect("load"), None);
}

fn post_states_follow_sends(store: &dyn ReplyStore) {
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let thread = store
        .plan_thread(&record, "gc", "mastodon", &planned(2), "{}")
        .expect("plan");
    let key = &thread.posts[0].key;
    store.mark_sending(key).expect("sending");
    store.mark_unsent(key).expect("unsent");
    store.mark_sending(key).expect("sending again");
    let post = &store
        .thread(record.id, "gc")
        .expect("load")
        .expect("thread")
        .posts[0];
    assert_eq!(post.state, PostState::Sending);
    assert_eq!(post.attempts, 2);
    assert!(post.sending_at.is_some());

    let remote = RemotePost {
        id: "109".into(),
        url: Some("https://example.social/@bot/109".into()),
    };
    store.mark_sent(key, &remote).expect("sent");
    store
        .replan_rest(thread.id, 0, &planned(1))
        .expect_err("a sent post is not replanned");
    store
        .mark_sending(key)
        .expect_err("a sent post is not sent again");
    store
        .set_thread_state(thread.id, ThreadState::Posting, None)
        .expect("state");
    assert_eq!(store.remote_ids("gc").expect("ids"), ["109"]);
    assert!(store.remote_ids("other").expect("ids").is_empty());
    store.mark_announced(record.id).expect("announced");
    let record = store
        .announcement(&record.url)
        .expect("load")
        .expect("some");
    assert!(record.announced_at.is_some());
    let thread = store
        .thread(record.id, "gc")
        .expect("load")
        .expect("thread");
    assert_eq!(thread.state, ThreadState::Posting);
    assert_eq!(thread.posts[0].state, PostState::Sent);
    assert_eq!(thread.head(), Some(&remote));
    assert_eq!(thread.posts[0].text, "post 0");
}

fn replanning_replaces_the_unsent_rest_with_new_keys(store: &dyn ReplyStore) {
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let thread = store
        .plan_thread(&record, "gc", "mastodon", &planned(3), "{}")
        .expect("plan");
    let remote = RemotePost {
        id: "1".into(),
        url: None,
    };
    store.mark_sending(&thread.posts[0].key).expect("sending");
    store
        .mark_sent(&thread.posts[0].key, &remote)
        .expect("sent");
    let replanned = store
        .replan_rest(thread.id, 1, &planned(3))
        .expect("replan");
    let keys: Vec<&str> = replanned.posts.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "2025-10-07-potm-12d9476e6f97.0/gc/0",
            "2025-10-07-potm-12d9476e6f97.0/gc/1~1",
            "2025-10-07-potm-12d9476e6f97.0/gc/2~1",
            "2025-10-07-potm-12d9476e6f97.0/gc/3~1"
        ]
    );
    assert_eq!(replanned.posts[0].remote, Some(remote));
    assert_eq!(replanned.posts[1].text, "post 0");
    let again = store.replan_rest(thread.id, 3, &planned(1)).expect("again");
    assert_eq!(again.posts[3].key, "2025-10-07-potm-12d9476e6f97.0/gc/3~2");
    assert_eq!(again.posts.len(), 4);
}

fn again_starts_a_new_generation_with_new_keys(store: &dyn ReplyStore) {
    let first = store
        .record_announcement(&announcement(), false)
        .expect("first");
    let same = store
        .record_announcement(&announcement(), false)
        .expect("same");
    assert_eq!(first.id, same.id);
    let second = store
        .record_announcement(&announcement(), true)
        .expect("again");
    assert_eq!(second.generation, 1);
    assert_eq!(
        store.announcement(&announcement().url).expect("latest"),
        Some(second.clone())
    );
    let thread = store
        .plan_thread(&second, "gc", "mastodon", &planned(1), "{}")
        .expect("plan");
    assert_eq!(thread.posts[0].key, "2025-10-07-potm-12d9476e6f97.1/gc/0");
}

fn post_keys_are_unique_per_post_url_when_last_segments_match(store: &dyn ReplyStore) {
    let mut october = announcement();
    october.url = "https://blog.example/2025/10/potm/".into();
    october.slug = "potm".into();
    let mut november = october.clone();
    november.url = "https://blog.example/2025/11/potm/".into();
    let mut keys = Vec::new();
    for post in [&october, &november] {
        let record = store.record_announcement(post, false).expect("record");
        for account in ["gc", "gc2"] {
            let thread = store
                .plan_thread(&record, account, "mastodon", &planned(2), "{}")
                .expect("both posts are planned on one database");
            keys.extend(thread.posts.into_iter().map(|p| p.key));
        }
    }
    let unique: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), 8, "{keys:?}");
    assert!(keys[0].starts_with("potm-"), "{keys:?}");
}

fn saving_tells_new_edited_unchanged_and_restored_replies_apart(store: &dyn ReplyStore) {
    let thread = posted(store);
    let first = status("200", "101", "<p>first</p>");
    let save = |s: &ServerStatus| {
        store
            .save_reply(thread, "gc", s, ReplySource::Context, None)
            .expect("save")
    };
    assert_eq!(save(&first), Saved::Added);
    assert_eq!(save(&first), Saved::Unchanged);
    let mut edited = first.clone();
    edited.content_html = "<p>second</p>".into();
    edited.edited_at = Some(first.created_at + chrono::Duration::minutes(5));
    assert_eq!(save(&edited), Saved::Edited);
    let mut avatar = edited.clone();
    avatar.author_avatar = Some("https://social.example/a.png".into());
    assert_eq!(save(&avatar), Saved::Unchanged, "a new avatar is no edit");

    let record = store
        .reply_by_remote("gc", "200")
        .expect("load")
        .expect("recorded");
    assert_eq!(record.status, avatar);
    store.mark_reply_deleted(record.id).expect("deleted");
    assert!(store
        .reply(record.id)
        .expect("load")
        .expect("recorded")
        .deleted_at
        .is_some());
    assert_eq!(save(&avatar), Saved::Restored);
    assert_eq!(store.thread_replies(thread).expect("replies").len(), 1);
    assert_eq!(
        store.thread_of_post("gc", "101").expect("post"),
        Some(thread)
    );
    assert_eq!(store.thread_of_post("other", "101").expect("post"), None);
}

fn rules_hide_new_replies_but_never_overrule_a_moderator(store: &dyn ReplyStore) {
    let thread = posted(store);
    let spam = status("200", "100", "<p>spam</p>");
    store
        .save_reply(thread, "gc", &spam, ReplySource::Context, Some("spam"))
        .expect("save");
    let record = store
        .reply_by_remote("gc", "200")
        .expect("load")
        .expect("some");
    let hiding = record.hidden.clone().expect("hidden by the rule");
    assert_eq!(
        (hiding.by.as_str(), hiding.reason.as_deref()),
        ("rule", Some("spam"))
    );

    store
        .set_reply_hidden(record.id, false, "ann", None)
        .expect("unhide");
    let mut edited = spam.clone();
    edited.content_html = "<p>still spam</p>".into();
    store
        .save_reply(thread, "gc", &edited, ReplySource::Context, Some("spam"))
        .expect("save");
    let record = store.reply(record.id).expect("load").expect("some");
    assert!(
        record.hidden.is_none() && record.moderated,
        "the moderator decided"
    );

    let fine = status("201", "100", "<p>fine</p>");
    store
        .save_reply(thread, "gc", &fine, ReplySource::Mention, None)
        .expect("save");
    let mut now_spam = fine.clone();
    now_spam.content_html = "<p>spam now</p>".into();
    store
        .save_reply(thread, "gc", &now_spam, ReplySource::Context, Some("spam"))
        .expect("save");
    let record = store
        .reply_by_remote("gc", "201")
        .expect("load")
        .expect("some");
    assert!(
        record.hidden.is_some(),
        "an edit that matches a rule is hidden"
    );
    assert_eq!(
        record.source,
        ReplySource::Mention,
        "found first as a mention"
    );
}

fn hidden_authors_match_any_spelling_of_the_handle(store: &dyn ReplyStore) {
    let thread = posted(store);
    store
        .save_reply(
            thread,
            "gc",
            &status("200", "100", "x"),
            ReplySource::Context,
            None,
        )
        .expect("save");
    assert!(store
        .hide_author("alice@social.example", "ann", Some("troll"))
        .expect("hide"));
    assert!(!store
        .hide_author("@ALICE@social.example", "bob", None)
        .expect("again"));
    let record = store
        .reply_by_remote("gc", "200")
        .expect("load")
        .expect("some");
    assert!(record.author_hidden && record.is_hidden() && record.hidden.is_none());
    let authors = store.hidden_authors().expect("authors");
    assert_eq!(authors.len(), 1);
    assert_eq!(
        (authors[0].handle.as_str(), authors[0].by.as_str()),
        ("alice@social.example", "ann")
    );
    assert!(store
        .unhide_author("@alice@social.example")
        .expect("unhide"));
    assert!(!store.unhide_author("alice@social.example").expect("twice"));
    assert!(!store
        .reply(record.id)
        .expect("load")
        .expect("some")
        .is_hidden());
}

fn an_answer_is_begun_once_only(store: &dyn ReplyStore) {
    let thread = posted(store);
    store
        .save_reply(
            thread,
            "gc",
            &status("200", "101", "?"),
            ReplySource::Context,
            None,
        )
        .expect("save");
    let id = store
        .reply_by_remote("gc", "200")
        .expect("load")
        .expect("some")
        .id;
    assert!(store.begin_answer(id).expect("begin"));
    assert!(!store.begin_answer(id).expect("begin again"));
    assert!(store.answer_ids("gc").expect("ids").is_empty());
    store
        .finish_answer(
            id,
            &RemotePost {
                id: "300".into(),
                url: None,
            },
        )
        .expect("finish");
    assert_eq!(store.answer_ids("gc").expect("ids"), ["300"]);
    let announcement = store
        .announcement(&announcement().url)
        .expect("load")
        .expect("recorded");
    assert_eq!(
        store.answers(&[announcement.id]).expect("answers"),
        [AnswerLink {
            account: "gc".into(),
            remote_id: "300".into(),
            in_reply_to: "200".into()
        }]
    );
    assert!(store.answer_ids("other").expect("ids").is_empty());
}

fn watched_threads_follow_the_window_and_record_checks(store: &dyn ReplyStore) {
    let thread = posted(store);
    let long_ago = Utc::now() - chrono::Duration::days(1);
    let watched = store.watched_threads(long_ago).expect("watched");
    assert_eq!(watched.len(), 1);
    assert_eq!(watched[0].thread.id, thread);
    assert_eq!(watched[0].checked_at, None);
    assert!(store
        .watched_threads(Utc::now() + chrono::Duration::minutes(1))
        .expect("watched")
        .is_empty());

    let at = Utc::now();
    store
        .mark_thread_checked(thread, at, Some(long_ago))
        .expect("checked");
    store
        .mark_thread_checked(thread, at, None)
        .expect("checked");
    let watched = store.watched_threads(long_ago).expect("watched");
    assert!(watched[0].checked_at.is_some());
    assert_eq!(
        watched[0].activity_at.map(|t| t.timestamp_millis()),
        Some(long_ago.timestamp_millis()),
        "a check without activity keeps the last one"
    );

    assert_eq!(store.mention_cursor("gc").expect("cursor"), None);
    store.set_mention_cursor("gc", "55").expect("set");
    store.set_mention_cursor("gc", "56").expect("set");
    assert_eq!(
        store.mention_cursor("gc").expect("cursor").as_deref(),
        Some("56")
    );

    let url = &announcement().url;
    assert_eq!(store.announcements_of(url).expect("by url").len(), 1);
    assert_eq!(
        store
            .announcements_of("2025-10-07-potm")
            .expect("by slug")
            .len(),
        1
    );
    assert!(store.announcements_of("nope").expect("none").is_empty());
    assert_eq!(store.announced_posts().expect("posts").len(), 1);
}

fn a_failed_poll_changes_nothing_but_the_failure_count(store: &dyn ReplyStore) {
    assert_eq!(store.feed_state("blog").expect("state"), None);
    let next = Utc::now() + Duration::minutes(10);
    let good = Validators {
        etag: Some("\"abc\"".into()),
        last_modified: None,
    };
    let first = store
        .record_poll(
            "blog",
            "https://blog.example/feed.xml",
            PollRecord::Fetched { validators: &good },
            next,
        )
        .expect("fetched");
    assert!(first.initialized_at.is_some());
    assert_eq!(first.validators, good);
    let failed = store
        .record_poll(
            "blog",
            "https://blog.example/feed.xml",
            PollRecord::Failed { error: "500" },
            next,
        )
        .expect("failed");
    let failed = store
        .record_poll(
            "blog",
            "https://blog.example/feed.xml",
            PollRecord::Failed { error: "timeout" },
            failed.next_poll_at.unwrap_or(next),
        )
        .expect("failed again");
    assert_eq!(failed.consecutive_failures, 2);
    assert_eq!(failed.last_error.as_deref(), Some("timeout"));
    assert_eq!(failed.validators, good);
    assert_eq!(failed.initialized_at, first.initialized_at);
    assert_eq!(failed.last_success_at, first.last_success_at);
    let back = store
        .record_poll(
            "blog",
            "https://blog.example/feed.xml",
            PollRecord::NotModified,
            next,
        )
        .expect("304");
    assert_eq!(back.consecutive_failures, 0);
    assert_eq!(back.last_error, None);
    assert_eq!(back.validators, good, "a 304 keeps the validators");
}

fn a_whole_feed_is_recorded_at_once_without_touching_other_sources(store: &dyn ReplyStore) {
    store
        .record_entry("blog", &entry("a"), EntryOutcome::Failed, Some("404"), None)
        .expect("failed");
    store
        .record_entries("blog", &[entry("a"), entry("b"), entry("c")])
        .expect("recorded");
    let seen = store.seen_entries("blog").expect("seen");
    let outcomes: Vec<_> = seen
        .iter()
        .map(|e| {
            (
                e.entry_id.as_str(),
                e.outcome,
                e.attempts,
                e.last_error.clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("https://blog.example/a/", EntryOutcome::Recorded, 1, None),
            ("https://blog.example/b/", EntryOutcome::Recorded, 0, None),
            ("https://blog.example/c/", EntryOutcome::Recorded, 0, None),
        ]
    );
    assert!(store.seen_entries("other").expect("seen").is_empty());
    store
        .record_entries("blog", &[])
        .expect("nothing to record");
    assert_eq!(store.seen_entries("blog").expect("seen").len(), 3);
}

fn entries_are_recorded_once_and_count_their_tries(store: &dyn ReplyStore) {
    store
        .record_entry("blog", &entry("a"), EntryOutcome::Recorded, None, None)
        .expect("recorded");
    store
        .record_entry("blog", &entry("b"), EntryOutcome::Failed, Some("404"), None)
        .expect("failed");
    let again = store
        .record_entry("blog", &entry("b"), EntryOutcome::Failed, Some("404"), None)
        .expect("failed again");
    assert_eq!((again.outcome, again.attempts), (EntryOutcome::Failed, 2));
    let mut renamed = entry("b");
    renamed.title = "B, retitled".into();
    let done = store
        .record_entry("blog", &renamed, EntryOutcome::Drafted, None, None)
        .expect("drafted");
    assert_eq!((done.outcome, done.attempts), (EntryOutcome::Drafted, 3));
    assert_eq!(done.last_error, None);
    assert_eq!(done.title, "B", "the first title is kept");
    let seen = store.seen_entries("blog").expect("seen");
    assert_eq!(seen.len(), 2);
    assert!(store.seen_entries("other").expect("seen").is_empty());
}

fn a_claim_keeps_others_out_until_it_ends_or_its_holder_is_gone(store: &dyn ReplyStore) {
    let id = draft(store);
    let now = Utc::now();
    let until = now + Duration::minutes(2);
    assert_eq!(
        store.claim_draft(id, "a", until, now, None).expect("claim"),
        Claim::Claimed
    );
    assert_eq!(
        store.claim_draft(id, "a", until, now, None).expect("claim"),
        Claim::Claimed,
        "renewed"
    );
    assert_eq!(
        store.claim_draft(id, "b", until, now, None).expect("claim"),
        Claim::HeldBy("a".into())
    );
    assert_eq!(
        store
            .claim_draft(id, "b", until, now, Some("a"))
            .expect("claim"),
        Claim::Claimed,
        "taken over from a holder known to be gone"
    );
    let later = until + Duration::seconds(1);
    assert_eq!(
        store
            .claim_draft(id, "c", later + Duration::minutes(2), later, None)
            .expect("claim"),
        Claim::Claimed,
        "b's claim ran out"
    );
    store.release_draft(id, "b").expect("not b's: nothing");
    assert_eq!(
        store.claim_draft(id, "d", until, now, None).expect("claim"),
        Claim::HeldBy("c".into())
    );
    assert_eq!(store.release_leases("c").expect("release"), 1);
    assert_eq!(
        store.claim_draft(id, "d", until, now, None).expect("claim"),
        Claim::Claimed
    );
}
fn two_claims_at_once_give_the_draft_to_one(store: &dyn ReplyStore) {
    let id = draft(store);
    let now = Utc::now();
    let until = now + Duration::minutes(1);
    let winners: Vec<bool> = std::thread::scope(|scope| {
        let claims: Vec<_> = (0..8)
            .map(|n| {
                scope.spawn(move || {
                    store
                        .claim_draft(id, &format!("instance-{n}"), until, now, None)
                        .expect("claim")
                        == Claim::Claimed
                })
            })
            .collect();
        claims
            .into_iter()
            .map(|claim| claim.join().expect("a claiming thread"))
            .collect()
    });
    assert_eq!(
        winners.iter().filter(|won| **won).count(),
        1,
        "exactly one instance holds the claim: {winners:?}"
    );
    let holder = store.draft(id).expect("load").expect("draft").lease_owner;
    assert!(holder.is_some_and(|h| h.starts_with("instance-")));
}

fn one_thread_per_announcement_and_account_whoever_drafts_it(store: &dyn ReplyStore) {
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let posts = planned(2);
    let rules = LengthRules::mastodon(500, 23);
    let created: Vec<(i64, bool)> = std::thread::scope(|scope| {
        let drafting: Vec<_> = (0..6)
            .map(|n| {
                let (record, posts, rules) = (&record, &posts, &rules);
                scope.spawn(move || {
                    let actor = format!("instance-{n}");
                    let (draft, created) = store
                        .create_draft(
                            record,
                            &NewDraft {
                                account: "gc",
                                platform: "mastodon",
                                posts,
                                plan_json: "[]",
                                rules,
                                review: ReviewState::Approved,
                                origin: "watch:blog",
                                actor: &actor,
                                details: "",
                            },
                        )
                        .expect("draft");
                    (draft.id, created)
                })
            })
            .collect();
        drafting
            .into_iter()
            .map(|d| d.join().expect("a drafting thread"))
            .collect()
    });
    assert_eq!(
        created.iter().filter(|(_, new)| *new).count(),
        1,
        "{created:?}"
    );
    assert!(created.windows(2).all(|w| w[0].0 == w[1].0), "{created:?}");
    assert_eq!(store.threads(record.id).expect("threads").len(), 1);
    assert_eq!(store.drafts(DraftFilter::All).expect("drafts").len(), 1);
}

/// PostgreSQL's migrations are checked as SQLite's are: an applied one that changed
/// is refused, and so is a schema from a newer papercast.
#[test]
fn a_postgres_schema_refuses_edited_migrations_and_newer_versions() {
    let db = support::postgres::database();
    PostgresStore::open(&db.url).expect("migrated");
    PostgresStore::open(&db.url).expect("opened again, nothing to do");
    db.psql("UPDATE schema_migrations SET sql = sql || ' ' WHERE version = 1");
    let error = PostgresStore::open(&db.url).expect_err("edited migration");
    assert!(
        matches!(error, StoreError::MigrationChanged { version: 1, .. }),
        "{error}"
    );
    db.psql("UPDATE schema_migrations SET sql = rtrim(sql, ' ') WHERE version = 1");
    db.psql("INSERT INTO schema_migrations VALUES (999, 'SELECT 1', 'later')");
    let error = PostgresStore::open(&db.url).expect_err("newer schema");
    assert!(
        matches!(error, StoreError::TooNew { found: 999, .. }),
        "{error}"
    );
}

#[test]
fn a_wrong_postgres_password_is_said_without_the_password() {
    let cluster = support::postgres::cluster();
    let url = format!(
        "postgres://nobody:hunter2@127.0.0.1:{}/missing_database",
        cluster.port
    );
    let error = PostgresStore::open(&url).expect_err("no such database");
    let text = error.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("missing_database"), "{text}");
}

fn the_last_time_an_actor_did_something_is_kept(store: &dyn ReplyStore) {
    assert_eq!(
        store.last_action_at("ann", "logout").expect("none yet"),
        None
    );
    let before = Utc::now() - Duration::seconds(1);
    for actor in ["ann", "bob", "ann"] {
        store
            .audit(&AuditNote {
                actor,
                action: "logout",
                thread_id: None,
                details: "",
            })
            .expect("audit");
    }
    let at = store
        .last_action_at("ann", "logout")
        .expect("read")
        .expect("ann logged out");
    assert!(at >= before && at <= Utc::now(), "{at}");
    assert_eq!(store.last_action_at("ann", "login").expect("read"), None);
    assert_eq!(store.last_action_at("carol", "logout").expect("read"), None);
}

fn engagement_is_a_series_of_changes_with_unknown_counts_kept_unknown(store: &dyn ReplyStore) {
    let thread = posted(store);
    let at = |secs: i64| DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("time");
    let counts = |likes: u64| Engagement {
        replies: Some(1),
        reposts: Some(0),
        likes: Some(likes),
        quotes: None,
    };
    assert!(store
        .record_engagement(thread, "100", at(0), &counts(2))
        .expect("first"));
    // The same counts again: no row, even with the unknown quote count.
    assert!(!store
        .record_engagement(thread, "100", at(60), &counts(2))
        .expect("same"));
    assert!(store
        .record_engagement(thread, "101", at(60), &counts(2))
        .expect("another post"));
    assert!(store
        .record_engagement(thread, "100", at(120), &counts(5))
        .expect("changed"));
    let record = store
        .announcements_of("2025-10-07-potm")
        .expect("announcements");
    let history = store.engagement_history(&[record[0].id]).expect("history");
    let rows: Vec<(&str, i64, Option<u64>, Option<u64>)> = history
        .iter()
        .map(|r| {
            (
                r.remote_id.as_str(),
                r.recorded_at.timestamp() - 1_800_000_000,
                r.counts.likes,
                r.counts.quotes,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("100", 0, Some(2), None),
            ("101", 60, Some(2), None),
            ("100", 120, Some(5), None)
        ]
    );
}

fn usage_adds_up_per_account_and_month(store: &dyn ReplyStore) {
    let month = "2026-12";
    assert_eq!(store.usage("gc-x", month).expect("usage"), Usage::default());
    for _ in 0..2 {
        store
            .add_usage(
                "gc-x",
                month,
                Usage {
                    requests: 5,
                    posts: 2,
                },
            )
            .expect("add");
    }
    store
        .add_usage(
            "gc-x",
            "2027-01",
            Usage {
                requests: 1,
                posts: 1,
            },
        )
        .expect("add");
    assert_eq!(
        store.usage("gc-x", month).expect("usage"),
        Usage {
            requests: 10,
            posts: 4
        }
    );
    assert_eq!(
        store.usage("other", month).expect("usage"),
        Usage::default()
    );
}

fn a_notification_is_queued_once_claimed_by_one_sender_and_kept_until_delivered(
    store: &dyn ReplyStore,
) {
    let item = |key| NewNotification {
        key,
        target: "team",
        event: "draft_waiting",
        payload: "{}",
    };
    assert_eq!(
        store
            .queue_notifications(&[item("a@team"), item("b@team")])
            .expect("queue"),
        2
    );
    assert_eq!(
        store.queue_notifications(&[item("a@team")]).expect("again"),
        0
    );
    let now = Utc::now() + Duration::seconds(1);
    let hold = now + Duration::seconds(30);
    let first = store.claim_notifications(now, hold, 1).expect("claim");
    let second = store.claim_notifications(now, hold, 1).expect("claim");
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_ne!(
        first[0].id, second[0].id,
        "a claimed one is not claimed again"
    );
    assert!(store
        .claim_notifications(now, hold, 5)
        .expect("claim")
        .is_empty());
    store
        .notification_delivered(first[0].id, now)
        .expect("delivered");
    let retry = now + Duration::seconds(60);
    store
        .notification_failed(second[0].id, "answered 500", Some(retry), now)
        .expect("failed");
    let again = store.claim_notifications(retry, retry, 5).expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("answered 500"));
    store
        .notification_failed(again[0].id, "timeout", None, retry)
        .expect("given up");
    let later = retry + Duration::days(1);
    assert!(store
        .claim_notifications(later, later, 5)
        .expect("claim")
        .is_empty());
    let all = store.notifications(10).expect("list");
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|n| n.delivered_at.is_some()));
    assert!(all.iter().any(|n| n.gave_up_at.is_some()));
}
