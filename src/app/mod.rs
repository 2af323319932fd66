//! The pipeline wired to its edges: configuration, the store, the fetcher, the
//! templates and the accounts' clients in one [`App`], and the steps that need them
//! all — drafting a post for every account, and posting a draft — which the feed
//! [`watcher`], the CLI and the [`crate::daemon`] share.

pub mod announce;
mod notices;
pub mod watcher;

use crate::compose::{self, ComposeError, ComposeOptions, Templates};
use crate::config::{AccountConfig, Config, Review};
use crate::extract::{self, ExtractError};
use crate::platform::ClientSettings;
use crate::platform::{
    Identity, LengthRules, MediaUpload, Mentions, NewPost, Platform, PlatformError, PlatformKind,
    PostLookup, ServerLimits,
};
use crate::publish::{AccountReport, Outcome, PublishSettings, Publisher, Target};
use crate::queue::{self, DraftState, DraftSummary, QueueError};
use crate::source::{Fetcher, SourceError};
use crate::store::{
    AnnouncementRecord, AuditNote, Claim, NewDraft, PostState, RemotePost, ReplyStore, ReviewState,
    ServerStatus, StoreError, ThreadState,
};
use crate::Announcement;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Notify;

/// How often a claim is renewed while the thread is being posted, as a part of the
/// lease (`store.lease`): two renewals may fail before the claim runs out.
const LEASE_RENEWALS: u32 = 3;

#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{url}: {error}")]
    Extract { url: String, error: ExtractError },
    #[error("{url}: {reason}; the page is refused")]
    ExtractTooSlow { url: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("loading the thread templates: {0}")]
    Templates(ComposeError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error("account `{account}`: composing the thread: {reason}")]
    Compose { account: String, reason: String },
    #[error(
        "draft {id} is for account `{account}`, which is not configured any more; add it \
         back to post the draft, or reject it"
    )]
    NoAccount { id: i64, account: String },
    #[error(
        "draft {id} is {state}: it is posted only once a moderator approves it \
         (`papercast queue approve {id}`)"
    )]
    NotApproved { id: i64, state: DraftState },
}

impl AppError {
    /// Whether trying the same input again cannot help (the watcher gives it up at
    /// once instead of fetching it again at every poll).
    pub fn is_permanent(&self) -> bool {
        match self {
            AppError::Source(error) => error.is_permanent(),
            AppError::Extract { error, .. } => error.is_permanent(),
            AppError::ExtractTooSlow { .. } => true,
            _ => false,
        }
    }
}

/// The longest one page's extraction may take before it is given up. A real post takes
/// milliseconds; the depth guard keeps hostile pages far below this, which is the last
/// line against a page that is slow in some other way.
const EXTRACT_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Extracts a page on a blocking thread, so that a slow page holds up none of the
/// daemon's other work, and gives it up after [`EXTRACT_TIME_LIMIT`].
pub async fn extract_off_the_workers(page: crate::source::Page) -> Result<Announcement, AppError> {
    let url = page.url.clone();
    let work = tokio::task::spawn_blocking(move || extract::extract(&page.html, &page.url));
    match tokio::time::timeout(EXTRACT_TIME_LIMIT, work).await {
        Ok(Ok(result)) => result.map_err(|error| AppError::Extract { url, error }),
        Ok(Err(join)) => Err(AppError::ExtractTooSlow {
            url,
            reason: format!("extraction failed ({join})"),
        }),
        Err(_) => Err(AppError::ExtractTooSlow {
            url,
            reason: format!(
                "extraction took longer than {} s",
                EXTRACT_TIME_LIMIT.as_secs()
            ),
        }),
    }
}

/// How new drafts are made.
#[derive(Debug, Clone, Copy)]
pub struct Drafting<'a> {
    /// `watch:<source>` or `announce`.
    pub origin: &'a str,
    /// Who makes them (audited).
    pub actor: &'a str,
    /// Approve them all (`announce --now`), whatever the accounts' review policy.
    pub approve: bool,
}

/// The draft of one account.
#[derive(Debug)]
pub struct Drafted {
    pub account: String,
    /// The draft, and whether it was made now (`false`: it existed already).
    pub result: Result<(DraftSummary, bool), AppError>,
}

