//! What papercast records about replies to its threads: each reply as last seen on its
//! server, its moderation, hidden authors, and where collecting stands.
//!
//! [`ReplyStore`] extends [`Store`]; [`super::SqliteStore`] implements both.

use super::parse_time;
use super::{AnnouncementRecord, RemotePost, ServerStatus, Store, StoreError, ThreadRecord};
use crate::model::Engagement;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// How a reply was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplySource {
    /// In the reply tree of a thread post (`context`).
    Context,
    /// In the account's mention notifications.
    Mention,
}

impl ReplySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplySource::Context => "context",
            ReplySource::Mention => "mention",
        }
    }

    pub(super) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "context" => Ok(ReplySource::Context),
            "mention" => Ok(ReplySource::Mention),
            other => Err(StoreError::Corrupt(format!("reply source `{other}`"))),
        }
    }
}

/// Who hid a reply, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hiding {
    /// A moderator's name, or `rule`.
    pub by: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A reply as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRecord {
    pub id: i64,
    pub thread_id: i64,
    pub account: String,
    /// As last seen on the server; `in_reply_to` is always set.
    pub status: ServerStatus,
    pub source: ReplySource,
    pub first_seen_at: DateTime<Utc>,
    /// When it was found gone from its server.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Hidden by a moderator or a rule.
    pub hidden: Option<Hiding>,
    /// A moderator decided about it: rules leave it alone.
    pub moderated: bool,
    /// Its author is hidden.
    pub author_hidden: bool,
}

impl ReplyRecord {
    /// Never published: hidden itself, or by its author.
    pub fn is_hidden(&self) -> bool {
        self.hidden.is_some() || self.author_hidden
    }
}

/// What saving a reply changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Seen for the first time.
    Added,
    /// Its text, content warning or author details changed.
    Edited,
    /// It was recorded as deleted and is back.
    Restored,
    /// Nothing changed.
    Unchanged,
}

/// A thread whose replies are collected.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedThread {
    pub announcement: AnnouncementRecord,
    pub thread: ThreadRecord,
    /// When its head post was sent.
    pub posted_at: DateTime<Utc>,
    /// When its replies were last read.
    pub checked_at: Option<DateTime<Utc>>,
    /// The latest reply or edit seen in it.
    pub activity_at: Option<DateTime<Utc>>,
}

/// An author whose replies are never published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenAuthor {
    /// `user@server`, lower case.
    pub handle: String,
    pub by: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// One of papercast's answers, as a link in a chain of replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerLink {
    pub account: String,
    /// The answer's id on the server.
    pub remote_id: String,
    /// The id of the reply it answers.
    pub in_reply_to: String,
}

/// A thread post's counts as one sync saw them (a row of the time series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementRecord {
    pub thread_id: i64,
    /// The thread post's id on its server.
    pub remote_id: String,
    pub recorded_at: DateTime<Utc>,
    pub counts: Engagement,
}

/// The canonical form of a handle: `user@server`, lower case, without a leading `@`.
pub fn canonical_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

/// The reply side of the state store.
pub trait ReplyStore: Store + super::NotifyStore {
    /// Threads whose head post was sent at or after `since`, oldest first.
    fn watched_threads(&self, since: DateTime<Utc>) -> Result<Vec<WatchedThread>, StoreError>;

    /// The thread that post `remote_id` of `account` belongs to, if it is one of
    /// papercast's thread posts.
    fn thread_of_post(&self, account: &str, remote_id: &str) -> Result<Option<i64>, StoreError>;

    /// Every recorded reply under a thread, deleted ones too, oldest first.
    fn thread_replies(&self, thread_id: i64) -> Result<Vec<ReplyRecord>, StoreError>;

