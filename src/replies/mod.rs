//! Collecting replies to papercast's threads: reading each thread's reply tree and the
//! account's mentions, recording new, edited and deleted replies, auto-hide rules, and
//! the optional one-time answer to a question. Moderation and the published
//! discussion read what this records ([`discussions`]).
//!
//! The reading is the same for every network behind [`Platform`]: Mastodon's
//! `context`, Bluesky's `getPostThread`, whatever the next network answers.
//!
//! Reading is cheap when nothing changed: one tree call per thread returns its
//! whole tree (every thread post descends from the head), one notifications call per
//! account returns only mentions newer than the last one read, and a reply is looked
//! up on its own only when it vanished from its tree. Threads older than
//! `replies.window_days` are not read; `papercast run` reads a thread again only when
//! it is due ([`rules::due`]). Rate limits are waited out like the publisher does.

pub mod discussions;
pub mod report;
pub mod rules;

use crate::compose::PostRole;
use crate::config::Config;
use crate::http::{Exhausted, Retrier, RetryPolicy, Stopped};
use crate::platform::Target;
use crate::platform::{NewPost, Platform, PlatformError};
use crate::store::{
    ReplyRecord, ReplySource, ReplyStore, Saved, ServerStatus, StoreError, ThreadRecord,
    WatchedThread,
};
use chrono::{DateTime, Utc};
use rules::Rules;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplyError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}; the next sync tries again")]
    Exhausted(#[from] Exhausted<PlatformError>),
}

impl ReplyError {
    /// The account cannot go on in this run (its token, or the server's patience).
    fn stops_account(&self) -> bool {
        matches!(
            self,
            ReplyError::Exhausted(_)
                | ReplyError::Store(_)
                | ReplyError::Platform(
                    PlatformError::Unauthorized { .. }
                        | PlatformError::Token { .. }
                        | PlatformError::Unsupported(_)
                )
        )
    }
}

/// How collecting behaves, from `[replies]` and `[publish]`.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Threads whose head is older than this are not read.
    pub window: chrono::Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub rules: Rules,
    pub answer_questions: bool,
    /// Retries and rate-limit waits, as for publishing.
    pub retry: RetryPolicy,
}

impl SyncSettings {
    pub fn from_config(config: &Config) -> Self {
        let replies = &config.replies;
        SyncSettings {
            window: chrono::Duration::days(i64::try_from(replies.window_days).unwrap_or(36_500)),
            min_interval: Duration::from_secs(replies.min_interval_secs),
            max_interval: Duration::from_secs(replies.max_interval_secs),
            rules: Rules::new(replies.hide_bots, &replies.hide_keywords),
            answer_questions: replies.answer_questions,
            retry: RetryPolicy::from(&config.publish),
        }
    }
}

/// Which threads a sync reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Every thread in the window (`papercast replies sync`).
    All,
    /// Only threads that are due (`papercast run`).
    Due,
}

/// What one account's sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSync {
    pub account: String,
    pub threads_read: usize,
    /// Not due yet (in [`SyncMode::Due`]).
    pub threads_skipped: usize,
    /// Requests sent to the server, retries included.
    pub requests: u32,
    pub added: usize,
    pub edited: usize,
    pub deleted: usize,
    pub restored: usize,
    /// New replies that an auto-hide rule hid.
    pub hidden_by_rules: usize,
    pub answered: usize,
    /// Thread posts whose counts (replies, reposts, likes, quotes) changed and were
    /// recorded.
    pub counts_changed: usize,
    /// What went wrong; the rest went on.
    pub errors: Vec<String>,
    /// An error stopped this account for this run.
    pub stopped: bool,
    /// papercast cannot read replies on this account's network yet (not an error).
    pub unsupported: Option<String>,
}

/// What a sync did, per account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub accounts: Vec<AccountSync>,
}

impl SyncReport {
    pub fn failed(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.stopped || !a.errors.is_empty())
            .count()
    }
}

/// Reads the replies of every thread in the window on every target account, side by
/// side, and records what changed.
pub async fn sync(
    store: &dyn ReplyStore,
    targets: &[Target],
    settings: &SyncSettings,
    mode: SyncMode,
    now: DateTime<Utc>,
) -> SyncReport {
    let watched = match store.watched_threads(now - settings.window) {
        Ok(watched) => watched,
        Err(error) => {
            return SyncReport {
                accounts: targets
                    .iter()
                    .map(|t| AccountSync {
                        account: t.account.clone(),
                        errors: vec![error.to_string()],
                        stopped: true,
                        ..Default::default()
                    })
                    .collect(),
            }
        }
    };
    let runs = targets.iter().map(|target| {
        let threads: Vec<&WatchedThread> = watched
            .iter()
            .filter(|w| w.thread.account == target.account)
            .collect();
        async move {
            let mut report = AccountSync {
                account: target.account.clone(),
                ..Default::default()
            };
            if threads.is_empty() {
                return report;
            }
            let platform = match &target.platform {
                Ok(platform) => platform.as_ref(),
                Err(error) => {
                    report.errors.push(error.to_string());
                    report.stopped = true;
                    return report;
                }
            };
            let run = AccountRun {
                store,
                platform,
                settings,
                now,
                requests: AtomicU32::new(0),
            };
            run.sync(&threads, mode, &mut report).await;
            report.requests = run.requests.load(Ordering::Relaxed);
            report
        }
    });
    SyncReport {
        accounts: futures_util::future::join_all(runs).await,
    }
}

