//! Posting an announcement's threads to accounts, exactly once.
//!
//! Decide, then act: for each account, the recorded thread (or a newly composed and
//! recorded one) is turned into a [`plan::Plan`] — which posts exist, which may exist,
//! which were never sent — and then each remaining post is sent, recorded as `sending`
//! before the request leaves and as `sent` with the server's id after. A post whose fate
//! is unknown (a crash, a timeout, a reset connection, an unreadable answer) is looked
//! up on the server before it is sent again, and is sent again with the same
//! `Idempotency-Key`. Accounts run side by side; one failing never stops another.

mod media;
pub mod plan;
mod resize;

use crate::compose::{ComposeError, Thread};
use crate::config::PublishConfig;
use crate::http::{Exhausted, Retrier, RetryPolicy, Stopped};
use crate::platform::{
    LengthRules, MediaUpload, NewPost, Platform, PlatformError, PostLookup, ServerLimits,
};
use crate::source::Fetcher;
use crate::store::{
    AnnouncementRecord, PlannedPost, PostRecord, PostState, RemotePost, Store, StoreError,
    ThreadRecord, ThreadState,
};
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use plan::Step;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// How far back before its first send a lost post is looked for (server clocks differ).
const LOOKUP_SLACK: chrono::Duration = chrono::Duration::minutes(10);

/// Added to the request timeout before a post of unknown fate is looked up: the earlier
/// request may still be on its way or being processed when the client gives up on it.
const LANDING_MARGIN: Duration = Duration::from_secs(5);

/// How many posts' figures are uploaded at once, ahead of the statuses.
const UPLOADS_AT_ONCE: usize = 4;

#[derive(Debug, Error)]
pub enum PublishError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("account `{account}`: composing the thread: {message}")]
    Compose { account: String, message: String },
    #[error("{0}; the thread is kept as it is and the next `papercast announce` resumes it")]
    Exhausted(#[from] Exhausted<PlatformError>),
    #[error(
        "account `{account}`: posting the {needed} remaining post(s) would pass \
         monthly_post_limit = {limit} ({used} posted in {month}); nothing was sent and the \
         thread is kept: it is posted by `papercast announce` next month, or raise the limit"
    )]
    MonthlyLimit {
        account: String,
        limit: u32,
        used: u64,
        needed: usize,
        month: String,
    },
    #[error("account `{account}`: the post {key} is still too long after refitting: {last}")]
    StillTooLong {
        account: String,
        key: String,
        last: Box<PlatformError>,
    },
}

/// Retry bounds and the figure size cap, from `[publish]`.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    pub retry: RetryPolicy,
    pub max_image_bytes: u64,
    /// How long after its latest attempt began a post of unknown fate is looked up:
    /// until then that attempt may still land on the server.
    pub landing_wait: Duration,
}

impl From<&PublishConfig> for PublishSettings {
    fn from(config: &PublishConfig) -> Self {
        PublishSettings {
            retry: RetryPolicy::from(config),
            max_image_bytes: config.max_image_bytes,
            landing_wait: Duration::from_secs(config.request_timeout_secs) + LANDING_MARGIN,
        }
    }
}

/// Composes the announcement's thread for given length rules.
pub trait Composer: Send + Sync {
    fn compose(&self, rules: &LengthRules) -> Result<Thread, ComposeError>;
}

impl<F> Composer for F
where
    F: Fn(&LengthRules) -> Result<Thread, ComposeError> + Send + Sync,
{
    fn compose(&self, rules: &LengthRules) -> Result<Thread, ComposeError> {
        self(rules)
    }
}

pub use crate::platform::Target;

/// What happened on one account.
#[derive(Debug)]
pub enum Outcome {
    /// The thread is complete; `sent` posts were sent in this run.
    Posted {
        link: Option<String>,
        posts: usize,
        sent: usize,
    },
    /// It was complete before this run; nothing was sent.
    AlreadyPosted { link: Option<String> },
    /// This account stopped; its state is kept for the next run.
    Failed {
        error: PublishError,
        sent: usize,
        posts: usize,
    },
}

#[derive(Debug)]
pub struct AccountReport {
    pub account: String,
    pub outcome: Outcome,
}

