//! The store's hot operations on both backends, per operation: renewing a claim on a
//! draft, marking a post `sending` and `sent`, and saving a reply (new, and unchanged:
//! the steady state of every reply sync).
//!
//! `cargo bench --bench store`. SQLite is a file in a temp dir (WAL, as papercast runs
//! it); PostgreSQL is the test support's throwaway cluster on loopback, which runs with
//! `fsync=off` and `synchronous_commit=off`: its numbers are the round trips and the
//! server's work, not a disk's flush (SQLite's `sending` mark does flush).

#[path = "../tests/support/mod.rs"]
mod support;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use papercast::model::{Announcement, LengthRules};
use papercast::store::*;
use std::time::Duration;

fn announcement() -> Announcement {
    Announcement {
        url: "https://graphcore-research.github.io/2025-10-07-potm/".into(),
        slug: "2025-10-07-potm".into(),
        title: "September Papers".into(),
        date: "2025-10-07".into(),
        tags: vec![],
        social_image: None,
        intro_theme: None,
        papers: vec![],
    }
}

fn post(text: &str) -> PlannedPost {
    PlannedPost {
        role: "{\"kind\":\"head\"}".into(),
        text: text.into(),
        links: vec![],
        images: vec![],
    }
}

/// A pending post of a thread of its own (a new generation of the announcement).
fn fresh_key(store: &dyn ReplyStore) -> String {
    let record = store
        .record_announcement(&announcement(), true)
        .expect("record");
    let thread = store
        .plan_thread(&record, "gc", "mastodon", &[post("head")], "[]")
        .expect("plan");
    thread.posts[0].key.clone()
}

fn status(id: u64, parent: &str) -> ServerStatus {
    ServerStatus {
        id: id.to_string(),
        in_reply_to: Some(parent.into()),
        author_id: "7".into(),
        author_handle: "@alice@social.example".into(),
        author_name: "Alice".into(),
        author_url: "https://social.example/@alice".into(),
        author_avatar: None,
        author_bot: false,
        url: format!("https://social.example/@alice/{id}"),
        visibility: "public".into(),
        created_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
        edited_at: None,
        content_html: "<p>Which of these papers comes with code?</p>".into(),
        spoiler_text: String::new(),
    }
}

fn bench_backend(c: &mut Criterion, name: &str, store: &dyn ReplyStore) {
    let mut group = c.benchmark_group(name);
    let record = store
        .record_announcement(&announcement(), false)
        .expect("record");
    let (draft, _) = store
        .create_draft(
            &record,
            &NewDraft {
                account: "gc",
                platform: "mastodon",
                posts: &[post("head")],
                plan_json: "[]",
                rules: &LengthRules::mastodon(500, 23),
                review: ReviewState::Approved,
                origin: "announce",
                actor: "bench",
                details: "",
            },
        )
        .expect("draft");
    group.bench_function("claim_draft", |b| {
        b.iter(|| {
            let now = Utc::now();
            let until = now + chrono::Duration::seconds(60);
            store
                .claim_draft(draft.id, "bench/1/0", until, now, None)
                .expect("claim")
        })
    });
    group.bench_function("mark_sending", |b| {
        b.iter_batched(
            || fresh_key(store),
            |key| store.mark_sending(&key).expect("sending"),
            BatchSize::PerIteration,
        )
    });
    let remote = RemotePost {
        id: "109".into(),
        url: Some("https://social.example/@gc/109".into()),
    };
    group.bench_function("mark_sent", |b| {
        b.iter_batched(
            || {
                let key = fresh_key(store);
                store.mark_sending(&key).expect("sending");
                key
            },
            |key| store.mark_sent(&key, &remote).expect("sent"),
            BatchSize::PerIteration,
        )
    });
    let thread = draft.id;
    let mut next = 1_000u64;
    group.bench_function("save_reply/new", |b| {
        b.iter(|| {
            next += 1;
            store
                .save_reply(
                    thread,
                    "gc",
                    &status(next, "100"),
                    ReplySource::Context,
                    None,
                )
                .expect("save")
        })
    });
    let seen = status(1, "100");
    store
        .save_reply(thread, "gc", &seen, ReplySource::Context, None)
        .expect("save");
    group.bench_function("save_reply/unchanged", |b| {
        b.iter(|| {
            store
                .save_reply(thread, "gc", &seen, ReplySource::Context, None)
                .expect("save")
        })
    });
    group.finish();
}

fn store_ops(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteStore::open(&dir.path().join("state.db")).expect("SQLite");
    bench_backend(c, "sqlite", &sqlite);
    let db = support::postgres::database();
    let postgres = PostgresStore::open(&db.url).expect("PostgreSQL");
    bench_backend(c, "postgres", &postgres);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = store_ops
}
criterion_main!(benches);
