//! The feed watcher: polls each source with a conditional GET, records what it saw,
//! and drafts each new post for every account. A failing feed keeps its last good
//! state and is polled again later, less often per failure.

use super::{App, Drafting};
use crate::config::{AccountConfig, SourceConfig};
use crate::queue::DraftState;
use crate::source::feed::{FeedEntry, FeedPoll};
use crate::source::watch::{self, WatchRules};
use crate::store::{EntryOutcome, PollRecord, StoreError};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream, StreamExt};
use std::time::Duration;

/// The actor the watcher's drafts are audited as.
pub const ACTOR: &str = "papercast watch";

/// How many sources are polled side by side. Requests to one host still go one at a
/// time (the fetcher sees to that); the rest — waiting on other hosts, parsing,
/// recording — overlaps.
pub const POLL_CONCURRENCY: usize = 8;

/// What one poll of a source did.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReport {
    pub source: String,
    pub poll: PollOutcome,
    /// The new entries handled in this poll (and earlier failures tried again).
    pub entries: Vec<EntryReport>,
    pub next_poll_at: DateTime<Utc>,
}

/// How the poll itself went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// The server answered 304: nothing was downloaded or parsed.
    NotModified,
    /// A new version of the feed.
    Fetched {
        entries: usize,
        /// This was the source's first successful poll: its entries were recorded,
        /// not announced (but for a backfill).
        first_run: bool,
        /// Entries recorded as seen without announcing them.
        recorded: usize,
    },
    /// The poll failed; the source's state is as it was, and the next poll waits
    /// longer.
    Failed { error: String, failures: u32 },
}

/// What became of one new entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryReport {
    pub url: String,
    pub title: String,
    pub outcome: EntryOutcome,
    /// `(account, draft id, state)` of each draft made or found.
    pub drafts: Vec<(String, i64, DraftState)>,
    pub error: Option<String>,
}

/// The wait before the next poll: the interval after a good poll or a first failure,
/// doubled for each further failure in a row (at most `max_backoff`, never less than
/// the interval), give or take `jitter_percent` — `random` in `[0, 1)` picks where in
/// that range.
pub fn next_wait(
    interval: Duration,
    failures: u32,
    max_backoff: Duration,
    jitter_percent: u8,
    random: f64,
) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let base = interval
        .saturating_mul(1u32 << doublings)
        .min(max_backoff.max(interval));
    let spread = base.as_secs_f64() * f64::from(jitter_percent) / 100.0;
    let offset = (random.clamp(0.0, 1.0) * 2.0 - 1.0) * spread;
    Duration::from_secs_f64((base.as_secs_f64() + offset).max(0.0))
}

/// A number in `[0, 1)` from the operating system (jitter needs no more than that).
fn random_unit() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

impl App {
    fn wait_after(&self, source: &SourceConfig, failures: u32) -> Duration {
        next_wait(
            source.poll_every(),
            failures,
            self.config.watch.max_backoff(),
            self.config.watch.jitter_percent,
            random_unit(),
        )
    }