/// The posts planned for one account (for `--dry-run`).
#[derive(Debug)]
pub struct Preview {
    pub account: String,
    /// Where the limits came from: the server, or the defaults when it could not be read.
    pub limits: Result<ServerLimits, PlatformError>,
    /// The thread (recorded, or as it would be composed now) and its plan.
    pub thread: Result<(Vec<PostRecord>, plan::Plan), PublishError>,
}

/// How sending one post ended, short of an error that stops the account.
enum Sent {
    Posted(RemotePost),
    /// The server found it too long: refit it (once).
    TooLong {
        max: Option<usize>,
        error: PlatformError,
    },
}

/// Posts threads, recording every step in `store`.
pub struct Publisher<'a> {
    pub store: &'a dyn Store,
    pub fetcher: &'a Fetcher,
    pub settings: &'a PublishSettings,
}

impl Publisher<'_> {
    /// Posts (or resumes) the thread of `announcement` on every target, side by side.
    pub async fn announce(
        &self,
        announcement: &AnnouncementRecord,
        targets: Vec<Target>,
        composer: &dyn Composer,
    ) -> Vec<AccountReport> {
        let runs = targets.into_iter().map(|target| async move {
            let outcome = match target.platform {
                Ok(platform) => {
                    self.account(announcement, platform.as_ref(), composer)
                        .await
                }
                Err(error) => {
                    let error = error.into();
                    self.record_failure(announcement, &target.account, &error);
                    failed(error, None)
                }
            };
            AccountReport {
                account: target.account,
                outcome,
            }
        });
        let reports = futures_util::future::join_all(runs).await;
        let complete = reports.iter().all(|r| {
            matches!(
                r.outcome,
                Outcome::Posted { .. } | Outcome::AlreadyPosted { .. }
            )
        });
        if complete {
            if let Err(error) = self.store.mark_announced(announcement.id) {
                tracing::warn!("{error}");
            }
        }
        reports
    }

    /// What would be posted on each target, without sending or recording anything:
    /// the thread recorded in `recorded`'s store, or else as it would be composed now.
    pub async fn preview(
        recorded: Option<(&dyn Store, &AnnouncementRecord)>,
        targets: Vec<Target>,
        composer: &dyn Composer,
    ) -> Vec<Preview> {
        let previews = targets.into_iter().map(|target| async move {
            let limits = match &target.platform {
                Ok(platform) => platform.limits().await,
                Err(error) => Err(PlatformError::Unsupported(error.to_string())),
            };
            let kind = target.kind;
            let rules = limits
                .as_ref()
                .map_or_else(|_| ServerLimits::mastodon_defaults(), Clone::clone)
                .length_rules_for(kind);
            let recorded = recorded
                .map(|(store, a)| store.thread(a.id, &target.account))
                .transpose()
                .map(Option::flatten);
            let thread = match recorded {
                Err(error) => Err(error.into()),
                Ok(Some(thread)) => Ok((plan::plan(&thread), thread.posts)),
                Ok(None) => planned_posts(&target.account, composer, &rules).map(|posts| {
                    let records: Vec<PostRecord> = posts
                        .into_iter()
                        .enumerate()
                        .map(|(index, p)| PostRecord {
                            index,
                            key: String::new(),
                            role: p.role,
                            text: p.text,
                            links: p.links,
                            images: p.images,
                            state: PostState::Pending,
                            attempts: 0,
                            sending_at: None,
                            last_sent_at: None,
                            remote: None,
                        })
                        .collect();
                    let thread = ThreadRecord {
                        id: 0,
                        announcement_id: 0,
                        account: target.account.clone(),
                        platform: kind,
                        state: ThreadState::Planned,
                        last_error: None,
                        posts: records,
                    };
                    (plan::plan(&thread), thread.posts)
                }),
            };
            Preview {
                account: target.account.clone(),
                limits,
                thread: thread.map(|(plan, posts)| (posts, plan)),
            }
        });
        futures_util::future::join_all(previews).await
    }

    async fn account(
        &self,
        announcement: &AnnouncementRecord,
        platform: &dyn Platform,
        composer: &dyn Composer,
    ) -> Outcome {
        let name = platform.account();
        let existing = match self.store.thread(announcement.id, name) {
            Ok(thread) => thread,
            Err(error) => return failed(error.into(), None),
        };
        if let Some(thread) = &existing {
            if plan::plan(thread).is_complete() {
                return Outcome::AlreadyPosted { link: link(thread) };
            }
        }
        let mut run = AccountRun {
            store: self.store,
            fetcher: self.fetcher,
            settings: self.settings,
            platform,
            composer,
            limits: ServerLimits::mastodon_defaults(),
            sent: 0,
        };
        let result = run.prepare(announcement, existing).await;
        let thread = match result.and_then(|thread| run.within_monthly_limit(thread)) {
            Ok(thread) => thread,
            Err(error) => {
                self.record_failure(announcement, name, &error);
                run.count_usage();
                return failed(error, None);
            }
        };
        let posted = run.post_thread(&thread).await;
        run.count_usage();
        match posted {
            Ok(thread) => {
                let _ = self
                    .store
                    .set_thread_state(thread.id, ThreadState::Posted, None);
                Outcome::Posted {
                    link: link(&thread),
                    posts: thread.posts.len(),
                    sent: run.sent,
                }
            }
            Err(error) => {
                let _ = self.store.set_thread_state(
                    thread.id,
                    ThreadState::Failed,
                    Some(&error.to_string()),
                );
                let posts = thread.posts.len();
                Outcome::Failed {
                    error,
                    sent: run.sent,
                    posts,
                }
            }
        }
    }
}

