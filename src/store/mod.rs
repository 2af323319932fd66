//! The state store: what was announced, the thread planned for each account, and every
//! post of it with its fate on the server — recorded before and after each send, so that
//! a rerun after a crash never posts twice.
//!
//! [`Store`] is the interface, [`ReplyStore`] and [`ReviewStore`] its other sides;
//! [`SqliteStore`] the default (embedded) implementation, [`PostgresStore`] the one
//! several instances share. What both backends decide alike outside SQL is in
//! [`decide`].

pub mod decide;
pub mod notify;
mod postgres;
mod replies;
pub mod review;
mod sqlite;

pub use notify::{NewNotification, NotificationRecord, NotifyStore};
pub use postgres::{CopiedTable, CopyValue, PostgresStore};
pub use replies::{
    canonical_handle, AnswerLink, EngagementRecord, HiddenAuthor, Hiding, ReplyRecord, ReplySource,
    ReplyStore, Saved, WatchedThread,
};
pub use review::{
    AuditEntry, AuditNote, Claim, DraftFilter, DraftRecord, EntryOutcome, FeedState, NewDraft,
    PollRecord, ReviewChange, ReviewState, ReviewStore, SeenEntry,
};
pub use sqlite::SqliteStore;

use crate::model::{Announcement, Figure, Link};
pub use crate::model::{RemotePost, ServerStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Opens the configured store: PostgreSQL at `store.url`, or SQLite at `store.path`.
pub fn open(
    config: &crate::config::StoreConfig,
) -> Result<std::sync::Arc<dyn ReplyStore>, StoreError> {
    Ok(match &config.url {
        Some(url) => std::sync::Arc::new(PostgresStore::open(url)?),
        None => std::sync::Arc::new(SqliteStore::open(&config.path)?),
    })
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("state database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("state database: {0}")]
    Sql(String),
    #[error(
        "state database {path}: migration {version} was changed after it was applied; \
         restore the original file (migrations are never edited, only added)"
    )]
    MigrationChanged { path: String, version: usize },
    #[error(
        "state database {path} was written by a newer papercast (schema {found}, this one \
         knows {known}); upgrade papercast"
    )]
    TooNew {
        path: String,
        found: usize,
        known: usize,
    },
    #[error("state database: {0} is not recorded")]
    Missing(String),
    #[error("state database: corrupt record ({0})")]
    Corrupt(String),
    /// A write found the record changed since it was read (another moderator or
    /// process got there first).
    #[error("{0}")]
    Conflict(String),
}

/// Now, as the store writes times: RFC 3339 in UTC with milliseconds, text that sorts
/// as the times do (both backends keep times as this text).
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A time as the store writes it.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time `{text}`: {e}")))
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sql(error.to_string())
    }
}

/// One announcement of a blog post (a new one per `announce --again`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnnouncementRecord {
    pub id: i64,
    pub url: String,
    pub slug: String,
    pub title: String,
    pub generation: i64,
    pub announcement: Announcement,
    pub created_at: DateTime<Utc>,
    /// When every thread planned for it was first complete.
    pub announced_at: Option<DateTime<Utc>>,
}

impl AnnouncementRecord {
    /// The first part of every post key of this announcement: the slug for people to
    /// read, and a hash of the whole URL, so that two posts whose URLs end alike
    /// (`…/2025/10/potm/`, `…/2025/11/potm/`) never share a key (nor, through the key,
    /// an `Idempotency-Key`). Keys recorded before the hash was added stay as they are:
    /// they are unique among themselves, and no new key can equal one.
    pub fn key_prefix(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.url.as_bytes());
        let hash = hex::encode(&digest[..6]);
        let slug: String = self
            .slug
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{slug}-{hash}.{}", self.generation)
    }
}

/// Where a thread stands on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// Composed and recorded; nothing sent yet.
    Planned,
    /// Some posts sent, or being sent.
    Posting,
    /// Every post is on the server.
    Posted,
    /// The last run gave up on this account; the next one resumes it.
    Failed,
}

impl ThreadState {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadState::Planned => "planned",
            ThreadState::Posting => "posting",
            ThreadState::Posted => "posted",
            ThreadState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "planned" => ThreadState::Planned,
            "posting" => ThreadState::Posting,
            "posted" => ThreadState::Posted,
            "failed" => ThreadState::Failed,
            other => return Err(StoreError::Corrupt(format!("thread state `{other}`"))),
        })
    }
}

/// What is known about one post on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostState {
    /// Never sent.
    Pending,
    /// Sent at least once without a clear answer: it may or may not exist. It must be
    /// looked up before it is sent again.
    Sending,
    /// On the server, with its id.
    Sent,
}

impl PostState {
    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Pending => "pending",
            PostState::Sending => "sending",
            PostState::Sent => "sent",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => PostState::Pending,
            "sending" => PostState::Sending,
            "sent" => PostState::Sent,
            other => return Err(StoreError::Corrupt(format!("post state `{other}`"))),
        })
    }
}

