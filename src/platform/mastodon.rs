//! Mastodon-family servers (Mastodon, Pleroma/Akkoma, GoToSocial, Friendica, Firefish,
//! Pixelfed) through `megalodon`, with `reqwest` where megalodon cannot do what is
//! needed (each such place says why).
//!
//! megalodon's HTTP client has no timeout of its own, so every call is wrapped in
//! `tokio::time::timeout`.

use super::{
    Identity, MediaUpload, Mentions, NewPost, Platform, PlatformError, PostLookup, Secret,
    ServerLimits,
};
use crate::config::{AccountConfig, AccountPlatform, TokenSource};
use crate::model::{Engagement, RemotePost, ServerStatus};
use chrono::{DateTime, Utc};
use megalodon::error::Error as MegalodonError;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

pub mod login;

/// The longest part of a server's error body quoted in a message.
const MAX_MESSAGE: usize = 300;

/// Notifications per page (Mastodon's maximum).
const NOTIFICATION_PAGE: usize = 40;

/// At most this many pages of mentions are read per call; the rest wait for the next.
const MAX_MENTION_PAGES: usize = 25;
/// Mastodon reads at most 20 statuses in one `GET /api/v1/statuses`.
const STATUSES_PER_REQUEST: usize = 20;

/// One account on a Mastodon-family server.
pub struct Mastodon {
    account: String,
    base_url: String,
    token: Option<Secret>,
    token_source: TokenSource,
    visibility: &'static str,
    language: Option<String>,
    client: Box<dyn megalodon::Megalodon + Send + Sync>,
    http: reqwest::Client,
    timeout: Duration,
    lookup_limit: u32,
    identity: Mutex<Option<Identity>>,
    /// The server's limits and when they were read: a run reads them once.
    limits: Mutex<Option<(ServerLimits, std::time::Instant)>>,
}

/// How long a server's limits are taken as read: a run (or a day of the daemon's
/// rounds) does not ask again for every draft, and a changed limit is seen within it.
const LIMITS_KEPT: Duration = Duration::from_secs(3600);

impl std::fmt::Debug for Mastodon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mastodon")
            .field("account", &self.account)
            .field("server", &self.base_url)
            .field("token", &self.token)
            .finish()
    }
}

/// How a [`Mastodon`] client behaves, from the configuration.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub lookup_limit: u32,
}

impl From<&crate::config::Config> for ClientSettings {
    fn from(config: &crate::config::Config) -> Self {
        ClientSettings {
            user_agent: config.fetch.user_agent.clone(),
            timeout: Duration::from_secs(config.publish.request_timeout_secs),
            lookup_limit: config.publish.lookup_recent_statuses,
        }
    }
}

/// megalodon's name for a server kind (`None` for a network outside the family).
pub fn sns(platform: AccountPlatform) -> Option<megalodon::SNS> {
    Some(match platform {
        AccountPlatform::Mastodon => megalodon::SNS::Mastodon,
        AccountPlatform::Pleroma => megalodon::SNS::Pleroma,
        AccountPlatform::Gotosocial => megalodon::SNS::Gotosocial,
        AccountPlatform::Friendica => megalodon::SNS::Friendica,
        AccountPlatform::Firefish => megalodon::SNS::Firefish,
        AccountPlatform::Pixelfed => megalodon::SNS::Pixelfed,
        AccountPlatform::Bluesky | AccountPlatform::X => return None,
    })
}

