//! The queue's operations on an in-memory store.

use super::*;
use crate::model::Paper;
use crate::store::{NewDraft, RemotePost, ReviewStore, SqliteStore};
use chrono::Duration;

fn announcement() -> Announcement {
    Announcement {
        url: "https://graphcore-research.github.io/2025-10-07-potm/".into(),
        slug: "2025-10-07-potm".into(),
        title: "September Papers".into(),
        date: "2025-10-07".into(),
        tags: vec!["LLMs".into()],
        social_image: None,
        intro_theme: None,
        papers: vec![Paper {
            position: 0,
            title: "FlowRL".into(),
            authors: "Xuekai Zhu, et al.".into(),
            orgs: "Shanghai AI Laboratory".into(),
            link: "https://arxiv.org/abs/2509.15207".into(),
            anchor: "flowrl".into(),
            url: "https://graphcore-research.github.io/2025-10-07-potm/#flowrl".into(),
            intro_summary: Some("FlowRL matches reward distributions.".into()),
            intro_sentence: None,
            key_idea: "Match distributions.".into(),
            figure: None,
        }],
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A store with one draft for `gc`, composed with the real templates.
fn store_with_draft(review: ReviewState) -> (SqliteStore, i64) {
    let store = SqliteStore::in_memory().expect("store");
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let rules = LengthRules::mastodon(500, 23);
    let thread = compose::compose(
        &record.announcement,
        &Templates::bundled(),
        &rules,
        &ComposeOptions::default(),
    )
    .expect("compose");
    let posts = planned_posts(&thread);
    let (draft, created) = store
        .create_draft(
            &record,
            &NewDraft {
                account: "gc",
                platform: "mastodon",
                posts: &posts,
                plan_json: "[]",
                rules: &rules,
                review,
                origin: "watch:blog",
                actor: "papercast watch",
                details: "test",
            },
        )
        .expect("draft");
    assert!(created);
    (store, draft.id)
}

#[test]
fn a_new_draft_is_listed_and_shown_with_counted_posts() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let list = list(&store).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].state, DraftState::Pending);
    assert_eq!(list[0].account, "gc");
    assert_eq!(list[0].post_url, announcement().url);
    let detail = show(&store, id).expect("show");
    assert_eq!(detail.posts.len(), 3, "head, one paper, closing");
    assert!(detail.posts.iter().all(|p| p.fits && p.limit == 500));
    assert_eq!(detail.posts[0].role["kind"], "head");
    assert_eq!(detail.audit.len(), 1);
    assert_eq!(detail.audit[0].action, "drafted");
    assert_eq!(detail.allowed.len(), 5);
    let json = serde_json::to_value(&detail).expect("json");
    assert_eq!(json["state"], "pending");
    assert!(json["scheduled_at"].is_null());
    assert!(matches!(show(&store, 99), Err(QueueError::NotFound(99))));
}

#[test]
fn approve_schedule_and_reject_are_audited_with_the_actor() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let at = now() + Duration::hours(2);
    let scheduled = approve(&store, &Request::new(id, "ann"), Some(at)).expect("schedule");
    assert_eq!(scheduled.state, DraftState::Scheduled);
    assert_eq!(
        scheduled.scheduled_at.map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    let past = approve(
        &store,
        &Request::new(id, "ann"),
        Some(now() - Duration::minutes(1)),
    );
    assert!(matches!(past, Err(QueueError::BadTime(_))), "{past:?}");

    let rejected = reject(&store, &Request::new(id, "bob"), Some("  duplicate  ")).expect("reject");
    assert_eq!(rejected.state, DraftState::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("duplicate"));
    assert_eq!(rejected.scheduled_at, None);
    let again = reject(&store, &Request::new(id, "bob"), None);
    assert!(
        matches!(again, Err(QueueError::NotAllowed { .. })),
        "{again:?}"
    );

    let approved = approve(&store, &Request::new(id, "ann"), None).expect("approve");
    assert_eq!(approved.state, DraftState::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("ann"));
    let log: Vec<(String, String)> = store
        .audit_log(Some(id))
        .expect("log")
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    assert_eq!(
        log,
        [
            ("papercast watch".into(), "drafted".into()),
            ("ann".into(), "scheduled".into()),
            ("bob".into(), "rejected".into()),
            ("ann".into(), "approved".into()),
        ]
    );
}