impl Publisher<'_> {
    /// Marks an account's recorded thread (a draft's) failed with the reason, when the
    /// account stopped before any post was sent: otherwise the draft would still read
    /// "approved" with no error.
    fn record_failure(
        &self,
        announcement: &AnnouncementRecord,
        account: &str,
        error: &PublishError,
    ) {
        let thread = match self.store.thread(announcement.id, account) {
            Ok(Some(thread)) => thread,
            Ok(None) => return,
            Err(store_error) => {
                tracing::warn!("{store_error}");
                return;
            }
        };
        if let Err(store_error) =
            self.store
                .set_thread_state(thread.id, ThreadState::Failed, Some(&error.to_string()))
        {
            tracing::warn!("{store_error}");
        }
    }
}

fn failed(error: PublishError, thread: Option<&ThreadRecord>) -> Outcome {
    Outcome::Failed {
        error,
        sent: 0,
        posts: thread.map_or(0, |t| t.posts.len()),
    }
}

/// The head post's link.
fn link(thread: &ThreadRecord) -> Option<String> {
    thread
        .head()
        .map(|head| head.url.clone().unwrap_or(head.id.clone()))
}

/// The composer's thread as posts to record.
fn planned_posts(
    account: &str,
    composer: &dyn Composer,
    rules: &LengthRules,
) -> Result<Vec<PlannedPost>, PublishError> {
    let thread = composer.compose(rules).map_err(|e| PublishError::Compose {
        account: account.into(),
        message: e.to_string(),
    })?;
    if thread.posts.is_empty() {
        return Err(PublishError::Compose {
            account: account.into(),
            message: "the composed thread has no posts".into(),
        });
    }
    Ok(thread
        .posts
        .iter()
        .map(|post| PlannedPost {
            role: serde_json::to_string(&post.role).unwrap_or_default(),
            text: post.text.clone(),
            links: post.links.clone(),
            images: post.images.clone(),
        })
        .collect())
}

/// One account's run: its client, its server's limits, what it has sent.
struct AccountRun<'a> {
    store: &'a dyn Store,
    fetcher: &'a Fetcher,
    settings: &'a PublishSettings,
    platform: &'a dyn Platform,
    composer: &'a dyn Composer,
    limits: ServerLimits,
    sent: usize,
}