/// What became of an attempt to post a draft.
#[derive(Debug)]
pub enum Posting {
    /// Another process is posting it now.
    Busy { owner: String },
    /// The publisher ran; what it did.
    Ran(AccountReport),
    /// papercast is stopping: the rest of the thread is posted at the next start.
    Interrupted { sent: usize, posts: usize },
}

/// The wired-up pipeline, shared by the watcher, the publisher, the replies loop and
/// the web server.
pub struct App {
    pub config: Config,
    /// The state database, with its reply side (which the replies loop and the web
    /// server's discussion pages need).
    pub store: Arc<dyn ReplyStore>,
    pub fetcher: Fetcher,
    pub templates: Templates,
    pub publish: PublishSettings,
    clients: ClientSettings,
    /// Who this process is when it claims a draft: `host/pid/nonce`.
    owner: String,
    stop: tokio::sync::watch::Sender<bool>,
    /// Wakes the feed watcher (the publish hook).
    pub poll_now: Arc<Notify>,
    /// Wakes the publisher (e.g. after an approval on the web page).
    pub publish_now: Arc<Notify>,
    /// Due drafts of accounts no longer configured, already warned about.
    unpostable: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// Each account's client, made once for the process: one connection pool per
    /// server, and the server's limits read once (the client keeps them), for drafting
    /// and posting alike.
    platforms: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn Platform>>>,
    /// Tells moderators about drafts and threads (`[[notify]]`).
    pub notifier: Arc<crate::notify::Notifier>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("owner", &self.owner).finish()
    }
}

impl App {
    pub fn new(config: Config, store: Arc<dyn ReplyStore>) -> Result<App, AppError> {
        let fetcher = Fetcher::new(&config.fetch)?;
        let templates =
            Templates::from_config(&config.compose.templates_dir).map_err(AppError::Templates)?;
        let clients = ClientSettings::from(&config);
        let deliverer = crate::notify::Deliverer::new(
            &config.fetch.user_agent,
            Duration::from_secs(config.fetch.timeout_secs),
        )?;
        let outbox: Arc<dyn crate::store::NotifyStore> = store.clone();
        let notifier = Arc::new(crate::notify::Notifier::new(
            config.notify.clone(),
            outbox,
            deliverer,
        ));
        let mut nonce = [0u8; 4];
        let nonce = match getrandom::fill(&mut nonce) {
            Ok(()) => hex::encode(nonce),
            Err(_) => "0".into(),
        };
        Ok(App {
            publish: PublishSettings::from(&config.publish),
            owner: format!("{}/{}/{nonce}", host_name(), std::process::id()),
            config,
            store,
            fetcher,
            templates,
            clients,
            stop: tokio::sync::watch::channel(false).0,
            poll_now: Arc::new(Notify::new()),
            publish_now: Arc::new(Notify::new()),
            unpostable: Default::default(),
            platforms: Default::default(),
            notifier,
        })
    }

    /// Asks every loop to stop: no new poll, no new post.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Completes once [`App::stop`] was called.
    pub async fn stopped(&self) {
        let mut receiver = self.stop.subscribe();
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }

    /// Who this process is when it holds a draft.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn compose_options(&self) -> ComposeOptions {
        ComposeOptions::from_config(&self.config.compose)
    }

    fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.config.accounts.iter().find(|a| a.name == name)
    }

    /// A client for `account`, with its token (or app password). Its posts stop once
    /// papercast is stopping (it starts no new post then).
    pub fn target(&self, account: &AccountConfig) -> Target {
        let platform = self.platform(account).map(|inner| {
            Box::new(Stoppable {
                inner,
                stop: self.stop.subscribe(),
            }) as Box<dyn Platform>
        });
        Target {
            account: account.name.clone(),
            kind: account.platform.kind(),
            platform,
        }
    }

    /// The account's client, made at its first use.
    fn platform(&self, account: &AccountConfig) -> Result<Arc<dyn Platform>, PlatformError> {
        if let Some(client) = self
            .platforms
            .lock()
            .ok()
            .and_then(|clients| clients.get(&account.name).cloned())
        {
            return Ok(client);
        }
        let client: Arc<dyn Platform> =
            Arc::from(crate::platform::credentials(account).and_then(|secret| {
                crate::platform::connect(account, Some(secret), &self.clients)
            })?);
        if let Ok(mut clients) = self.platforms.lock() {
            clients.insert(account.name.clone(), client.clone());
        }
        Ok(client)
    }

    /// The length rules of the account's server, or the configured defaults when the
    /// server does not say. Only Mastodon-family servers say; the others' are fixed.
    pub async fn rules_for(&self, account: &AccountConfig) -> LengthRules {
        let kind = account.platform.kind();
        if kind != PlatformKind::Mastodon {
            return LengthRules::default_for(kind);
        }
        // The posting client when there is one (the limits are public, and it keeps
        // them for the posting); without a token, a reading client.
        let limits = match self.platform(account) {
            Ok(client) => client.limits().await,
            Err(_) => match crate::platform::connect(account, None, &self.clients) {
                Ok(client) => client.limits().await,
                Err(error) => Err(error),
            },
        };
        match limits {
            Ok(limits) => limits.length_rules(),
            Err(error) => {
                // The error names the account.
                tracing::warn!(
                    "{error}; composing for the configured limit of {} characters",
                    self.config.compose.mastodon_max_characters
                );
                self.config.compose.rules_for(kind)
            }
        }
    }

    /// Reads and extracts a post from a link that came from outside (a feed entry, a
    /// stored draft): http(s) only.
    pub async fn read_post(&self, location: &str) -> Result<Announcement, AppError> {
        let page = self.fetcher.page(location).await?;
        extract_off_the_workers(page).await
    }

    /// Makes a draft of `announcement` for each account (keeping those that exist),
    /// pending or approved as each account's review policy says.
    pub async fn draft(
        &self,
        announcement: &AnnouncementRecord,
        accounts: &[&AccountConfig],
        how: Drafting<'_>,
    ) -> Vec<Drafted> {
        let mut drafted = Vec::with_capacity(accounts.len());
        for account in accounts {
            let result = self.draft_one(announcement, account, how).await;
            if let Err(error) = &result {
                tracing::error!("{error}");
            }
            drafted.push(Drafted {
                account: account.name.clone(),
                result,
            });
        }
        drafted
    }

    async fn draft_one(
        &self,
        record: &AnnouncementRecord,
        account: &AccountConfig,
        how: Drafting<'_>,
    ) -> Result<(DraftSummary, bool), AppError> {
        if let Some(thread) = self.store.thread(record.id, &account.name)? {
            return Ok((queue::show(self.store.as_ref(), thread.id)?.summary, false));
        }
        let rules = self.rules_for(account).await;
        let thread = compose::compose(
            &record.announcement,
            &self.templates,
            &rules,
            &self.compose_options(),
        )
        .map_err(|e| AppError::Compose {
            account: account.name.clone(),
            reason: e.to_string(),
        })?;
        let posts = queue::planned_posts(&thread);
        if posts.is_empty() {
            return Err(AppError::Compose {
                account: account.name.clone(),
                reason: "the composed thread has no posts".into(),
            });
        }
        let plan_json = serde_json::to_string(&posts).unwrap_or_default();
        let approve = how.approve || account.review == Review::None;
        let review = if approve {
            ReviewState::Approved
        } else {
            ReviewState::Pending
        };
        let details = match (how.approve, account.review) {
            (true, _) => format!("{} posts; approved at once", posts.len()),
            (false, Review::None) => format!(
                "{} posts; approved at once (the account's review = \"none\")",
                posts.len()
            ),
            (false, Review::Required) => format!("{} posts; waits for review", posts.len()),
        };
        let (draft, created) = self.store.create_draft(
            record,
            &NewDraft {
                account: &account.name,
                platform: account.platform.kind().as_str(),
                posts: &posts,
                plan_json: &plan_json,
                rules: &rules,
                review,
                origin: how.origin,
                actor: how.actor,
                details: &details,
            },
        )?;
        if created && !approve {
            self.notify_waiting(&draft, posts.iter().map(|p| p.text.clone()).collect());
        }
        tracing::info!(
            "draft {}: {} for account `{}` ({} posts, {})",
            draft.id,
            record.url,
            account.name,
            posts.len(),
            if approve {
                "approved"
            } else {
                "waits for review"
            }
        );
        Ok((queue::show(self.store.as_ref(), draft.id)?.summary, created))
    }

    /// Posts an approved (or due) draft now, or resumes it; `actor` is audited.
    pub async fn post_draft(&self, id: i64, actor: &str) -> Result<Posting, AppError> {
        let store = self.store.as_ref();
        let draft = store.draft(id)?.ok_or(QueueError::NotFound(id))?;
        if matches!(draft.review, ReviewState::Pending | ReviewState::Rejected) {
            return Err(AppError::NotApproved {
                id,
                state: DraftState::of(draft.review, draft.thread.state),
            });
        }
        let account = self
            .account(&draft.thread.account)
            .ok_or_else(|| AppError::NoAccount {
                id,
                account: draft.thread.account.clone(),
            })?;
        if let Some(owner) = self.claim(id)? {
            return Ok(Posting::Busy { owner });
        }
        let result = self.post_claimed(&draft, account, actor).await;
        if let Err(error) = store.release_draft(id, &self.owner) {
            tracing::warn!("draft {id}: {error}");
        }
        result
    }

    /// Claims a draft for this process; `Some(holder)` when another live one has it.
    fn claim(&self, id: i64) -> Result<Option<String>, StoreError> {
        let now = Utc::now();
        // A process that dies holding a claim keeps others from posting that draft at
        // most this long (less when it is on this machine: a claim of a process that is
        // gone is taken over at once).
        let lease = self.config.store.lease();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        match self.store.claim_draft(id, &self.owner, until, now, None)? {
            Claim::Claimed => Ok(None),
            Claim::HeldBy(holder) if holder_is_gone(&holder) => {
                tracing::info!("draft {id}: taking over from {holder}, which is gone");
                match self
                    .store
                    .claim_draft(id, &self.owner, until, now, Some(&holder))?
                {
                    Claim::Claimed => Ok(None),
                    Claim::HeldBy(holder) => Ok(Some(holder)),
                }
            }
            Claim::HeldBy(holder) => Ok(Some(holder)),
        }
    }

    async fn post_claimed(
        &self,
        draft: &crate::store::DraftRecord,
        account: &AccountConfig,
        actor: &str,
    ) -> Result<Posting, AppError> {
        let id = draft.id;
        let store = self.store.as_ref();
        let record = store
            .announcement_by_id(draft.thread.announcement_id)?
            .ok_or_else(|| StoreError::Missing(format!("announcement of draft {id}")))?;
        let options = self.compose_options();
        let composer = |rules: &LengthRules| {
            compose::compose(&record.announcement, &self.templates, rules, &options)
        };
        let publisher = Publisher {
            store,
            fetcher: &self.fetcher,
            settings: &self.publish,
        };
        tracing::info!(
            "draft {id}: posting {} to `{}`",
            draft.post_url,
            account.name
        );
        let work = publisher.announce(&record, vec![self.target(account)], &composer);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(self.config.store.lease() / LEASE_RENEWALS);
        renew.tick().await;
        let mut failed_renewals = 0;
        let mut reports = loop {
            tokio::select! {
                reports = &mut work => break reports,
                _ = renew.tick() => {
                    // Posting on without the claim could race another process that took
                    // it: stop instead. Dropping `work` mid-send is safe, as each post is
                    // recorded as `sending` before it leaves, and is looked up next time.
                    match self.claim(id) {
                        Ok(None) => failed_renewals = 0,
                        Ok(Some(holder)) => {
                            tracing::warn!("draft {id}: {holder} took the claim on it; stopping here");
                            return Ok(Posting::Busy { owner: holder });
                        }
                        Err(error) => {
                            failed_renewals += 1;
                            tracing::warn!("draft {id}: renewing the claim: {error}");
                            // Two misses are two thirds of the lease: stop before it runs out.
                            if failed_renewals >= 2 {
                                return Err(error.into());
                            }
                        }
                    }
                }
            }
        };
        let Some(report) = reports.pop() else {
            return Err(
                StoreError::Missing(format!("the publisher's report on draft {id}")).into(),
            );
        };
        match &report.outcome {
            Outcome::Posted { link, posts, sent } => {
                let details = format!(
                    "{sent} of {posts} posts sent now; {}",
                    link.as_deref().unwrap_or("no link")
                );
                self.audit(actor, "posted", id, &details);
                self.notify_posted(draft, link.as_deref());
            }
            Outcome::AlreadyPosted { link } => {
                // Complete on the server, though the record may not say so yet.
                store.set_thread_state(id, ThreadState::Posted, None)?;
                let details = format!("already complete; {}", link.as_deref().unwrap_or(""));
                self.audit(actor, "posted", id, &details);
            }
            Outcome::Failed { error, sent, posts } if self.is_stopping() => {
                let thread = store.thread(record.id, &account.name)?;
                let started = thread
                    .as_ref()
                    .map(|t| {
                        t.posts
                            .iter()
                            .filter(|p| p.state != PostState::Pending)
                            .count()
                    })
                    .unwrap_or(0);
                let state = if started > 0 {
                    ThreadState::Posting
                } else {
                    ThreadState::Planned
                };
                store.set_thread_state(id, state, None)?;
                tracing::info!(
                    "draft {id}: stopped after {sent} post(s) ({error}); {started} of {posts} \
                     are on the server and the rest is posted at the next start"
                );
                self.audit(
                    actor,
                    "interrupted",
                    id,
                    &format!("papercast stopped; {started} of {posts} posts on the server"),
                );
                return Ok(Posting::Interrupted {
                    sent: started,
                    posts: *posts,
                });
            }
            Outcome::Failed { error, .. } => {
                let attempts = draft.post_attempts + 1;
                let max = self.config.daemon.max_post_attempts;
                let next = (attempts < max).then(|| {
                    let wait = self
                        .config
                        .daemon
                        .retry_failed_after()
                        .saturating_mul(1 << (attempts - 1).min(16));
                    Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                });
                store.record_post_attempt(id, next)?;
                let then = match next {
                    Some(at) => format!(
                        "tried again at {}",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    None => format!(
                        "tried {attempts} times; it waits for a moderator to approve it again"
                    ),
                };
                self.audit(actor, "post failed", id, &format!("{error}; {then}"));
                self.notify_failed(draft, error, next);
            }
        }
        Ok(Posting::Ran(report))
    }

    fn audit(&self, actor: &str, action: &str, id: i64, details: &str) {
        let note = AuditNote {
            actor,
            action,
            thread_id: Some(id),
            details,
        };
        if let Err(error) = self.store.audit(&note) {
            tracing::warn!("draft {id}: recording `{action}` in the audit log: {error}");
        }
    }

    /// Posts every draft that is due now (approved, scheduled and due, or a failed one
    /// whose retry is due), one after another, until papercast is asked to stop.
    pub async fn publish_due(&self, actor: &str) -> Vec<(i64, Result<Posting, AppError>)> {
        let due = match queue::due(self.store.as_ref(), Utc::now()) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!("looking for drafts to post: {error}");
                return Vec::new();
            }
        };
        let mut results = Vec::new();
        for draft in due {
            if self.is_stopping() {
                break;
            }
            if self.account(&draft.thread.account).is_none() {
                // Said once per process, not at every round.
                let new = self
                    .unpostable
                    .lock()
                    .map(|mut warned| warned.insert(draft.id))
                    .unwrap_or(false);
                if new {
                    tracing::warn!(
                        "{}",
                        AppError::NoAccount {
                            id: draft.id,
                            account: draft.thread.account.clone()
                        }
                    );
                }
                continue;
            }
            let result = self.post_draft(draft.id, actor).await;
            match &result {
                Ok(Posting::Ran(report)) => log_report(draft.id, report),
                Ok(Posting::Busy { owner }) => {
                    tracing::info!("draft {}: {owner} is posting it", draft.id)
                }
                Ok(Posting::Interrupted { .. }) => {}
                Err(error) => tracing::error!("{error}"),
            }
            results.push((draft.id, result));
        }
        results
    }

    /// When the publisher should look again at the latest (a scheduled time or a retry).
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.store.drafts(crate::store::DraftFilter::Open) {
            Ok(drafts) => queue::next_due(&drafts, now),
            Err(error) => {
                tracing::error!("looking for scheduled drafts: {error}");
                None
            }
        }
    }
}