#[test]
fn an_edit_over_the_limit_is_refused_with_its_count_and_changes_nothing() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let before = show(&store, id).expect("show");
    let long = format!("{} {}", before.posts[1].text, "word ".repeat(100));
    let error = edit(&store, &Request::new(id, "ann"), &[(1, long.clone())]).expect_err("too long");
    let QueueError::TooLong {
        post,
        length,
        limit,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!((*post, *limit), (2, 500));
    assert_eq!(
        *length,
        LengthRules::mastodon(500, 23).count(long.trim_end())
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("post 2 is {length} characters")) && message.contains("/500"),
        "{message}"
    );
    assert_eq!(show(&store, id).expect("show").posts, before.posts);

    let edited = edit(
        &store,
        &Request::new(id, "ann"),
        &[(1, "A shorter post.".into())],
    )
    .expect("edit");
    let Edited::Changed { posts, detail } = edited else {
        panic!("not changed");
    };
    assert_eq!(posts, [1]);
    assert_eq!(detail.posts[1].text, "A shorter post.");
    assert_eq!(detail.summary.edits, 1);
    assert_eq!(
        detail.audit.last().map(|e| e.action.as_str()),
        Some("edited")
    );
    let same = edit(
        &store,
        &Request::new(id, "ann"),
        &[(1, "A shorter post.\n".into())],
    )
    .expect("same");
    assert_eq!(same, Edited::Unchanged);
}

#[test]
fn an_edited_document_round_trips() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let detail = show(&store, id).expect("show");
    let document = edit_document(&detail);
    assert_eq!(
        edit_from_document(&store, &Request::new(id, "ann"), &document).expect("unchanged"),
        Edited::Unchanged
    );
    let changed = document.replace(&detail.posts[2].text, "Replies welcome.");
    let Edited::Changed { posts, .. } =
        edit_from_document(&store, &Request::new(id, "ann"), &changed).expect("changed")
    else {
        panic!("not changed");
    };
    assert_eq!(posts, [2]);
}

#[test]
fn once_a_post_is_sent_the_draft_can_only_be_finished() {
    let (store, id) = store_with_draft(ReviewState::Approved);
    let detail = show(&store, id).expect("show");
    let key = &store.draft(id).expect("load").expect("draft").thread.posts[0].key;
    store.mark_sending(key).expect("sending");
    store
        .mark_sent(
            key,
            &RemotePost {
                id: "1".into(),
                url: Some("https://example.social/@bot/1".into()),
            },
        )
        .expect("sent");
    let error = edit(&store, &Request::new(id, "ann"), &[(1, "new".into())]).expect_err("edit");
    assert!(error.to_string().contains("posting has started"), "{error}");
    let error = reject(&store, &Request::new(id, "ann"), None).expect_err("reject");
    assert!(error.to_string().contains("1 of 3 posts"), "{error}");
    // The store refuses it too, should a caller skip the check.
    let version = store.draft(id).expect("load").expect("draft").version;
    let refused = store.edit_texts(
        id,
        version,
        &[(1, "new".into())],
        &AuditNote {
            actor: "x",
            action: "edited",
            thread_id: Some(id),
            details: "",
        },
    );
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );

    store
        .set_thread_state(id, ThreadState::Failed, Some("server down"))
        .expect("failed");
    assert_eq!(list(&store).expect("list")[0].state, DraftState::Failed);
    let retried = approve(&store, &Request::new(id, "ann"), None).expect("retry");
    assert_eq!(
        retried.state,
        DraftState::Approved,
        "a retry of a failed draft"
    );
    assert_eq!(
        store.draft(id).expect("load").expect("draft").thread.state,
        ThreadState::Posting,
        "half-posted, so posting"
    );
    assert_eq!(detail.summary.sent, 0);
}

