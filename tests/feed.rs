//! Polling the real corpus feed over loopback HTTP: conditional GET and failures.

mod support;

use papercast::config::FetchConfig;
use papercast::source::feed::{FeedPoll, Validators};
use papercast::source::{Fetcher, PollError, SourceError};
use std::time::Duration;
use support::site::{Fault, Links, SiteServer};

const FEED: &str = "/feed_rss_created.xml";
const HIDDEN_POST: &str = "/2026-03-03-potm/";

fn fetcher(timeout_secs: u64) -> Fetcher {
    Fetcher::new(&FetchConfig {
        user_agent: "papercast-tests".into(),
        timeout_secs,
        max_page_bytes: 5_000_000,
    })
    .expect("a fetcher")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn an_unchanged_feed_is_answered_304_and_a_new_entry_changes_it() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url(FEED);
    let fetcher = fetcher(5);
    site.control().hidden.insert(HIDDEN_POST.into());
    runtime().block_on(async {
        let FeedPoll::Fetched {
            entries,
            validators,
        } = fetcher
            .poll_feed(&url, &Validators::default())
            .await
            .expect("first poll")
        else {
            panic!("the first poll must fetch the feed");
        };
        assert_eq!(entries.len(), 19, "one of the 20 entries is hidden");
        assert!(entries.iter().all(|e| !e.url.ends_with(HIDDEN_POST)));
        assert!(validators.etag.is_some(), "the server sent an ETag");

        let again = fetcher
            .poll_feed(&url, &validators)
            .await
            .expect("second poll");
        assert_eq!(again, FeedPoll::NotModified);
        assert_eq!(site.control().not_modified.get(FEED), Some(&1));

        site.control().hidden.clear();
        let FeedPoll::Fetched {
            entries: after,
            validators: newer,
        } = fetcher
            .poll_feed(&url, &validators)
            .await
            .expect("third poll")
        else {
            panic!("a changed feed must be fetched again");
        };
        assert_ne!(newer, validators);
        assert_eq!(after.len(), 20);
        assert!(after.iter().any(|e| e.url.ends_with(HIDDEN_POST)));
    });
}

#[test]
fn feed_failures_are_errors_that_name_the_feed() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url(FEED);
    let fetcher = fetcher(1);
    runtime().block_on(async {
        site.control()
            .faults
            .insert(FEED.into(), Fault::Status(500));
        let error = fetcher
            .poll_feed(&url, &Validators::default())
            .await
            .expect_err("500");
        assert!(
            matches!(error, PollError::Source(SourceError::Status { .. })),
            "{error}"
        );
        assert!(error.to_string().contains(&url), "{error}");

        site.control().faults.insert(FEED.into(), Fault::Truncate);
        let error = fetcher
            .poll_feed(&url, &Validators::default())
            .await
            .expect_err("truncated");
        assert!(matches!(error, PollError::Feed(_)), "{error}");
        assert!(error.to_string().contains(&url), "{error}");

        site.control()
            .faults
            .insert(FEED.into(), Fault::Delay(Duration::from_millis(2500)));
        let error = fetcher
            .poll_feed(&url, &Validators::default())
            .await
            .expect_err("timeout");
        assert!(
            matches!(error, PollError::Source(SourceError::Timeout { .. })),
            "{error}"
        );

        site.control().faults.clear();
        let poll = fetcher
            .poll_feed(&url, &Validators::default())
            .await
            .expect("recovered");
        assert!(matches!(poll, FeedPoll::Fetched { .. }));
    });
}