/// A post as planned: what the composer made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPost {
    /// The composer's role of the post (JSON of `compose::PostRole`), kept as text so
    /// that the store does not depend on the composer's types.
    pub role: String,
    pub text: String,
    /// The links in the text, with their full targets (a Bluesky link shows short).
    #[serde(default)]
    pub links: Vec<Link>,
    pub images: Vec<Figure>,
}

/// One post of a thread as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub index: usize,
    /// Stable across runs: `<announcement>/<account>/<index>`.
    pub key: String,
    pub role: String,
    pub text: String,
    /// The links in the text, with their full targets.
    pub links: Vec<Link>,
    pub images: Vec<Figure>,
    pub state: PostState,
    pub attempts: u32,
    /// When the first send started.
    pub sending_at: Option<DateTime<Utc>>,
    /// When the latest send started.
    pub last_sent_at: Option<DateTime<Utc>>,
    pub remote: Option<RemotePost>,
}

/// A thread planned for one account, with its posts in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRecord {
    pub id: i64,
    pub announcement_id: i64,
    pub account: String,
    pub platform: crate::model::PlatformKind,
    pub state: ThreadState,
    pub last_error: Option<String>,
    pub posts: Vec<PostRecord>,
}

impl ThreadRecord {
    /// The head post on the server, once sent.
    pub fn head(&self) -> Option<&RemotePost> {
        self.posts.first().and_then(|post| post.remote.as_ref())
    }
}

/// Requests sent to an account's network and posts made there, over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub requests: u64,
    pub posts: u64,
}

/// The calendar month (UTC) `time` falls in, as usage is counted: `YYYY-MM`.
pub fn usage_month(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m").to_string()
}

/// Where papercast keeps its state. Every method is one transaction: after it returns,
/// the change survives a crash of the process. [`ReviewStore`] holds the watcher's and
/// the review queue's part.
pub trait Store: ReviewStore + Send + Sync {
    /// The latest announcement of the post at `url`, if any.
    fn announcement(&self, url: &str) -> Result<Option<AnnouncementRecord>, StoreError>;

    /// Records a new announcement of `announcement`: the first one, or (with `again`)
    /// one more after those already recorded.
    fn record_announcement(
        &self,
        announcement: &Announcement,
        again: bool,
    ) -> Result<AnnouncementRecord, StoreError>;

    /// The thread planned for `account` in an announcement, if any.
    fn thread(
        &self,
        announcement_id: i64,
        account: &str,
    ) -> Result<Option<ThreadRecord>, StoreError>;

    /// Every thread of an announcement.
    fn threads(&self, announcement_id: i64) -> Result<Vec<ThreadRecord>, StoreError>;

    /// Records the thread planned for `account`, with one pending post per planned post.
    /// `plan_json` is the composed thread as the composer gave it. When a thread is
    /// already recorded for the account, it is returned unchanged: a plan, once made, is
    /// what gets posted.
    fn plan_thread(
        &self,
        announcement: &AnnouncementRecord,
        account: &str,
        platform: &str,
        posts: &[PlannedPost],
        plan_json: &str,
    ) -> Result<ThreadRecord, StoreError>;

    /// One post, by key.
    fn post(&self, key: &str) -> Result<Option<PostRecord>, StoreError>;

    /// Marks a post as being sent, before it is sent.
    fn mark_sending(&self, key: &str) -> Result<(), StoreError>;

    /// Records the post as on the server.
    fn mark_sent(&self, key: &str, remote: &RemotePost) -> Result<(), StoreError>;

    /// Records that a send certainly created nothing (the server refused it).
    fn mark_unsent(&self, key: &str) -> Result<(), StoreError>;

    /// The ids of every post of `account` known to be on its server.
    fn remote_ids(&self, account: &str) -> Result<Vec<String>, StoreError>;

    /// Records that every thread of an announcement is complete.
    fn mark_announced(&self, announcement_id: i64) -> Result<(), StoreError>;

    /// Adds to an account's usage of its network's API in `month` (`YYYY-MM`, UTC).
    fn add_usage(&self, account: &str, month: &str, usage: Usage) -> Result<(), StoreError>;

    /// An account's usage of its network's API in `month` (`YYYY-MM`, UTC); zero when
    /// nothing was counted.
    fn usage(&self, account: &str, month: &str) -> Result<Usage, StoreError>;

    /// Replaces the posts from `from_index` on — none of them sent — with `posts` (the
    /// rest of the thread refitted to a lower limit). The new posts get new keys.
    fn replan_rest(
        &self,
        thread_id: i64,
        from_index: usize,
        posts: &[PlannedPost],
    ) -> Result<ThreadRecord, StoreError>;

    /// Sets a thread's state and the error that stopped it, if any.
    fn set_thread_state(
        &self,
        thread_id: i64,
        state: ThreadState,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
}
