//! What the watcher and the review queue keep: each feed's polling state, the entries
//! seen in it, the review state of each thread (its draft) and the audit log.

use super::{AnnouncementRecord, PlannedPost, StoreError, ThreadRecord};
use crate::model::Announcement;
use crate::model::LengthRules;
use crate::model::{FeedEntry, Validators};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What papercast knows about one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub source: String,
    pub feed_url: String,
    /// From the last good answer.
    pub validators: Validators,
    /// When the first successful poll recorded the feed's entries; `None` = the next
    /// successful poll is the first run.
    pub initialized_at: Option<DateTime<Utc>>,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub next_poll_at: Option<DateTime<Utc>>,
}

/// How one poll ended, to record.
#[derive(Debug, Clone, Copy)]
pub enum PollRecord<'a> {
    /// The server answered 304.
    NotModified,
    /// A new version was read and its entries handled; these are its validators.
    Fetched { validators: &'a Validators },
    /// The poll failed: everything but the failure count and error stays as it was.
    Failed { error: &'a str },
}

/// What became of a feed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryOutcome {
    /// Seen, not to be announced (first run, another category, older than a backfill).
    Recorded,
    /// Drafted for the accounts.
    Drafted,
    /// Its page could not be drafted; the next poll tries again.
    Failed,
    /// Tried `watch.max_page_attempts` times; given up.
    GaveUp,
    /// New, but no account was configured to draft it for.
    NoAccounts,
}

impl EntryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryOutcome::Recorded => "recorded",
            EntryOutcome::Drafted => "drafted",
            EntryOutcome::Failed => "failed",
            EntryOutcome::GaveUp => "gave_up",
            EntryOutcome::NoAccounts => "no_accounts",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "recorded" => EntryOutcome::Recorded,
            "drafted" => EntryOutcome::Drafted,
            "failed" => EntryOutcome::Failed,
            "gave_up" => EntryOutcome::GaveUp,
            "no_accounts" => EntryOutcome::NoAccounts,
            other => return Err(StoreError::Corrupt(format!("entry outcome `{other}`"))),
        })
    }
}

/// A feed entry as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEntry {
    pub source: String,
    pub entry_id: String,
    pub url: String,
    pub title: String,
    pub outcome: EntryOutcome,
    /// How many times drafting it was tried.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub announcement_id: Option<i64>,
}

impl SeenEntry {
    /// The entry again, for another try (its categories were checked when first seen).
    pub fn entry(&self) -> FeedEntry {
        FeedEntry {
            id: self.entry_id.clone(),
            url: self.url.clone(),
            title: self.title.clone(),
            categories: Vec::new(),
            published: None,
        }
    }
}

/// Where a draft stands in review. Whether it is posted (or failed) is the thread's
/// state; this is the moderators' decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    /// Waits for a moderator.
    Pending,
    /// To be posted now (or being posted).
    Approved,
    /// To be posted at `scheduled_at`.
    Scheduled,
    /// Not to be posted.
    Rejected,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Scheduled => "scheduled",
            ReviewState::Rejected => "rejected",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => ReviewState::Pending,
            "approved" => ReviewState::Approved,
            "scheduled" => ReviewState::Scheduled,
            "rejected" => ReviewState::Rejected,
            other => return Err(StoreError::Corrupt(format!("review state `{other}`"))),
        })
    }
}

/// A thread with its review state: what the queue shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRecord {
    /// The draft's id (the thread's id).
    pub id: i64,
    pub thread: ThreadRecord,
    /// The blog post's URL and title.
    pub post_url: String,
    pub post_title: String,
    pub review: ReviewState,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// `watch:<source>`, `announce` or `migrated`.
    pub origin: String,
    /// The rules the thread was composed for (`None` = the platform's defaults).
    pub rules: Option<LengthRules>,
    pub edits: u32,
    pub post_attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Changes with every write; writes name the version they started from.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which drafts to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftFilter {
    All,
    /// Those that may still be posted: neither posted nor rejected.
    Open,
}

/// The answer to a claim of the right to post a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It is ours until the time asked for.
    Claimed,
    /// Another process holds it.
    HeldBy(String),
}

/// A thread to record as a draft.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    pub account: &'a str,
    pub platform: &'a str,
    pub posts: &'a [PlannedPost],
    pub plan_json: &'a str,
    pub rules: &'a LengthRules,
    /// `Pending` (review required) or `Approved` (posted at once).
    pub review: ReviewState,
    pub origin: &'a str,
    /// Who made it (audited), e.g. `papercast watch` or a user.
    pub actor: &'a str,
    /// What the audit log says about it.
    pub details: &'a str,
}