/// Whether an account's client needs its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// A secret that cannot be read fails that account.
    Required,
    /// A secret that cannot be read is reported, and the client reads only what its
    /// server shows anyone (for a dry run).
    IfReadable,
}

/// A client for each account. A secret that cannot be read fails that account only.
pub fn targets(config: &Config, accounts: &[&AccountConfig], secrets: Secrets) -> Vec<Target> {
    let settings = ClientSettings::from(config);
    accounts
        .iter()
        .map(|account| {
            let secret = match crate::platform::credentials(account) {
                Ok(secret) => Ok(Some(secret)),
                Err(error) if secrets == Secrets::IfReadable => {
                    tracing::warn!("{error}");
                    Ok(None)
                }
                Err(error) => Err(error),
            };
            Target {
                account: account.name.clone(),
                kind: account.platform.kind(),
                platform: secret
                    .and_then(|secret| crate::platform::connect(account, secret, &settings)),
            }
        })
        .collect()
}

fn log_report(id: i64, report: &AccountReport) {
    match &report.outcome {
        Outcome::Posted { link, posts, sent } => tracing::info!(
            "draft {id}: posted to `{}`: {} ({sent} of {posts} posts sent now)",
            report.account,
            link.as_deref().unwrap_or("?")
        ),
        Outcome::AlreadyPosted { link } => tracing::info!(
            "draft {id}: already complete on `{}`: {}",
            report.account,
            link.as_deref().unwrap_or("?")
        ),
        Outcome::Failed { error, .. } => tracing::error!("draft {id}: {error}"),
    }
}