#[test]
fn a_stale_version_is_a_conflict() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let stale = store.draft(id).expect("load").expect("draft").version;
    approve(&store, &Request::new(id, "ann"), None).expect("approve");
    let result = store.update_review(
        id,
        stale,
        &ReviewChange {
            review: ReviewState::Rejected,
            scheduled_at: None,
            reason: None,
            decided_by: "bob",
            retry: false,
        },
        &AuditNote {
            actor: "bob",
            action: "rejected",
            thread_id: Some(id),
            details: "",
        },
    );
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(list(&store).expect("list")[0].state, DraftState::Approved);

    // A moderator acting on what they saw before the approval is refused too.
    let refused = reject(&store, &Request::new(id, "bob").seen(stale), None);
    assert!(
        matches!(refused, Err(QueueError::Stale { seen, .. }) if seen == stale),
        "{refused:?}"
    );
    let current = show(&store, id).expect("show").summary.version;
    reject(&store, &Request::new(id, "bob").seen(current), None).expect("up to date");
}

#[test]
fn due_drafts_are_approved_ones_and_scheduled_ones_whose_time_came() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    assert!(due(&store, now()).expect("due").is_empty(), "pending");
    let at = now() + Duration::minutes(10);
    approve(&store, &Request::new(id, "ann"), Some(at)).expect("schedule");
    assert!(due(&store, now()).expect("due").is_empty(), "not before");
    let drafts = store.drafts(DraftFilter::Open).expect("drafts");
    assert_eq!(
        next_due(&drafts, now()).map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    let ids: Vec<i64> = due(&store, at).expect("due").iter().map(|d| d.id).collect();
    assert_eq!(ids, [id], "at the time");

    store
        .set_thread_state(id, ThreadState::Failed, Some("down"))
        .expect("failed");
    assert!(due(&store, at).expect("due").is_empty(), "no retry planned");
    store
        .record_post_attempt(id, Some(at + Duration::minutes(5)))
        .expect("attempt");
    assert!(
        due(&store, at).expect("due").is_empty(),
        "retry not yet due"
    );
    assert_eq!(
        due(&store, at + Duration::minutes(5)).expect("due").len(),
        1
    );
    store
        .set_thread_state(id, ThreadState::Posted, None)
        .expect("posted");
    assert!(due(&store, at + Duration::days(1)).expect("due").is_empty());
}

#[test]
fn reextraction_recomposes_only_a_changed_post() {
    let (store, id) = store_with_draft(ReviewState::Pending);
    let options = ComposeOptions::default();
    let templates = Templates::bundled();
    edit(
        &store,
        &Request::new(id, "ann"),
        &[(2, "Edited closing.".into())],
    )
    .expect("edit");
    let same = reextract(
        &store,
        &Request::new(id, "ann"),
        &announcement(),
        &templates,
        &options,
    )
    .expect("same");
    assert_eq!(same, Reextracted::Unchanged);
    assert_eq!(
        show(&store, id).expect("show").posts[2].text,
        "Edited closing."
    );

    let mut changed = announcement();
    changed.papers.push(Paper {
        position: 1,
        title: "A second paper".into(),
        anchor: "second".into(),
        url: format!("{}#second", changed.url),
        ..changed.papers[0].clone()
    });
    let Reextracted::Changed(detail) = reextract(
        &store,
        &Request::new(id, "ann"),
        &changed,
        &templates,
        &options,
    )
    .expect("changed") else {
        panic!("not recomposed");
    };
    assert_eq!(detail.posts.len(), 4, "head, two papers, closing");
    assert_ne!(detail.posts[3].text, "Edited closing.");
    assert_eq!(detail.summary.edits, 0);
    assert_eq!(
        store
            .announcement_by_id(
                store
                    .draft(id)
                    .expect("load")
                    .expect("d")
                    .thread
                    .announcement_id
            )
            .expect("load")
            .expect("record")
            .announcement,
        changed
    );
    let keys: Vec<String> = store
        .draft(id)
        .expect("load")
        .expect("draft")
        .thread
        .posts
        .iter()
        .map(|p| p.key.clone())
        .collect();
    assert_eq!(keys[3], "2025-10-07-potm-12d9476e6f97.0/gc/3");
}