    /// Every recorded reply under the threads of these announcements.
    fn announcement_replies(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<ReplyRecord>, StoreError>;

    /// One reply by papercast's id.
    fn reply(&self, id: i64) -> Result<Option<ReplyRecord>, StoreError>;

    /// One reply by the server's id.
    fn reply_by_remote(
        &self,
        account: &str,
        remote_id: &str,
    ) -> Result<Option<ReplyRecord>, StoreError>;

    /// One reply by its public URL.
    fn reply_by_url(&self, url: &str) -> Result<Option<ReplyRecord>, StoreError>;

    /// Records a reply as the server now shows it (adding, updating or restoring it).
    /// `rule` names an auto-hide rule that matches it: a new or changed reply that no
    /// moderator has decided about is then hidden by `rule`.
    fn save_reply(
        &self,
        thread_id: i64,
        account: &str,
        status: &ServerStatus,
        source: ReplySource,
        rule: Option<&str>,
    ) -> Result<Saved, StoreError>;

    /// Records that a reply is gone from its server.
    fn mark_reply_deleted(&self, id: i64) -> Result<(), StoreError>;

    /// A moderator hides (`hidden`) or shows a reply again.
    fn set_reply_hidden(
        &self,
        id: i64,
        hidden: bool,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Hides every reply by `handle`; false when it was hidden already.
    fn hide_author(&self, handle: &str, by: &str, reason: Option<&str>)
        -> Result<bool, StoreError>;

    /// Shows `handle`'s replies again; false when it was not hidden.
    fn unhide_author(&self, handle: &str) -> Result<bool, StoreError>;

    fn hidden_authors(&self) -> Result<Vec<HiddenAuthor>, StoreError>;

    /// Records that a thread's replies were read at `at`.
    fn mark_thread_checked(
        &self,
        thread_id: i64,
        at: DateTime<Utc>,
        activity_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// The newest mention notification read for `account`.
    fn mention_cursor(&self, account: &str) -> Result<Option<String>, StoreError>;

    fn set_mention_cursor(&self, account: &str, id: &str) -> Result<(), StoreError>;

    /// Records that papercast is about to answer a reply; false when it has tried
    /// before (an answer is sent at most once, even if the first try failed).
    fn begin_answer(&self, reply_id: i64) -> Result<bool, StoreError>;

    /// Records the answer as on the server.
    fn finish_answer(&self, reply_id: i64, remote: &RemotePost) -> Result<(), StoreError>;

    /// The server ids of papercast's answers on `account` (they are not replies).
    fn answer_ids(&self, account: &str) -> Result<Vec<String>, StoreError>;

    /// papercast's answers under the threads of these announcements: replies to them
    /// hang from the thread through them.
    fn answers(&self, announcement_ids: &[i64]) -> Result<Vec<AnswerLink>, StoreError>;

    /// Records a thread post's counts as seen at `at`, unless they equal the latest
    /// recorded for it; true when a row was added.
    fn record_engagement(
        &self,
        thread_id: i64,
        remote_id: &str,
        at: DateTime<Utc>,
        counts: &Engagement,
    ) -> Result<bool, StoreError>;

    /// Every recorded row of counts of the threads of these announcements, oldest first.
    fn engagement_history(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<EngagementRecord>, StoreError>;

    /// Every announcement of the post whose URL or slug is `key`, oldest first.
    fn announcements_of(&self, key: &str) -> Result<Vec<AnnouncementRecord>, StoreError>;

    /// The latest announcement of each post with at least one posted thread head.
    fn announced_posts(&self) -> Result<Vec<AnnouncementRecord>, StoreError>;
}

/// A reply row before its times are parsed (shared by the backends).
pub(crate) struct Raw {
    pub(crate) id: i64,
    pub(crate) thread_id: i64,
    pub(crate) account: String,
    pub(crate) remote_id: String,
    pub(crate) in_reply_to: String,
    pub(crate) author_id: String,
    pub(crate) author_handle: String,
    pub(crate) author_name: String,
    pub(crate) author_url: String,
    pub(crate) author_avatar: Option<String>,
    pub(crate) author_bot: bool,
    pub(crate) url: String,
    pub(crate) visibility: String,
    pub(crate) created_at: String,
    pub(crate) edited_at: Option<String>,
    pub(crate) content_html: String,
    pub(crate) spoiler_text: String,
    pub(crate) source: String,
    pub(crate) first_seen_at: String,
    pub(crate) deleted_at: Option<String>,
    pub(crate) hidden: bool,
    pub(crate) hidden_by: Option<String>,
    pub(crate) hidden_reason: Option<String>,
    pub(crate) hidden_at: Option<String>,
    pub(crate) moderated: bool,
}

impl Raw {
    pub(crate) fn record(
        self,
        hidden_authors: &HashSet<String>,
    ) -> Result<ReplyRecord, StoreError> {
        let hidden = match (self.hidden, self.hidden_at) {
            (true, Some(at)) => Some(Hiding {
                by: self.hidden_by.unwrap_or_default(),
                reason: self.hidden_reason,
                at: parse_time(&at)?,
            }),
            (true, None) => {
                return Err(StoreError::Corrupt(format!(
                    "reply {} is hidden without a time",
                    self.id
                )))
            }
            (false, _) => None,
        };
        Ok(ReplyRecord {
            author_hidden: hidden_authors.contains(&canonical_handle(&self.author_handle)),
            id: self.id,
            thread_id: self.thread_id,
            account: self.account,
            status: ServerStatus {
                id: self.remote_id,
                in_reply_to: Some(self.in_reply_to),
                author_id: self.author_id,
                author_handle: self.author_handle,
                author_name: self.author_name,
                author_url: self.author_url,
                author_avatar: self.author_avatar,
                author_bot: self.author_bot,
                url: self.url,
                visibility: self.visibility,
                created_at: parse_time(&self.created_at)?,
                edited_at: self.edited_at.as_deref().map(parse_time).transpose()?,
                content_html: self.content_html,
                spoiler_text: self.spoiler_text,
            },
            source: ReplySource::parse(&self.source)?,
            first_seen_at: parse_time(&self.first_seen_at)?,
            deleted_at: self.deleted_at.as_deref().map(parse_time).transpose()?,
            hidden,
            moderated: self.moderated,
        })
    }
}