/// This machine's name, as far as it can be told.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .unwrap_or_else(|| "localhost".into())
}

/// Whether the process holding a claim (`host/pid/nonce`) is certainly gone: it ran on
/// this machine and no process has its id now. Without `/proc` nothing is certain.
fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A platform client that refuses to start a new post or upload once papercast is
/// stopping, so that a thread stops between two posts (resumable) rather than in the
/// middle of one; what is already on its way finishes. Everything else is passed on
/// (every method of [`Platform`], so that no default answers in the client's place).
struct Stoppable {
    inner: Arc<dyn Platform>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Stoppable {
    fn check(&self) -> Result<(), PlatformError> {
        if *self.stop.borrow() {
            Err(PlatformError::Unsupported(format!(
                "account `{}`: papercast is stopping; the rest of the thread is posted at \
                 the next start",
                self.inner.account()
            )))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl Platform for Stoppable {
    fn account(&self) -> &str {
        self.inner.account()
    }

    fn kind(&self) -> PlatformKind {
        self.inner.kind()
    }

    fn take_requests(&self) -> u64 {
        self.inner.take_requests()
    }

    fn monthly_post_limit(&self) -> Option<u32> {
        self.inner.monthly_post_limit()
    }

    async fn verify(&self) -> Result<Identity, PlatformError> {
        self.inner.verify().await
    }

    async fn limits(&self) -> Result<ServerLimits, PlatformError> {
        self.inner.limits().await
    }

    async fn upload_media(&self, media: &MediaUpload) -> Result<String, PlatformError> {
        self.check()?;
        self.inner.upload_media(media).await
    }

    async fn post(&self, post: &NewPost<'_>) -> Result<RemotePost, PlatformError> {
        self.check()?;
        self.inner.post(post).await
    }

    async fn find_post(
        &self,
        lookup: &PostLookup<'_>,
    ) -> Result<Option<RemotePost>, PlatformError> {
        self.inner.find_post(lookup).await
    }

    async fn replies(&self, post_id: &str) -> Result<Vec<ServerStatus>, PlatformError> {
        self.inner.replies(post_id).await
    }

    async fn status(&self, id: &str) -> Result<Option<ServerStatus>, PlatformError> {
        self.inner.status(id).await
    }

    async fn statuses(
        &self,
        ids: &[String],
    ) -> Result<Option<std::collections::HashMap<String, ServerStatus>>, PlatformError> {
        self.inner.statuses(ids).await
    }

    async fn engagement(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, crate::model::Engagement)>, PlatformError> {
        self.inner.engagement(ids).await
    }

    async fn mentions(
        &self,
        since: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<Mentions, PlatformError> {
        self.inner.mentions(since, not_before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_on_this_machine_without_a_process_is_gone() {
        let me = format!("{}/{}/ab", host_name(), std::process::id());
        assert!(!holder_is_gone(&me), "this process is alive");
        if std::path::Path::new("/proc/self").exists() {
            // Pids are below 2^22 on Linux: this one cannot exist.
            let dead = format!("{}/{}/ab", host_name(), u32::MAX - 1);
            assert!(holder_is_gone(&dead));
        }
        assert!(!holder_is_gone("elsewhere.example/1/ab"), "another machine");
        assert!(!holder_is_gone("garbage"));
    }
}