impl Mastodon {
    /// A client for `account`. Without a token it can only read public information
    /// (the server's limits), which is what `--dry-run` needs.
    pub fn new(
        account: &AccountConfig,
        token: Option<Secret>,
        settings: &ClientSettings,
    ) -> Result<Self, PlatformError> {
        let base_url = account.server.trim_end_matches('/').to_owned();
        let setup_error = |reason: String| {
            PlatformError::Unsupported(format!(
                "account `{}`: cannot set up a client for {base_url}: {reason}",
                account.name
            ))
        };
        let sns = sns(account.platform).ok_or_else(|| {
            setup_error(format!(
                "{} is not a Mastodon-family server",
                account.platform.as_str()
            ))
        })?;
        let client = megalodon::generator(
            sns,
            base_url.clone(),
            token.as_ref().map(|t| t.expose().to_owned()),
            Some(settings.user_agent.clone()),
        )
        .map_err(|e| setup_error(e.to_string()))?;
        let http = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| setup_error(e.to_string()))?;
        Ok(Mastodon {
            account: account.name.clone(),
            base_url,
            token,
            token_source: account.token_source(),
            visibility: account.visibility().as_str(),
            language: account.language.clone(),
            client,
            http,
            timeout: settings.timeout,
            lookup_limit: settings.lookup_limit,
            identity: Mutex::new(None),
            limits: Mutex::new(None),
        })
    }

    fn token(&self) -> Result<&Secret, PlatformError> {
        self.token.as_ref().ok_or_else(|| PlatformError::Token {
            account: self.account.clone(),
            reason: format!("{} holds none", self.token_source),
        })
    }

    /// Runs a megalodon call under papercast's timeout and maps its error.
    async fn call<T>(
        &self,
        what: &str,
        future: impl Future<Output = Result<megalodon::response::Response<T>, MegalodonError>>,
    ) -> Result<T, PlatformError> {
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, future).await;
        self.log_time(what, started);
        match result {
            Err(_) => Err(self.timeout_error(what)),
            Ok(Ok(response)) => Ok(response.json),
            Ok(Err(error)) => Err(self.megalodon_error(what, error)),
        }
    }

    /// How long the server took, at debug level: what a run spends waiting on it.
    fn log_time(&self, what: &str, started: std::time::Instant) {
        tracing::debug!(
            server_ms = started.elapsed().as_secs_f64() * 1000.0,
            "account `{}`: {what}",
            self.account
        );
    }

    fn timeout_error(&self, what: &str) -> PlatformError {
        PlatformError::timeout(&self.account, what, self.timeout)
    }

    fn megalodon_error(&self, what: &str, error: MegalodonError) -> PlatformError {
        match error {
            MegalodonError::OwnError(own) => match own.status {
                Some(status) => self.status_error(what, status, own.header.as_ref(), &own.message),
                None => PlatformError::Malformed {
                    account: self.account.clone(),
                    what: what.into(),
                    reason: own.message,
                },
            },
            MegalodonError::RequestError(error) => self.reqwest_error(what, error),
            MegalodonError::JsonError(error) => PlatformError::Malformed {
                account: self.account.clone(),
                what: what.into(),
                reason: error.to_string(),
            },
            other => PlatformError::Transport {
                account: self.account.clone(),
                what: what.into(),
                reason: other.to_string(),
                connect: false,
            },
        }
    }

    fn reqwest_error(&self, what: &str, error: reqwest::Error) -> PlatformError {
        if error.is_decode() {
            PlatformError::Malformed {
                account: self.account.clone(),
                what: what.into(),
                reason: crate::http::root_cause(&error),
            }
        } else {
            PlatformError::from_reqwest(&self.account, what, &self.base_url, self.timeout, error)
        }
    }

    /// Maps an HTTP error answer to what papercast does about it.
    fn status_error(
        &self,
        what: &str,
        status: u16,
        headers: Option<&HeaderMap>,
        body: &str,
    ) -> PlatformError {
        let account = self.account.clone();
        let message = error_message(body);
        if matches!(status, 401 | 403) {
            return PlatformError::Unauthorized {
                account,
                what: what.into(),
                status,
                token_source: self.token_source.to_string(),
            };
        }
        let retry_at = headers.and_then(|h| super::retry_at(h, chrono::Utc::now()));
        let too_long = (status == 422 && is_too_long(&message)).then(|| limit_in(&message));
        PlatformError::from_answer(account, what, status, message, retry_at, too_long)
    }

    /// Sends a request built with `reqwest` and reads its JSON answer.
    async fn send_json<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PlatformError> {
        let exchange = async {
            let response = request
                .send()
                .await
                .map_err(|e| self.reqwest_error(what, e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|e| self.reqwest_error(what, e))?;
            if !status.is_success() {
                return Err(self.status_error(
                    what,
                    status.as_u16(),
                    Some(&headers),
                    &String::from_utf8_lossy(&body),
                ));
            }
            PlatformError::parse_json::<T>(&self.account, what, &body)
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, exchange).await;
        self.log_time(what, started);
        match result {
            Ok(result) => result,
            Err(_) => Err(self.timeout_error(what)),
        }
    }

    async fn identity(&self) -> Result<Identity, PlatformError> {
        if let Some(identity) = self.identity.lock().ok().and_then(|i| i.clone()) {
            return Ok(identity);
        }
        let identity = self.verify().await?;
        if let Ok(mut slot) = self.identity.lock() {
            *slot = Some(identity.clone());
        }
        Ok(identity)
    }

    /// The server's limits as it states them now: v2, else v1.
    async fn read_limits(&self) -> Result<ServerLimits, PlatformError> {
        match self.limits_v2().await {
            Ok(limits) => Ok(limits),
            // Older servers (and some of the family) have only the v1 endpoint.
            Err(PlatformError::Refused {
                status: 404 | 410, ..
            })
            | Err(PlatformError::Malformed { .. }) => {
                let instance = self
                    .call("reading the server's limits", self.client.get_instance())
                    .await?;
                let statuses = instance.configuration.statuses;
                let defaults = ServerLimits::mastodon_defaults();
                Ok(ServerLimits {
                    max_characters: statuses.max_characters as usize,
                    characters_reserved_per_url: statuses
                        .characters_reserved_per_url
                        .map_or(defaults.characters_reserved_per_url, |n| n as usize),
                    max_media_attachments: statuses
                        .max_media_attachments
                        .map_or(defaults.max_media_attachments, |n| n as usize),
                    ..defaults
                })
            }
            Err(error) => Err(error),
        }
    }

    /// The server's limits from `/api/v2/instance`, called with `reqwest` because
    /// megalodon 1.3 only reads `/api/v1/instance`, which lacks the media limits.
    async fn limits_v2(&self) -> Result<ServerLimits, PlatformError> {
        let request = self.http.get(format!("{}/api/v2/instance", self.base_url));
        let instance: InstanceV2 = self
            .send_json("reading the server's limits", request)
            .await?;
        let defaults = ServerLimits::mastodon_defaults();
        let statuses = instance.configuration.statuses;
        let media = instance.configuration.media_attachments;
        Ok(ServerLimits {
            max_characters: statuses.max_characters.unwrap_or(defaults.max_characters),
            characters_reserved_per_url: statuses
                .characters_reserved_per_url
                .unwrap_or(defaults.characters_reserved_per_url),
            max_media_attachments: statuses
                .max_media_attachments
                .unwrap_or(defaults.max_media_attachments),
            image_size_limit: media.image_size_limit,
            description_limit: media
                .description_limit
                .unwrap_or(defaults.description_limit),
            supported_mime_types: media.supported_mime_types,
        })
    }

    /// One page of mention notifications, newest first, as `reqwest` reads them:
    /// megalodon's `get_notifications` cannot ask for `types[]=mention` (only
    /// `exclude_types`), and it fails the whole page on a notification type it does not
    /// know (`severed_relationships`, `moderation_warning`, `annual_report`, ...), which
    /// current servers send.
    async fn mention_page(
        &self,
        token: &Secret,
        cursor: Option<(&str, &str)>,
    ) -> Result<Vec<NotificationJson>, PlatformError> {
        let mut query = vec![
            ("types[]", "mention".to_owned()),
            ("limit", NOTIFICATION_PAGE.to_string()),
        ];
        if let Some((name, id)) = cursor {
            query.push((name, id.to_owned()));
        }
        let request = self
            .http
            .get(format!("{}/api/v1/notifications", self.base_url))
            .bearer_auth(token.expose())
            .query(&query);
        self.send_json("reading the account's mentions", request)
            .await
    }

    /// The counts of these statuses: `GET /api/v1/statuses?id[]=…` (Mastodon 4.3 and
    /// later, 20 a request), or one by one where a server does not know it.
    async fn counts(
        &self,
        token: &Secret,
        ids: &[String],
    ) -> Result<Vec<(String, Engagement)>, PlatformError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(STATUSES_PER_REQUEST) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|id| ("id[]", id.as_str())).collect();
            let request = self
                .http
                .get(format!("{}/api/v1/statuses", self.base_url))
                .bearer_auth(token.expose())
                .query(&query);
            let page: Vec<CountsJson> =
                match self.send_json("reading the thread's counts", request).await {
                    Ok(page) => page,
                    Err(PlatformError::Refused {
                        status: 400 | 404 | 405 | 422,
                        ..
                    }) => {
                        let mut one_by_one = Vec::new();
                        for id in chunk {
                            let request = self
                                .http
                                .get(format!("{}/api/v1/statuses/{id}", self.base_url))
                                .bearer_auth(token.expose());
                            match self.send_json("reading a post's counts", request).await {
                                Ok(counts) => one_by_one.push(counts),
                                Err(PlatformError::Refused {
                                    status: 404 | 410, ..
                                }) => {}
                                Err(error) => return Err(error),
                            }
                        }
                        one_by_one
                    }
                    Err(error) => return Err(error),
                };
            found.extend(page.into_iter().map(|c| {
                let counts = Engagement {
                    replies: c.replies_count,
                    reposts: c.reblogs_count,
                    likes: c.favourites_count,
                    quotes: c.quotes_count,
                };
                (c.id, counts)
            }));
        }
        Ok(found)
    }

    /// Own statuses and replies in the thread that match `lookup`, oldest first.
    fn matches(
        &self,
        me: &Identity,
        statuses: Vec<megalodon::entities::Status>,
        lookup: &PostLookup<'_>,
    ) -> Vec<megalodon::entities::Status> {
        let wanted = squash(lookup.text);
        let mut found: Vec<_> = statuses
            .into_iter()
            .filter(|s| s.account.id == me.id)
            .filter(|s| s.in_reply_to_id.as_deref() == lookup.in_reply_to)
            .filter(|s| !lookup.exclude.contains(&s.id))
            .filter(|s| lookup.not_before.is_none_or(|t| s.created_at >= t))
            .filter(|s| squash(&html_text(&s.content)) == wanted)
            .collect();
        found.sort_by_key(|s| s.created_at);
        found
    }
}