    /// Polls each of `sources` once, side by side (at most [`POLL_CONCURRENCY`] at a
    /// time), yielding each source's index in `sources` with its report, in that order.
    pub fn poll_sources<'a>(
        &'a self,
        sources: &'a [SourceConfig],
        which: Vec<usize>,
        backfill: usize,
    ) -> impl Stream<Item = (usize, Result<SourceReport, StoreError>)> + 'a {
        stream::iter(which)
            .map(move |index| async move {
                (index, self.poll_source(&sources[index], backfill).await)
            })
            .buffered(POLL_CONCURRENCY)
    }

    /// Polls one source once and drafts what is new. `backfill` applies to the
    /// source's first successful poll only.
    pub async fn poll_source(
        &self,
        source: &SourceConfig,
        backfill: usize,
    ) -> Result<SourceReport, StoreError> {
        let store = self.store.as_ref();
        let state = store.feed_state(&source.name)?;
        // A feed moved to another URL starts without validators but keeps what it saw.
        let validators = state
            .as_ref()
            .filter(|s| s.feed_url == source.feed)
            .map(|s| s.validators.clone())
            .unwrap_or_default();
        let first_run = state.as_ref().is_none_or(|s| s.initialized_at.is_none());
        let failures = state.as_ref().map_or(0, |s| s.consecutive_failures);
        let name = &source.name;
        let poll = match self.fetcher.poll_feed(&source.feed, &validators).await {
            Err(error) => {
                let error = error.to_string();
                let wait = self.wait_after(source, failures + 1);
                let next = Utc::now() + to_chrono(wait);
                store.record_poll(
                    name,
                    &source.feed,
                    PollRecord::Failed { error: &error },
                    next,
                )?;
                tracing::warn!(
                    "source `{name}`: {error}; its last good state is kept, next try in {}",
                    human(wait)
                );
                return Ok(SourceReport {
                    source: name.clone(),
                    poll: PollOutcome::Failed {
                        error,
                        failures: failures + 1,
                    },
                    entries: Vec::new(),
                    next_poll_at: next,
                });
            }
            Ok(poll) => poll,
        };
        let mut entries = Vec::new();
        let (outcome, fresh) = match poll {
            FeedPoll::NotModified => {
                tracing::debug!("source `{name}`: unchanged (304 Not Modified)");
                (PollOutcome::NotModified, None)
            }
            FeedPoll::Fetched {
                entries: feed,
                validators,
            } => {
                let (recorded, reports) = self
                    .handle_entries(source, &feed, first_run, backfill)
                    .await?;
                entries = reports;
                if self.is_stopping() {
                    // Not recorded as polled: the entries left are new at the next poll.
                    return Ok(SourceReport {
                        source: name.clone(),
                        poll: PollOutcome::Fetched {
                            entries: feed.len(),
                            first_run,
                            recorded,
                        },
                        entries,
                        next_poll_at: Utc::now(),
                    });
                }
                if first_run {
                    tracing::info!(
                        "source `{name}`: first poll: {recorded} entries recorded as seen, \
                         {} announced (`papercast watch --once --backfill N` on a new \
                         database announces the newest N)",
                        entries.len()
                    );
                }
                (
                    PollOutcome::Fetched {
                        entries: feed.len(),
                        first_run,
                        recorded,
                    },
                    Some(validators),
                )
            }
        };
        entries.extend(self.retry_failed(source, &entries).await?);
        let next = Utc::now() + to_chrono(self.wait_after(source, 0));
        let record = match &fresh {
            Some(validators) => PollRecord::Fetched { validators },
            None => PollRecord::NotModified,
        };
        // Recorded last: a crash before this polls the whole feed again, and what was
        // drafted already is found, not drafted twice.
        store.record_poll(name, &source.feed, record, next)?;
        Ok(SourceReport {
            source: name.clone(),
            poll: outcome,
            entries,
            next_poll_at: next,
        })
    }

    /// Records the entries not to announce and drafts the new ones; returns how many
    /// were only recorded, and a report per drafted entry.
    async fn handle_entries(
        &self,
        source: &SourceConfig,
        feed: &[FeedEntry],
        first_run: bool,
        backfill: usize,
    ) -> Result<(usize, Vec<EntryReport>), StoreError> {
        let store = self.store.as_ref();
        let seen = store.seen_entries(&source.name)?;
        let known = |entry: &FeedEntry| {
            seen.iter()
                .any(|s| s.entry_id == entry.id || s.url == entry.url)
        };
        let plan = watch::plan(
            feed,
            known,
            &WatchRules {
                categories: source.categories.clone(),
                first_run,
                backfill,
            },
        );
        store.record_entries(&source.name, &plan.record_only)?;
        let total = plan.announce.len();
        let mut reports = Vec::with_capacity(total);
        for (n, entry) in plan.announce.iter().enumerate() {
            if self.is_stopping() {
                break;
            }
            tracing::info!(
                "source `{}`: [{}/{total}] new post: {} <{}>",
                source.name,
                n + 1,
                entry.title,
                entry.url
            );
            reports.push(self.draft_entry(source, entry, 0).await?);
        }
        Ok((plan.record_only.len(), reports))
    }

    /// Tries again the entries whose drafting failed at an earlier poll.
    async fn retry_failed(
        &self,
        source: &SourceConfig,
        done: &[EntryReport],
    ) -> Result<Vec<EntryReport>, StoreError> {
        let failed: Vec<_> = self
            .store
            .seen_entries(&source.name)?
            .into_iter()
            .filter(|e| e.outcome == EntryOutcome::Failed)
            .filter(|e| done.iter().all(|d| d.url != e.url))
            .collect();
        let mut reports = Vec::new();
        for seen in failed {
            if self.is_stopping() {
                break;
            }
            tracing::info!(
                "source `{}`: trying {} again (try {})",
                source.name,
                seen.url,
                seen.attempts + 1
            );
            reports.push(
                self.draft_entry(source, &seen.entry(), seen.attempts)
                    .await?,
            );
        }
        Ok(reports)
    }

    /// Drafts one new entry for every account, and records what became of it.
    async fn draft_entry(
        &self,
        source: &SourceConfig,
        entry: &FeedEntry,
        attempts: u32,
    ) -> Result<EntryReport, StoreError> {
        let store = self.store.as_ref();
        let mut report = EntryReport {
            url: entry.url.clone(),
            title: entry.title.clone(),
            outcome: EntryOutcome::Drafted,
            drafts: Vec::new(),
            error: None,
        };
        if self.config.accounts.is_empty() {
            tracing::warn!(
                "new post {}: no accounts are configured, so no draft was made; add an \
                 [[accounts]] table to the config and run `papercast announce {}`",
                entry.url,
                entry.url
            );
            store.record_entry(&source.name, entry, EntryOutcome::NoAccounts, None, None)?;
            report.outcome = EntryOutcome::NoAccounts;
            return Ok(report);
        }
        let origin = format!("watch:{}", source.name);
        let mut permanent = false;
        let (announcement_id, error) = match self.read_post(&entry.url).await {
            Err(error) => {
                permanent = error.is_permanent();
                (None, Some(error.to_string()))
            }
            Ok(announcement) => {
                let record = store.record_announcement(&announcement, false)?;
                let accounts: Vec<&AccountConfig> = self.config.accounts.iter().collect();
                let drafted = self
                    .draft(
                        &record,
                        &accounts,
                        Drafting {
                            origin: &origin,
                            actor: ACTOR,
                            approve: false,
                        },
                    )
                    .await;
                let mut errors = Vec::new();
                for drafted in drafted {
                    match drafted.result {
                        Ok((draft, _)) => {
                            report.drafts.push((drafted.account, draft.id, draft.state))
                        }
                        Err(error) => errors.push(error.to_string()),
                    }
                }
                (
                    Some(record.id),
                    (!errors.is_empty()).then(|| errors.join("; ")),
                )
            }
        };
        let outcome = match &error {
            None => EntryOutcome::Drafted,
            Some(_) if permanent || attempts + 1 >= self.config.watch.max_page_attempts => {
                EntryOutcome::GaveUp
            }
            Some(_) => EntryOutcome::Failed,
        };
        if let Some(error) = &error {
            if permanent {
                tracing::error!(
                    "new post {}: {error}; not tried again, nothing was posted",
                    entry.url
                );
            } else if outcome == EntryOutcome::GaveUp {
                tracing::error!(
                    "new post {}: {error}; given up after {} tries (watch.max_page_attempts); \
                     `papercast announce {}` drafts it by hand",
                    entry.url,
                    attempts + 1,
                    entry.url
                );
            } else {
                tracing::error!(
                    "new post {}: {error}; nothing was posted, and the next poll tries again",
                    entry.url
                );
            }
        }
        store.record_entry(
            &source.name,
            entry,
            outcome,
            error.as_deref(),
            announcement_id,
        )?;
        report.outcome = outcome;
        report.error = error;
        Ok(report)
    }
}