/// A change of a draft's review state.
#[derive(Debug, Clone)]
pub struct ReviewChange<'a> {
    pub review: ReviewState,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub reason: Option<&'a str>,
    pub decided_by: &'a str,
    /// Also set a failed thread back to where its posts stand (planned or posting) and
    /// start the daemon's tries afresh: an approval of a failed draft is a retry.
    pub retry: bool,
}

/// One line of the audit log to add.
#[derive(Debug, Clone)]
pub struct AuditNote<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub thread_id: Option<i64>,
    pub details: &'a str,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    /// The draft it concerns, if any.
    pub draft: Option<i64>,
    pub details: String,
}

/// The watcher's and the review queue's part of the store. Every method is one
/// transaction; every change to a draft adds its audit line in the same transaction.
pub trait ReviewStore {
    /// A source's state, once it was polled.
    fn feed_state(&self, source: &str) -> Result<Option<FeedState>, StoreError>;

    /// Records a poll's outcome and when the next poll is due.
    fn record_poll(
        &self,
        source: &str,
        feed_url: &str,
        result: PollRecord<'_>,
        next_poll_at: DateTime<Utc>,
    ) -> Result<FeedState, StoreError>;

    /// Every entry seen in a source.
    fn seen_entries(&self, source: &str) -> Result<Vec<SeenEntry>, StoreError>;

    /// Records entries as seen, not to be announced (`Recorded`), in one transaction:
    /// a first poll records a whole feed at once.
    fn record_entries(&self, source: &str, entries: &[FeedEntry]) -> Result<(), StoreError>;

    /// Records (or updates) what became of an entry. A `Failed` or `GaveUp` outcome
    /// counts one more attempt.
    fn record_entry(
        &self,
        source: &str,
        entry: &FeedEntry,
        outcome: EntryOutcome,
        error: Option<&str>,
        announcement_id: Option<i64>,
    ) -> Result<SeenEntry, StoreError>;

    /// Records a thread and its draft, unless a thread is recorded for the account
    /// already: then that one's draft is returned with `false`.
    fn create_draft(
        &self,
        announcement: &AnnouncementRecord,
        draft: &NewDraft<'_>,
    ) -> Result<(DraftRecord, bool), StoreError>;

    /// One draft by id.
    fn draft(&self, id: i64) -> Result<Option<DraftRecord>, StoreError>;

    /// The drafts that `filter` selects, newest first.
    fn drafts(&self, filter: DraftFilter) -> Result<Vec<DraftRecord>, StoreError>;

    /// One announcement by id (any generation).
    fn announcement_by_id(&self, id: i64) -> Result<Option<AnnouncementRecord>, StoreError>;

    /// Changes a draft's review state, if it is still at `version`.
    fn update_review(
        &self,
        id: i64,
        version: i64,
        change: &ReviewChange<'_>,
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError>;

    /// Replaces the text of some posts (`(index, text)`), if the draft is still at
    /// `version` and none of its posts was sent or is being sent.
    fn edit_texts(
        &self,
        id: i64,
        version: i64,
        texts: &[(usize, String)],
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError>;

    /// Replaces every post of a draft (a fresh composition), on the same conditions as
    /// [`ReviewStore::edit_texts`].
    fn replace_posts(
        &self,
        id: i64,
        version: i64,
        posts: &[PlannedPost],
        plan_json: &str,
        rules: &LengthRules,
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError>;

    /// Replaces the extracted facts of an announcement (after re-extraction).
    fn update_announcement(
        &self,
        announcement_id: i64,
        announcement: &Announcement,
    ) -> Result<(), StoreError>;

    /// Takes (or renews) the right to post a draft until `until`, unless another
    /// owner holds it past `now` — or that owner is `take_over` (known to be gone).
    fn claim_draft(
        &self,
        id: i64,
        owner: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        take_over: Option<&str>,
    ) -> Result<Claim, StoreError>;

    /// Gives up the right to post a draft, if `owner` holds it.
    fn release_draft(&self, id: i64, owner: &str) -> Result<(), StoreError>;

    /// Gives up every right `owner` holds (at shutdown); returns how many.
    fn release_leases(&self, owner: &str) -> Result<usize, StoreError>;

    /// Counts one more try of the daemon's publisher and when the next may start
    /// (`None` = none: it waits for a moderator).
    fn record_post_attempt(
        &self,
        id: i64,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Adds a line to the audit log.
    fn audit(&self, note: &AuditNote<'_>) -> Result<(), StoreError>;

    /// The audit log of one draft (or, with `None`, all of it), oldest first.
    fn audit_log(&self, draft: Option<i64>) -> Result<Vec<AuditEntry>, StoreError>;

    /// When `actor` last did `action` (e.g. a moderator's last `logout`), if ever.
    fn last_action_at(
        &self,
        actor: &str,
        action: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}