/// Most pages of the account's statuses one look-up reads.
const LOOKUP_PAGES: usize = 10;

#[async_trait::async_trait]
impl Platform for Mastodon {
    fn account(&self) -> &str {
        &self.account
    }

    fn kind(&self) -> crate::model::PlatformKind {
        crate::model::PlatformKind::Mastodon
    }

    async fn verify(&self) -> Result<Identity, PlatformError> {
        self.token()?;
        let account = self
            .call(
                "checking the account's credentials",
                self.client.verify_account_credentials(),
            )
            .await?;
        Ok(Identity {
            id: account.id,
            handle: format!("@{}", account.acct),
            url: Some(account.url),
        })
    }

    async fn limits(&self) -> Result<ServerLimits, PlatformError> {
        let kept = self.limits.lock().ok().and_then(|kept| kept.clone());
        if let Some((limits, read_at)) = kept {
            if read_at.elapsed() < LIMITS_KEPT {
                return Ok(limits);
            }
        }
        let limits = self.read_limits().await?;
        if let Ok(mut kept) = self.limits.lock() {
            *kept = Some((limits.clone(), std::time::Instant::now()));
        }
        Ok(limits)
    }

    async fn upload_media(&self, media: &MediaUpload) -> Result<String, PlatformError> {
        self.token()?;
        let what = format!("uploading {}", media.file_name);
        let options = megalodon::megalodon::UploadMediaInputOptions {
            description: Some(media.description.clone()),
            focus: None,
        };
        // megalodon takes the MIME type from this name's extension.
        let reader = Box::new(std::io::Cursor::new(media.bytes.clone()));
        let uploaded = self
            .call(
                &what,
                self.client.upload_media_reader(
                    reader,
                    Some(&options),
                    Some(media.file_name.clone()),
                ),
            )
            .await?;
        Ok(match uploaded {
            megalodon::entities::UploadMedia::Attachment(a) => a.id,
            megalodon::entities::UploadMedia::AsyncAttachment(a) => a.id,
        })
    }