fn to_chrono(wait: Duration) -> chrono::Duration {
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

/// A wait as a person reads it: `9m 41s`, `2.5 s`.
pub fn human(wait: Duration) -> String {
    let secs = wait.as_secs();
    if secs >= 3600 {
        format!("{}h {}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {}s", secs / 60, secs % 60)
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn the_wait_is_the_interval_give_or_take_the_jitter() {
        let wait = |random| next_wait(10 * MINUTE, 0, 6 * 60 * MINUTE, 10, random);
        assert_eq!(wait(0.5), 10 * MINUTE);
        assert_eq!(wait(0.0), 9 * MINUTE);
        assert!(wait(0.999_999) > 10 * MINUTE && wait(0.999_999) <= 11 * MINUTE);
        assert_eq!(next_wait(10 * MINUTE, 0, MINUTE, 0, 0.0), 10 * MINUTE);
    }

    #[test]
    fn failures_double_the_wait_up_to_the_maximum() {
        let wait = |failures| next_wait(10 * MINUTE, failures, 60 * MINUTE, 0, 0.5);
        assert_eq!(wait(1), 10 * MINUTE, "a single failure may be a blip");
        assert_eq!(wait(2), 20 * MINUTE);
        assert_eq!(wait(3), 40 * MINUTE);
        assert_eq!(wait(4), 60 * MINUTE);
        assert_eq!(wait(30), 60 * MINUTE, "no overflow");
        // A maximum below the interval never makes a failing feed polled more often.
        assert_eq!(next_wait(10 * MINUTE, 3, MINUTE, 0, 0.5), 10 * MINUTE);
    }

    #[test]
    fn waits_read_like_a_person_writes_them() {
        assert_eq!(human(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(human(9 * MINUTE + Duration::from_secs(41)), "9m 41s");
        assert_eq!(human(90 * MINUTE), "1h 30m");
    }
}