impl AccountRun<'_> {
    fn account(&self) -> &str {
        self.platform.account()
    }

    /// Stops before a thread whose unsent posts would pass the account's monthly post
    /// limit; the thread stays recorded as it is.
    fn within_monthly_limit(&self, thread: ThreadRecord) -> Result<ThreadRecord, PublishError> {
        let Some(limit) = self.platform.monthly_post_limit() else {
            return Ok(thread);
        };
        let month = crate::store::usage_month(Utc::now());
        let used = self.store.usage(self.account(), &month)?.posts;
        let needed = plan::plan(&thread)
            .steps
            .iter()
            .filter(|s| !matches!(s, Step::Keep { .. }))
            .count();
        if used + needed as u64 > u64::from(limit) {
            let _ = self.store.set_thread_state(
                thread.id,
                ThreadState::Failed,
                Some("monthly_post_limit reached"),
            );
            return Err(PublishError::MonthlyLimit {
                account: self.account().into(),
                limit,
                used,
                needed,
                month,
            });
        }
        Ok(thread)
    }

    /// Adds this run's requests and posts to the account's usage of the month.
    fn count_usage(&self) {
        let usage = crate::store::Usage {
            requests: self.platform.take_requests(),
            posts: self.sent as u64,
        };
        if usage == crate::store::Usage::default() {
            return;
        }
        let month = crate::store::usage_month(Utc::now());
        if let Err(error) = self.store.add_usage(self.account(), &month, usage) {
            tracing::warn!(
                "account `{}`: counting its API usage: {error}",
                self.account()
            );
        }
    }

    /// Checks the account, reads the server's limits, and returns the recorded thread
    /// (composing and recording it first when there is none).
    async fn prepare(
        &mut self,
        announcement: &AnnouncementRecord,
        existing: Option<ThreadRecord>,
    ) -> Result<ThreadRecord, PublishError> {
        let platform = self.platform;
        // A wrong token shows here, before anything is recorded or uploaded.
        let identity = self.patiently(|| platform.verify()).await?;
        tracing::debug!(account = %self.account(), handle = %identity.handle, "credentials ok");
        self.limits = self.patiently(|| platform.limits()).await?;
        if let Some(thread) = existing {
            return Ok(thread);
        }
        let kind = self.platform.kind();
        let rules = self.limits.length_rules_for(kind);
        let posts = planned_posts(self.account(), self.composer, &rules)?;
        let plan_json = serde_json::to_string(&posts).unwrap_or_default();
        Ok(self.store.plan_thread(
            announcement,
            self.account(),
            kind.as_str(),
            &posts,
            &plan_json,
        )?)
    }

    /// Sends what is left of `thread`, in order, each reply to the post before it.
    async fn post_thread(&mut self, thread: &ThreadRecord) -> Result<ThreadRecord, PublishError> {
        self.store
            .set_thread_state(thread.id, ThreadState::Posting, None)?;
        let mut known = self.store.remote_ids(self.account())?;
        let mut uploaded = self.upload_ahead(thread).await?;
        let mut thread = thread.clone();
        let mut parent: Option<RemotePost> = None;
        let mut refitted = false;
        let mut index = 0;
        while index < thread.posts.len() {
            let post = thread.posts[index].clone();
            let step = plan::plan(&thread).steps.swap_remove(index);
            let remote = match step {
                Step::Keep { remote, .. } => remote,
                Step::Check { .. } | Step::Send { .. } => {
                    let unknown_fate = matches!(step, Step::Check { .. });
                    let media_ids = uploaded.remove(&post.key);
                    match self
                        .send(&post, parent.as_ref(), unknown_fate, &known, media_ids)
                        .await?
                    {
                        Sent::Posted(remote) => remote,
                        Sent::TooLong { max, error } if !refitted => {
                            refitted = true;
                            thread = self.refit_rest(&thread, index, max, error)?;
                            continue;
                        }
                        Sent::TooLong { error, .. } => {
                            return Err(PublishError::StillTooLong {
                                account: self.account().into(),
                                key: post.key.clone(),
                                last: Box::new(error),
                            })
                        }
                    }
                }
            };
            known.push(remote.id.clone());
            thread.posts[index].state = PostState::Sent;
            thread.posts[index].remote = Some(remote.clone());
            parent = Some(remote);
            index += 1;
        }
        thread.state = ThreadState::Posted;
        Ok(thread)
    }

    /// Uploads the figures of every post still to send, side by side (at most
    /// [`UPLOADS_AT_ONCE`] posts at a time), before the first status: only the
    /// statuses need their parent's id, so the chain of statuses is the only sequential
    /// part. A post whose fate is unknown is left out: it may be on the server already,
    /// and its figures are uploaded only if the lookup does not find it.
    async fn upload_ahead(
        &self,
        thread: &ThreadRecord,
    ) -> Result<HashMap<String, Vec<String>>, PublishError> {
        let steps = plan::plan(thread).steps;
        let mut uploads = Vec::new();
        for (post, step) in thread.posts.iter().zip(steps) {
            if matches!(step, Step::Send { .. }) && !post.images.is_empty() {
                uploads.push(self.upload_keyed(post));
            }
        }
        // A plain list of futures, not a closure over the posts: the daemon's task must
        // stay `Send`, which a closure's borrow would keep the compiler from proving.
        let uploaded: Vec<_> = stream::iter(uploads)
            .buffer_unordered(UPLOADS_AT_ONCE)
            .collect()
            .await;
        uploaded.into_iter().collect()
    }

    async fn upload_keyed(&self, post: &PostRecord) -> Result<(String, Vec<String>), PublishError> {
        Ok((post.key.clone(), self.upload_figures(post).await?))
    }

    /// Sends one post (its figures first, unless `media_ids` has them uploaded
    /// already), unless a lookup finds it already there.
    async fn send(
        &mut self,
        post: &PostRecord,
        parent: Option<&RemotePost>,
        unknown_fate: bool,
        known: &[String],
        mut media_ids: Option<Vec<String>>,
    ) -> Result<Sent, PublishError> {
        let account = self.account().to_owned();
        let parent_id = parent.map(|p| p.id.as_str());
        let mut check = unknown_fate;
        let idempotency_key = format!("papercast/{}", post.key);
        let policy = &self.settings.retry;
        let mut retrier = Retrier::new(policy, &account);
        loop {
            if check {
                let recorded = self.store.post(&post.key)?;
                if let Some(last) = recorded.as_ref().and_then(|p| p.last_sent_at) {
                    self.wait_for_landing(post, last).await;
                }
                let not_before = recorded
                    .and_then(|p| p.sending_at)
                    .map(|t| t - LOOKUP_SLACK);
                let lookup = PostLookup {
                    text: &post.text,
                    in_reply_to: parent_id,
                    not_before,
                    exclude: known,
                    key: &idempotency_key,
                };
                let platform = self.platform;
                let found = self.patiently(|| platform.find_post(&lookup)).await?;
                if let Some(remote) = found {
                    tracing::info!(
                        key = %post.key,
                        id = %remote.id,
                        "account `{account}`: the post is on the server already; not sending it again"
                    );
                    self.store.mark_sent(&post.key, &remote)?;
                    return Ok(Sent::Posted(remote));
                }
            }
            if media_ids.is_none() {
                media_ids = Some(self.upload_figures(post).await?);
            }
            let ids = media_ids.as_deref().unwrap_or_default();
            self.store.mark_sending(&post.key)?;
            let result = self
                .platform
                .post(&NewPost {
                    text: &post.text,
                    links: &post.links,
                    in_reply_to: parent_id,
                    media_ids: ids,
                    idempotency_key: &idempotency_key,
                })
                .await;
            let error = match result {
                Ok(remote) => {
                    self.store.mark_sent(&post.key, &remote)?;
                    self.sent += 1;
                    tracing::info!(key = %post.key, id = %remote.id, "account `{account}`: posted");
                    return Ok(Sent::Posted(remote));
                }
                Err(error) => error,
            };
            if !error.is_ambiguous() && !check {
                // This answer certainly created nothing, and no earlier attempt may have
                // (after an unclear one the post stays `sending`, so that whoever sends
                // it next looks it up first).
                self.store.mark_unsent(&post.key)?;
            }
            match error {
                PlatformError::RateLimited { retry_at, .. } => {
                    retrier.rate_limited(retry_at, error).await?;
                }
                PlatformError::TooLong { max, .. } => return Ok(Sent::TooLong { max, error }),
                error if error.is_transient() => {
                    check = check || error.is_ambiguous();
                    retrier.failed(error).await?;
                }
                error => return Err(error.into()),
            }
        }
    }

    /// Waits until an attempt that began at `last` can no longer land: a server that
    /// ignores `Idempotency-Key` would take a resend as a second post, so the look-up
    /// must not run while the earlier request may still be processed.
    async fn wait_for_landing(&self, post: &PostRecord, last: chrono::DateTime<Utc>) {
        let landed_by =
            last + chrono::Duration::from_std(self.settings.landing_wait).unwrap_or_default();
        let Ok(wait) = (landed_by - Utc::now()).to_std() else {
            return;
        };
        tracing::info!(
            key = %post.key,
            "account `{}`: an earlier attempt at this post may still land; waiting {:.1} s \
             before looking for it (publish.request_timeout_secs + {} s)",
            self.account(),
            wait.as_secs_f64(),
            LANDING_MARGIN.as_secs()
        );
        tokio::time::sleep(wait).await;
    }

    /// Runs a request that is safe to repeat, waiting out rate limits and retrying
    /// transient failures within the bounds.
    async fn patiently<T, F, Fut>(&self, call: F) -> Result<T, PublishError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, PlatformError>>,
    {
        Retrier::new(&self.settings.retry, self.account())
            .run(call)
            .await
            .map_err(|stopped| match stopped {
                Stopped::Failed(error) => error.into(),
                Stopped::Exhausted(exhausted) => exhausted.into(),
            })
    }

    /// Refits the unsent rest of a thread after the server found post `index` too long:
    /// the composer fits the thread again counting every URL in full (some servers do),
    /// to the server's stated limit or 10% under the post's length counted that way,
    /// whichever is lower — the server counts differently from papercast, so the post
    /// must get shorter either way. The refitted post may become several; the rest of
    /// the thread is recorded anew from it on.
    fn refit_rest(
        &self,
        thread: &ThreadRecord,
        index: usize,
        max: Option<usize>,
        error: PlatformError,
    ) -> Result<ThreadRecord, PublishError> {
        let post = &thread.posts[index];
        let max = max.unwrap_or(self.limits.max_characters);
        let mut rules = LengthRules {
            max,
            url_length: None,
            ..self.limits.length_rules_for(self.platform.kind())
        };
        rules.max = max.min(rules.count(&post.text) * 9 / 10);
        tracing::warn!(
            key = %post.key,
            "{error}; refitting it to {} characters with URLs counted in full",
            rules.max
        );
        let still_too_long = |error| PublishError::StillTooLong {
            account: self.account().into(),
            key: post.key.clone(),
            last: Box::new(error),
        };
        let rest = match planned_posts(self.account(), self.composer, &rules) {
            Ok(posts) => posts,
            Err(_) => return Err(still_too_long(error)),
        };
        let Some(start) = rest.iter().position(|p| p.role == post.role) else {
            return Err(still_too_long(error));
        };
        if rest[start].text == post.text {
            return Err(still_too_long(error));
        }
        Ok(self.store.replan_rest(thread.id, index, &rest[start..])?)
    }

    /// Downloads and uploads a post's figures. A figure that cannot be had is left out
    /// with a warning; an upload the server refuses, too.
    async fn upload_figures(&self, post: &PostRecord) -> Result<Vec<String>, PublishError> {
        let mut ids = Vec::new();
        for (n, figure) in post.images.iter().enumerate() {
            if n >= self.limits.max_media_attachments {
                tracing::warn!(
                    "account `{}`: {}: the server takes {} images per post; leaving out {}",
                    self.account(),
                    post.key,
                    self.limits.max_media_attachments,
                    figure.url
                );
                continue;
            }
            let Some(upload) = self.download(figure).await else {
                continue;
            };
            let platform = self.platform;
            match self.patiently(|| platform.upload_media(&upload)).await {
                Ok(id) => ids.push(id),
                Err(PublishError::Platform(
                    error @ (PlatformError::Refused { .. } | PlatformError::TooLong { .. }),
                )) => {
                    tracing::warn!("{error}; posting {} without {}", post.key, figure.url);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(ids)
    }

    async fn download(&self, figure: &crate::model::Figure) -> Option<MediaUpload> {
        let mut failures = 0;
        loop {
            match media::prepare(
                self.fetcher,
                figure,
                &self.limits,
                self.settings.max_image_bytes,
            )
            .await
            {
                Ok(upload) => return Some(upload),
                Err(media::Skip::Transient(reason))
                    if failures + 1 < self.settings.retry.max_attempts =>
                {
                    failures += 1;
                    let retry = &self.settings.retry;
                    let wait = crate::http::retry::backoff(
                        failures,
                        retry.backoff_initial,
                        retry.backoff_max,
                    );
                    tracing::warn!(
                        "account `{}`: figure {reason}; trying again in {:.1} s",
                        self.account(),
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(media::Skip::Transient(reason) | media::Skip::Permanent(reason)) => {
                    tracing::warn!(
                        "account `{}`: figure {reason}; posting without it",
                        self.account()
                    );
                    return None;
                }
            }
        }
    }
}