    async fn post(&self, post: &NewPost<'_>) -> Result<RemotePost, PlatformError> {
        let token = self.token()?;
        // Sent with reqwest: megalodon's post_status cannot add the Idempotency-Key
        // header, and that header is what makes a retry after a lost answer safe.
        let mut body = serde_json::json!({
            "status": post.text,
            "visibility": self.visibility,
        });
        if let Some(parent) = post.in_reply_to {
            body["in_reply_to_id"] = parent.into();
        }
        if !post.media_ids.is_empty() {
            body["media_ids"] = post.media_ids.into();
        }
        if let Some(language) = &self.language {
            body["language"] = language.as_str().into();
        }
        let request = self
            .http
            .post(format!("{}/api/v1/statuses", self.base_url))
            .bearer_auth(token.expose())
            .header("Idempotency-Key", post.idempotency_key)
            .json(&body);
        let status: PostedStatus = self.send_json("posting", request).await?;
        if status.id.is_empty() {
            return Err(PlatformError::Malformed {
                account: self.account.clone(),
                what: "posting".into(),
                reason: "the answer has no status id".into(),
            });
        }
        // A server that keys idempotency on the key alone returns an earlier status
        // for a reused key: that is not this post, and must not be reported as sent.
        let other = |reason: String| PlatformError::OtherStatus {
            account: self.account.clone(),
            reason,
        };
        if status.in_reply_to_id.as_deref() != post.in_reply_to {
            return Err(other(format!(
                "status {} replies to {}, the post was sent as a reply to {}",
                status.id,
                status.in_reply_to_id.as_deref().unwrap_or("nothing"),
                post.in_reply_to.unwrap_or("nothing")
            )));
        }
        if let Some(content) = status.content.as_deref().filter(|c| !c.is_empty()) {
            if squash(&html_text(content)) != squash(post.text) {
                return Err(other(format!(
                    "status {} has other text than the post sent",
                    status.id
                )));
            }
        }
        Ok(RemotePost {
            id: status.id,
            url: status.url.or(status.uri),
        })
    }

