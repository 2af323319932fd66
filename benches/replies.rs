//! Collecting replies from a real Mastodon-API server (mastodon_mock on loopback) and
//! building the discussion, for one announced corpus post with N replies.
//!
//! `cargo bench --bench replies`: `sync/first/N` (every reply new), `sync/unchanged/N`
//! (the steady state: nothing changed since the last sync), and `discussion/json/N`,
//! `discussion/html/N` (what `GET /discussions/<slug>.json|.html` does per request).
//! `PAPERCAST_BENCH_REPLIES` sets N (default 200; 10 when run as a test). The server is a Python program, so
//! the sync numbers are mostly its time; the request counts are printed as well.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use papercast::config::{Config, ConfigSources};
use papercast::platform::ClientSettings;
use papercast::platform::Secret;
use papercast::publish::Target;
use papercast::replies::{self, discussions, SyncMode, SyncSettings};
use papercast::store::SqliteStore;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use support::mastodon::{account_toml, write_config, MastodonMock, ALICE_TOKEN, BOT_TOKEN};
use support::site::{Links, SiteServer};

const SLUG: &str = "2025-10-07-potm";

struct Setup {
    _mock: MastodonMock,
    _site: SiteServer,
    dir: tempfile::TempDir,
    config: Config,
    replies: usize,
}

/// Announces the post and has `alice` write `n` replies: a third to the head, the rest
/// to the papers' posts, every other one of those under the reply before it.
fn setup(n: usize) -> Setup {
    let mock = MastodonMock::start();
    let site = SiteServer::start(Links::Loopback);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(
        dir.path(),
        &account_toml("gc", &mock.base, "PAPERCAST_TEST_TOKEN"),
    );
    let out = support::papercast_env(
        dir.path(),
        &["announce", &site.url(&format!("/{SLUG}/"))],
        &[("PAPERCAST_TEST_TOKEN", BOT_TOKEN)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let thread: Vec<String> = mock
        .statuses(BOT_TOKEN)
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    let mut last: Option<String> = None;
    for i in 0..n {
        let parent = match (i % 3, &last) {
            (0, _) => thread[0].clone(),
            (2, Some(previous)) => previous.clone(),
            _ => thread[1 + i % (thread.len() - 1)].clone(),
        };
        let reply = mock.post_status(
            ALICE_TOKEN,
            &format!("Reply number {i}: how does this compare with the baseline?"),
            Some(&parent),
        );
        last = reply["id"].as_str().map(str::to_owned);
    }
    let config = Config::load(&ConfigSources {
        file: Some(file),
        environment: Some(vec![]),
        ..Default::default()
    })
    .expect("config");
    Setup {
        _mock: mock,
        _site: site,
        dir,
        config,
        replies: n,
    }
}

fn targets(config: &Config) -> Vec<Target> {
    let settings = ClientSettings {
        user_agent: "papercast-bench".into(),
        timeout: Duration::from_secs(30),
        lookup_limit: 40,
    };
    config
        .accounts
        .iter()
        .map(|account| Target {
            account: account.name.clone(),
            kind: account.platform.kind(),
            platform: papercast::platform::connect(
                account,
                Some(Secret::new(BOT_TOKEN.into())),
                &settings,
            ),
        })
        .collect()
}

fn copy_of(state: &Path, into: &Path) -> SqliteStore {
    let path = into.join("state.db");
    std::fs::copy(state, &path).expect("copying the state database");
    SqliteStore::open(&path).expect("state database")
}

fn bench(c: &mut Criterion) {
    // `cargo test --all-targets` runs this once as a test (without `--bench`): a few
    // replies are enough to check that it works.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("PAPERCAST_BENCH_REPLIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 200 } else { 10 });
    let setup = setup(n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let targets = targets(&setup.config);
    let settings = SyncSettings::from_config(&setup.config);
    let pristine = setup.dir.path().join("state.db");
    let sync = |store: &SqliteStore| {
        rt.block_on(replies::sync(
            store,
            &targets,
            &settings,
            SyncMode::All,
            chrono::Utc::now(),
        ))
    };

    let scratch = tempfile::tempdir().expect("temp dir");
    let synced = copy_of(&pristine, scratch.path());
    let first = sync(&synced);
    let again = sync(&synced);
    eprintln!(
        "{} replies: first sync {} request(s), {} new; unchanged sync {} request(s), {} new",
        setup.replies,
        first.accounts[0].requests,
        first.accounts[0].added,
        again.accounts[0].requests,
        again.accounts[0].added
    );
    assert_eq!(first.accounts[0].added, setup.replies);
    assert_eq!(again.accounts[0].added, 0);

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("first/{n}"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = copy_of(&pristine, dir.path());
                (dir, store)
            },
            |(_dir, store)| black_box(sync(&store)),
            BatchSize::PerIteration,
        )
    });
    group.bench_function(format!("unchanged/{n}"), |b| {
        b.iter(|| black_box(sync(&synced)))
    });
    group.finish();

    let mut group = c.benchmark_group("discussion");
    group.bench_function(format!("json/{n}"), |b| {
        b.iter(|| {
            let discussion = discussions::discussion(&synced, SLUG)
                .expect("store")
                .expect("announced");
            black_box(discussions::to_json(&discussion))
        })
    });
    group.bench_function(format!("html/{n}"), |b| {
        b.iter(|| {
            let discussion = discussions::discussion(&synced, SLUG)
                .expect("store")
                .expect("announced");
            black_box(discussions::to_html(&discussion).expect("html"))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