/// Syncs the threads that are due, every `settings.min_interval`, until `shutdown`
/// completes: what `papercast run` spawns. Each round's report is logged.
pub async fn run_periodically(
    store: &dyn ReplyStore,
    targets: &[Target],
    settings: &SyncSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut ticks = tokio::time::interval(settings.min_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        let report = sync(store, targets, settings, SyncMode::Due, Utc::now()).await;
        for account in &report.accounts {
            for error in &account.errors {
                tracing::warn!(account = %account.account, "replies: {error}");
            }
            if account.threads_read > 0 {
                tracing::info!(
                    account = %account.account,
                    threads = account.threads_read,
                    requests = account.requests,
                    new = account.added,
                    edited = account.edited,
                    deleted = account.deleted,
                    "replies synced"
                );
            }
        }
    }
}

/// One account's sync.
struct AccountRun<'a> {
    store: &'a dyn ReplyStore,
    platform: &'a dyn Platform,
    settings: &'a SyncSettings,
    now: DateTime<Utc>,
    requests: AtomicU32,
}

impl AccountRun<'_> {
    fn account(&self) -> &str {
        self.platform.account()
    }

    async fn sync(&self, threads: &[&WatchedThread], mode: SyncMode, report: &mut AccountSync) {
        let own = match self.own_ids() {
            Ok(own) => own,
            Err(error) => {
                report.errors.push(error.to_string());
                report.stopped = true;
                return;
            }
        };
        for watched in threads {
            let due = rules::due(
                watched.checked_at,
                watched.activity_at,
                watched.posted_at,
                self.now,
                self.settings.min_interval,
                self.settings.max_interval,
            );
            if mode == SyncMode::Due && !due {
                report.threads_skipped += 1;
                continue;
            }
            match self.read_thread(watched, &own, report).await {
                Ok(()) => report.threads_read += 1,
                Err(ReplyError::Platform(PlatformError::Unsupported(message))) => {
                    report.unsupported = Some(message);
                    return;
                }
                Err(error) => {
                    let stop = error.stops_account();
                    report.errors.push(error.to_string());
                    if stop {
                        report.stopped = true;
                        return;
                    }
                }
            }
        }
        if let Err(error) = self.read_mentions(&own, report).await {
            report.stopped |= error.stops_account();
            report.errors.push(error.to_string());
        }
    }

    /// papercast's own thread posts and answers: never replies.
    fn own_ids(&self) -> Result<HashSet<String>, StoreError> {
        let mut own: HashSet<String> = self.store.remote_ids(self.account())?.into_iter().collect();
        own.extend(self.store.answer_ids(self.account())?);
        Ok(own)
    }

    async fn read_thread(
        &self,
        watched: &WatchedThread,
        own: &HashSet<String>,
        report: &mut AccountSync,
    ) -> Result<(), ReplyError> {
        let thread = &watched.thread;
        let sent: Vec<(&str, Option<PostRole>)> = thread
            .posts
            .iter()
            .filter_map(|p| {
                let remote = p.remote.as_ref()?;
                Some((remote.id.as_str(), serde_json::from_str(&p.role).ok()))
            })
            .collect();
        let Some((head, _)) = sent.first() else {
            return Ok(());
        };
        let mut tree: HashMap<String, ServerStatus> = HashMap::new();
        let Some(head_tree) = self.tree(head).await? else {
            // Deleted by hand: nothing more can be read, and that is no error. The
            // replies already recorded stay as they were.
            tracing::warn!(
                account = %self.account(),
                "the head post {head} of the thread about {} is gone from its server; \
                 its replies are no longer read",
                watched.announcement.url
            );
            self.store.mark_thread_checked(thread.id, self.now, None)?;
            return Ok(());
        };
        for status in head_tree {
            tree.insert(status.id.clone(), status);
        }
        // A server that caps the tree (depth or size) can leave out later thread posts;
        // their own trees fill the gap.
        for (id, _) in sent.iter().skip(1) {
            if !tree.contains_key(*id) {
                for status in self.tree(id).await?.unwrap_or_default() {
                    tree.insert(status.id.clone(), status);
                }
            }
        }
        let roles: HashMap<&str, Option<PostRole>> = sent.iter().copied().collect();
        let stored = self.store.thread_replies(thread.id)?;
        let stored_ids: HashSet<&str> = stored.iter().map(|r| r.status.id.as_str()).collect();
        let since = watched.checked_at.unwrap_or(watched.posted_at);

        let mut replies: Vec<&ServerStatus> = tree
            .values()
            .filter(|s| !own.contains(&s.id) && s.in_reply_to.is_some())
            .collect();
        replies.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let mut seen: HashSet<&str> = HashSet::new();
        for status in replies {
            // Followers-only and direct replies are never published, nor kept.
            if !status.is_public() {
                continue;
            }
            seen.insert(status.id.as_str());
            let saved = self.save(thread.id, status, ReplySource::Context, report)?;
            if saved == Saved::Added && status.created_at >= since {
                let subject = subject_of(status, &tree, &roles);
                self.maybe_answer(watched, status, subject, report).await;
            }
        }

        // Gone from the tree: deleted, detached from it, no longer public, or left out
        // by a capped tree. Only a lookup of the reply itself tells.
        let platform = self.platform;
        let missing: Vec<&ReplyRecord> = stored
            .iter()
            .filter(|r| r.deleted_at.is_none() && !seen.contains(r.status.id.as_str()))
            .collect();
        // A network that reads several statuses in one request (a quote is never in
        // Bluesky's tree, so it is looked up at every sync) is asked once for all.
        let ids: Vec<String> = missing.iter().map(|r| r.status.id.clone()).collect();
        let batch = if missing.len() > 1 {
            self.patiently(|| platform.statuses(&ids)).await?
        } else {
            None
        };
        for reply in missing {
            let id = reply.status.id.as_str();
            let found = match &batch {
                Some(found) => found.get(id).cloned(),
                None => self.patiently(|| platform.status(id)).await?,
            };
            let still_there = found.filter(|s| {
                s.is_public()
                    && s.in_reply_to.as_deref().is_some_and(|parent| {
                        roles.contains_key(parent)
                            || tree.contains_key(parent)
                            || stored_ids.contains(parent)
                    })
            });
            match still_there {
                Some(status) => {
                    self.save(thread.id, &status, reply.source, report)?;
                }
                None => {
                    self.store.mark_reply_deleted(reply.id)?;
                    report.deleted += 1;
                }
            }
        }

        let ids: Vec<String> = sent.iter().map(|(id, _)| (*id).to_owned()).collect();
        if let Err(error) = self.record_counts(thread.id, &ids, report).await {
            if error.stops_account() {
                return Err(error);
            }
            report.errors.push(format!(
                "reading the counts of the thread about {}: {error}",
                watched.announcement.url
            ));
        }

        let activity = self
            .store
            .thread_replies(thread.id)?
            .iter()
            .filter(|r| r.deleted_at.is_none())
            .map(|r| r.status.edited_at.unwrap_or(r.status.created_at))
            .max();
        self.store
            .mark_thread_checked(thread.id, self.now, activity)?;
        Ok(())
    }

    /// Records what each thread post drew, where it changed since the last sync. A
    /// network that gives no counts records nothing: the report says "n/a".
    async fn record_counts(
        &self,
        thread_id: i64,
        ids: &[String],
        report: &mut AccountSync,
    ) -> Result<(), ReplyError> {
        let platform = self.platform;
        let counts = match self.patiently(|| platform.engagement(ids)).await {
            Ok(counts) => counts,
            Err(ReplyError::Platform(PlatformError::Unsupported(_))) => return Ok(()),
            Err(error) => return Err(error),
        };
        for (id, counts) in counts {
            if ids.contains(&id)
                && self
                    .store
                    .record_engagement(thread_id, &id, self.now, &counts)?
            {
                report.counts_changed += 1;
            }
        }
        Ok(())
    }

    /// The reply tree under a post; `None` when the post is gone.
    async fn tree(&self, post_id: &str) -> Result<Option<Vec<ServerStatus>>, ReplyError> {
        let platform = self.platform;
        match self.patiently(|| platform.replies(post_id)).await {
            Ok(tree) => Ok(Some(tree)),
            Err(ReplyError::Platform(PlatformError::Refused {
                status: 404 | 410, ..
            })) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Mentions that answer a thread post or a recorded reply (a reply the thread's
    /// tree did not show, e.g. from a server that hides it from `context`).
    async fn read_mentions(
        &self,
        own: &HashSet<String>,
        report: &mut AccountSync,
    ) -> Result<(), ReplyError> {
        let cursor = self.store.mention_cursor(self.account())?;
        let platform = self.platform;
        let not_before = self.now - self.settings.window;
        let mentions = self
            .patiently(|| platform.mentions(cursor.as_deref(), not_before))
            .await?;
        for status in &mentions.statuses {
            if own.contains(&status.id) || !status.is_public() {
                continue;
            }
            let Some(parent) = status.in_reply_to.as_deref() else {
                continue;
            };
            let thread = match self.store.thread_of_post(self.account(), parent)? {
                Some(thread) => Some(thread),
                None => self
                    .store
                    .reply_by_remote(self.account(), parent)?
                    .map(|r| r.thread_id),
            };
            if let Some(thread) = thread {
                self.save(thread, status, ReplySource::Mention, report)?;
            }
        }
        if let Some(newest) = mentions.newest.filter(|n| Some(n) != cursor.as_ref()) {
            self.store.set_mention_cursor(self.account(), &newest)?;
        }
        Ok(())
    }

    fn save(
        &self,
        thread_id: i64,
        status: &ServerStatus,
        source: ReplySource,
        report: &mut AccountSync,
    ) -> Result<Saved, ReplyError> {
        let rule = self.settings.rules.hides(status);
        let saved =
            self.store
                .save_reply(thread_id, self.account(), status, source, rule.as_deref())?;
        match saved {
            Saved::Added => {
                report.added += 1;
                if rule.is_some() {
                    report.hidden_by_rules += 1;
                }
            }
            Saved::Edited => report.edited += 1,
            Saved::Restored => report.restored += 1,
            Saved::Unchanged => {}
        }
        Ok(saved)
    }

    /// Answers a new question once, when configured: never twice, even if the first
    /// try failed (the answer is recorded before it is sent).
    async fn maybe_answer(
        &self,
        watched: &WatchedThread,
        status: &ServerStatus,
        subject: Option<PostRole>,
        report: &mut AccountSync,
    ) {
        if !self.settings.answer_questions
            || status.author_bot
            || !rules::is_question(&status.content_html)
        {
            return;
        }
        let announcement = &watched.announcement.announcement;
        let (title, url) = match subject {
            Some(PostRole::Paper { position }) => {
                match announcement.papers.iter().find(|p| p.position == position) {
                    Some(paper) => (paper.title.as_str(), paper.url.as_str()),
                    None => return,
                }
            }
            Some(_) => (announcement.title.as_str(), announcement.url.as_str()),
            None => return,
        };
        let result = async {
            let Some(reply) = self.store.reply_by_remote(self.account(), &status.id)? else {
                return Ok(false);
            };
            if reply.is_hidden() || !self.store.begin_answer(reply.id)? {
                return Ok(false);
            }
            let text = rules::answer_text(&status.author_handle, title, url);
            let key = format!("papercast-answer/{}/{}", self.account(), status.id);
            let post = NewPost {
                text: &text,
                links: &[],
                in_reply_to: Some(&status.id),
                media_ids: &[],
                idempotency_key: &key,
            };
            self.requests.fetch_add(1, Ordering::Relaxed);
            let remote = self.platform.post(&post).await?;
            self.store.finish_answer(reply.id, &remote)?;
            Ok::<_, ReplyError>(true)
        }
        .await;
        match result {
            Ok(true) => report.answered += 1,
            Ok(false) => {}
            Err(error) => report
                .errors
                .push(format!("answering {}: {error}", status.url)),
        }
    }

    /// Runs a read, waiting out rate limits and retrying transient failures.
    async fn patiently<T, F, Fut>(&self, mut call: F) -> Result<T, ReplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, PlatformError>>,
    {
        Retrier::new(&self.settings.retry, self.account())
            .run(|| {
                self.requests.fetch_add(1, Ordering::Relaxed);
                call()
            })
            .await
            .map_err(|stopped| match stopped {
                Stopped::Failed(error) => error.into(),
                Stopped::Exhausted(exhausted) => exhausted.into(),
            })
    }
}

/// The thread post a status hangs from, through the tree: its role.
fn subject_of(
    status: &ServerStatus,
    tree: &HashMap<String, ServerStatus>,
    roles: &HashMap<&str, Option<PostRole>>,
) -> Option<PostRole> {
    let mut at = status.in_reply_to.as_deref()?;
    for _ in 0..=tree.len() {
        if let Some(role) = roles.get(at) {
            return *role;
        }
        at = tree.get(at)?.in_reply_to.as_deref()?;
    }
    None
}

/// The thread record's posts as discussion roots.
pub(crate) fn posted_posts(thread: &ThreadRecord) -> Vec<crate::discuss::PostedPost> {
    let platform = thread.platform;
    thread
        .posts
        .iter()
        .filter_map(|post| {
            let remote = post.remote.as_ref()?;
            let role: PostRole = serde_json::from_str(&post.role).ok()?;
            Some(crate::discuss::PostedPost {
                account: thread.account.clone(),
                platform,
                remote_id: remote.id.clone(),
                url: remote.url.clone().unwrap_or_default(),
                role,
            })
        })
        .collect()
}