    async fn find_post(
        &self,
        lookup: &PostLookup<'_>,
    ) -> Result<Option<RemotePost>, PlatformError> {
        let me = self.identity().await?;
        let what = "looking for a post whose fate is unknown";
        // A reply shows in its parent's context even when the account has posted a lot
        // since; the recent statuses cover the head post (and servers without context).
        if let Some(parent) = lookup.in_reply_to {
            let context = self
                .call(
                    what,
                    self.client.get_status_context(parent.to_owned(), None),
                )
                .await?;
            if let Some(status) = self
                .matches(&me, context.descendants, lookup)
                .into_iter()
                .next()
            {
                return Ok(Some(remote(status)));
            }
        }
        // Page back through the account's statuses until the time of the first attempt
        // (the post cannot be older), so that an account that posted a lot since is
        // still searched far enough; bounded, so that a server ignoring `max_id` cannot
        // keep us paging.
        let mut found = Vec::new();
        let mut max_id: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            let options = megalodon::megalodon::GetAccountStatusesInputOptions {
                limit: Some(self.lookup_limit),
                max_id: max_id.clone(),
                ..Default::default()
            };
            let statuses = self
                .call(
                    what,
                    self.client
                        .get_account_statuses(me.id.clone(), Some(&options)),
                )
                .await?;
            let oldest = statuses.iter().min_by_key(|s| s.created_at).cloned();
            let last_id = statuses.last().map(|s| s.id.clone());
            found.extend(self.matches(&me, statuses, lookup));
            let Some(oldest) = oldest else { break };
            let reached_start = lookup.not_before.is_none_or(|t| oldest.created_at < t);
            if reached_start || last_id.is_none() || last_id == max_id {
                break;
            }
            max_id = last_id;
        }
        found.sort_by_key(|s| s.created_at);
        found.dedup_by(|a, b| a.id == b.id);
        if found.len() > 1 {
            tracing::warn!(
                "account `{}`: {} posts with the same text exist; keeping the oldest",
                self.account,
                found.len()
            );
        }
        Ok(found.into_iter().next().map(remote))
    }

    async fn replies(&self, post_id: &str) -> Result<Vec<ServerStatus>, PlatformError> {
        self.token()?;
        // One `context` call returns the whole tree under a post. Mastodon caps it
        // (4,096 descendants for a logged-in caller); the caller fills any gap.
        let context = self
            .call(
                &format!("reading the replies to post {post_id}"),
                self.client.get_status_context(post_id.to_owned(), None),
            )
            .await?;
        Ok(context.descendants.into_iter().map(server_status).collect())
    }

    async fn engagement(&self, ids: &[String]) -> Result<Vec<(String, Engagement)>, PlatformError> {
        let token = self.token()?;
        self.counts(token, ids).await
    }

    async fn status(&self, id: &str) -> Result<Option<ServerStatus>, PlatformError> {
        self.token()?;
        match self
            .call(
                &format!("reading status {id}"),
                self.client.get_status(id.to_owned()),
            )
            .await
        {
            Ok(status) => Ok(Some(server_status(status))),
            Err(PlatformError::Refused {
                status: 404 | 410, ..
            }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn mentions(
        &self,
        since: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<Mentions, PlatformError> {
        let token = self.token()?;
        let mut notifications: Vec<NotificationJson> = Vec::new();
        let mut newest = since.map(str::to_owned);
        match since {
            // Forward from the cursor: `min_id` gives the page just after it.
            Some(since) => {
                let mut after = since.to_owned();
                for _ in 0..MAX_MENTION_PAGES {
                    let page = self
                        .mention_page(token, Some(("min_id", after.as_str())))
                        .await?;
                    let full = page.len() >= NOTIFICATION_PAGE;
                    let Some(top) = page
                        .iter()
                        .map(|n| n.id.clone())
                        .max_by(|a, b| id_order(a, b))
                    else {
                        break;
                    };
                    if id_order(&top, &after).is_le() {
                        break;
                    }
                    after = top.clone();
                    newest = Some(top);
                    notifications.extend(page);
                    if !full {
                        break;
                    }
                }
            }
            // A first read: back from the newest until `not_before`.
            None => {
                let mut before: Option<String> = None;
                for _ in 0..MAX_MENTION_PAGES {
                    let cursor = before.as_deref().map(|id| ("max_id", id));
                    let page = self.mention_page(token, cursor).await?;
                    let full = page.len() >= NOTIFICATION_PAGE;
                    let Some(bottom) = page
                        .iter()
                        .map(|n| n.id.clone())
                        .min_by(|a, b| id_order(a, b))
                    else {
                        break;
                    };
                    if newest.is_none() {
                        newest = page
                            .iter()
                            .map(|n| n.id.clone())
                            .max_by(|a, b| id_order(a, b));
                    }
                    let reached = page.iter().any(|n| {
                        n.status.as_ref().is_some_and(|s| {
                            DateTime::parse_from_rfc3339(&s.created_at)
                                .is_ok_and(|t| t.with_timezone(&Utc) < not_before)
                        })
                    });
                    before = Some(bottom);
                    notifications.extend(page);
                    if !full || reached {
                        break;
                    }
                }
            }
        }
        notifications.sort_by(|a, b| id_order(&a.id, &b.id));
        let mut seen = std::collections::HashSet::new();
        let statuses = notifications
            .into_iter()
            // A server that ignores `types[]` sends every kind.
            .filter(|n| n.kind == "mention")
            .filter_map(|n| n.status.and_then(StatusJson::into_status))
            .filter(|s| seen.insert(s.id.clone()))
            .collect();
        Ok(Mentions { statuses, newest })
    }
}

/// `@user@server` from an account's `acct` (`user` for the server's own accounts) and
/// its profile URL.
fn full_handle(acct: &str, profile_url: &str) -> String {
    let acct = acct.trim_start_matches('@');
    if acct.contains('@') {
        return format!("@{acct}");
    }
    let host = url::Url::parse(profile_url).ok().and_then(|url| {
        url.host_str().map(|host| match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    });
    match host {
        Some(host) => format!("@{acct}@{host}"),
        None => format!("@{acct}"),
    }
}

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|t| !t.trim().is_empty())
}

fn server_status(status: megalodon::entities::Status) -> ServerStatus {
    let account = status.account;
    ServerStatus {
        author_handle: full_handle(&account.acct, &account.url),
        author_id: account.id,
        author_name: account.display_name,
        author_url: account.url,
        author_avatar: non_empty(account.avatar_static).or_else(|| non_empty(account.avatar)),
        author_bot: account.bot,
        id: status.id,
        in_reply_to: status.in_reply_to_id,
        url: status.url.unwrap_or(status.uri),
        visibility: status.visibility.to_string(),
        created_at: status.created_at,
        edited_at: status.edited_at,
        content_html: status.content,
        spoiler_text: status.spoiler_text,
    }
}

/// Orders server ids: numeric ones (Mastodon's) by value, others as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn remote(status: megalodon::entities::Status) -> RemotePost {
    RemotePost {
        id: status.id,
        url: status.url.or(Some(status.uri)),
    }
}

/// A status's counts; Mastodon before 4.5 has no `quotes_count`, and a server of the
/// family may leave any of them out.
#[derive(Deserialize)]
struct CountsJson {
    id: String,
    replies_count: Option<u64>,
    reblogs_count: Option<u64>,
    favourites_count: Option<u64>,
    quotes_count: Option<u64>,
}

/// A notification, read leniently: only what papercast uses, every field optional
/// where servers of the family differ.
#[derive(Deserialize)]
struct NotificationJson {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    status: Option<StatusJson>,
}

#[derive(Deserialize)]
struct StatusJson {
    id: String,
    #[serde(default)]
    uri: String,
    url: Option<String>,
    in_reply_to_id: Option<String>,
    account: AccountJson,
    #[serde(default)]
    visibility: String,
    created_at: String,
    edited_at: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
}

#[derive(Deserialize)]
struct AccountJson {
    id: String,
    acct: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    url: String,
    avatar_static: Option<String>,
    avatar: Option<String>,
    #[serde(default)]
    bot: bool,
}

impl StatusJson {
    fn into_status(self) -> Option<ServerStatus> {
        let time = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let account = self.account;
        Some(ServerStatus {
            created_at: time(&self.created_at)?,
            edited_at: self.edited_at.as_deref().and_then(time),
            author_handle: full_handle(&account.acct, &account.url),
            author_id: account.id,
            author_name: account.display_name,
            author_url: account.url,
            author_avatar: account
                .avatar_static
                .and_then(non_empty)
                .or_else(|| account.avatar.and_then(non_empty)),
            author_bot: account.bot,
            url: self.url.unwrap_or(self.uri),
            id: self.id,
            in_reply_to: self.in_reply_to_id,
            visibility: self.visibility,
            content_html: self.content,
            spoiler_text: self.spoiler_text,
        })
    }
}

#[derive(Deserialize)]
struct PostedStatus {
    #[serde(default)]
    id: String,
    url: Option<String>,
    uri: Option<String>,
    in_reply_to_id: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct InstanceV2 {
    #[serde(default)]
    configuration: InstanceConfiguration,
}

#[derive(Deserialize, Default)]
struct InstanceConfiguration {
    #[serde(default)]
    statuses: StatusLimits,
    #[serde(default)]
    media_attachments: MediaLimits,
}

#[derive(Deserialize, Default)]
struct StatusLimits {
    max_characters: Option<usize>,
    characters_reserved_per_url: Option<usize>,
    max_media_attachments: Option<usize>,
}

#[derive(Deserialize, Default)]
struct MediaLimits {
    image_size_limit: Option<u64>,
    description_limit: Option<usize>,
    #[serde(default)]
    supported_mime_types: Vec<String>,
}

/// The `error` of a Mastodon error body, or the body itself, shortened.
fn error_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned());
    if message.is_empty() {
        return "no details".into();
    }
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

fn is_too_long(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("too long") || (lower.contains("character") && lower.contains("limit"))
}

/// The number in "(maximum is 500 characters)" and similar.
fn limit_in(message: &str) -> Option<usize> {
    super::number_after(message, "maximum is ")
}

/// The visible text of a status's HTML `content`.
fn html_text(html: &str) -> String {
    let fragment = scraper::Html::parse_fragment(html);
    fragment.root_element().text().collect()
}

/// Text with all white space removed: servers turn line breaks into `<br>` and `<p>`,
/// so only the characters themselves can be compared.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_content_matches_the_text_that_was_sent() {
        let sent = "September Papers: LLMs & more\n\nRead it: https://graphcore-research.github.io/2025-10-07-potm/";
        let content = "<p>September Papers: LLMs &amp; more</p><p>Read it: <a href=\"https://graphcore-research.github.io/2025-10-07-potm/\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">graphcore-research.github.io/2</span><span class=\"invisible\">025-10-07-potm/</span></a></p>";
        assert_eq!(squash(&html_text(content)), squash(sent));
        assert_ne!(squash(&html_text("<p>other</p>")), squash(sent));
    }

    #[test]
    fn length_errors_are_recognised_with_their_limit() {
        let message = error_message(
            r#"{"error":"Validation failed: Text is too long (maximum is 500 characters)"}"#,
        );
        assert!(is_too_long(&message));
        assert_eq!(limit_in(&message), Some(500));
        assert!(!is_too_long("Validation failed: Text can't be blank"));
        assert_eq!(limit_in("too long"), None);
    }

    #[test]
    fn error_bodies_are_shortened() {
        assert_eq!(error_message(""), "no details");
        assert_eq!(
            error_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        let long = "x".repeat(1000);
        assert_eq!(error_message(&long).chars().count(), MAX_MESSAGE + 1);
    }
}
