//! X accounts through X's API v2 over `reqwest`: posts chained with
//! `reply.in_reply_to_tweet_id`, images with alt text, replies from recent search, and
//! OAuth 2.0 user tokens refreshed before they expire.
//!
//! Exactly once: X has no idempotency key, so a post whose fate is unknown is found
//! again among the account's own recent posts (`GET /2/users/:id/tweets`) by its text
//! and its reply parent. X refuses an exact repeat of a recent post with 403
//! "duplicate content"; that means the post may exist, so it is reported as
//! [`PlatformError::Duplicate`], which the publisher answers with a look-up, never
//! with success or a changed text.
//!
//! Tokens: `token_env` holds a plain access token. `token_file` holds what
//! `papercast accounts login` wrote ([`TokenFile`]); an access token close to its expiry
//! (or refused) is refreshed, and since X rotates the refresh token on every refresh,
//! the new pair is written to the file (0600, temp file and rename) before it is used.

use super::{
    Identity, MediaUpload, Mentions, NewPost, Platform, PlatformError, PlatformKind, PostLookup,
    Secret, ServerLimits,
};
use crate::config::{AccountConfig, TokenSource};
use crate::model::{RemotePost, ServerStatus};
use crate::platform::mastodon::ClientSettings;
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

pub mod login;

/// X's limit on a post's weighted length (twitter-text v3).
const MAX_WEIGHTED: usize = 280;
/// What every URL counts for, whatever its length (t.co).
const URL_WEIGHT: usize = 23;
const MAX_IMAGES: usize = 4;
/// `tweet_image` uploads are at most 5 MB.
const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// X's limit for alt text.
const MAX_ALT: usize = 1000;
/// The longest part of a server's error body quoted in a message.
const MAX_MESSAGE: usize = 300;
/// An access token is refreshed when it has less than this left.
const REFRESH_AHEAD: chrono::Duration = chrono::Duration::minutes(5);
/// At most this many pages of the account's posts are read to find a lost post.
const LOOKUP_PAGES: usize = 10;
/// At most this many pages of a search are read per call.
const SEARCH_PAGES: usize = 10;
/// The fields asked for on every post read.
const POST_FIELDS: &str = "author_id,conversation_id,created_at,referenced_tweets";
const USER_FIELDS: &str = "username,name,profile_image_url";

/// What `papercast accounts login` writes to an X account's `token_file`.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenFile {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scope: String,
}

impl TokenFile {
    /// A token file's text, or (for `token_env`, or a file holding a bare token) a
    /// plain access token with no refresh.
    pub fn parse(text: &str) -> TokenFile {
        match serde_json::from_str::<TokenFile>(text.trim()) {
            Ok(file) => file,
            Err(_) => TokenFile {
                access_token: text.trim().to_owned(),
                refresh_token: None,
                expires_at: None,
                scope: String::new(),
            },
        }
    }

    fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        self.refresh_token.is_some() && self.expires_at.is_some_and(|t| t - REFRESH_AHEAD <= now)
    }
}

/// The answer of X's token endpoint.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub scope: String,
}

impl TokenAnswer {
    pub(crate) fn into_file(self, now: DateTime<Utc>) -> TokenFile {
        TokenFile {
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            expires_at: self
                .expires_in
                .and_then(chrono::Duration::try_seconds)
                .map(|d| now + d),
            scope: self.scope,
        }
    }
}

/// One X account.
pub struct X {
    account: String,
    base_url: String,
    token: Mutex<Option<TokenFile>>,
    token_source: TokenSource,
    client_id_env: Option<String>,
    http: reqwest::Client,
    timeout: Duration,
    lookup_limit: u32,
    identity: Mutex<Option<Identity>>,
    /// Requests sent since they were last taken, for the account's monthly usage.
    requests: std::sync::atomic::AtomicU64,
    monthly_post_limit: Option<u32>,
    /// What X's last answer to a post said of the posting window: requests left and
    /// when it resets. A post is not sent into a window known to be spent.
    post_window: Mutex<Option<(u64, DateTime<Utc>)>>,
}

impl std::fmt::Debug for X {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X")
            .field("account", &self.account)
            .field("server", &self.base_url)
            .field("token_source", &self.token_source)
            .finish()
    }
}

/// An HTTP answer, before it is judged.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl X {
    /// A client for `account`. Without a token it can only tell the (fixed) limits,
    /// which is what `--dry-run` needs.
    pub fn new(
        account: &AccountConfig,
        token: Option<Secret>,
        settings: &ClientSettings,
    ) -> Result<Self, PlatformError> {
        let base_url = account.server.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| {
                PlatformError::Unsupported(format!(
                    "account `{}`: cannot set up a client for {base_url}: {e}",
                    account.name
                ))
            })?;
        Ok(X {
            account: account.name.clone(),
            base_url,
            token: Mutex::new(token.map(|t| TokenFile::parse(t.expose()))),
            token_source: account.token_source(),
            client_id_env: account.client_id_env().map(str::to_owned),
            http,
            timeout: settings.timeout,
            lookup_limit: settings.lookup_limit.clamp(5, 100),
            identity: Mutex::new(None),
            requests: std::sync::atomic::AtomicU64::new(0),
            monthly_post_limit: account.monthly_post_limit(),
            post_window: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn current_token(&self) -> Result<TokenFile, PlatformError> {
        self.token
            .lock()
            .ok()
            .and_then(|t| t.clone())
            .ok_or_else(|| PlatformError::Token {
                account: self.account.clone(),
                reason: format!("{} holds none", self.token_source),
            })
    }

    fn login_hint(&self) -> String {
        format!("run `papercast accounts login {}`", self.account)
    }

    fn client_id(&self) -> Result<String, PlatformError> {
        let missing = |reason: String| PlatformError::Token {
            account: self.account.clone(),
            reason,
        };
        let name = self.client_id_env.as_deref().ok_or_else(|| {
            missing(
                "the access token needs refreshing, and refreshing needs the X app's client \
                 id: set client_id_env in the account"
                    .into(),
            )
        })?;
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                missing(format!(
                    "the environment variable {name} (client_id_env) is not set; set it to \
                     the X app's OAuth 2.0 client id"
                ))
            })
    }

    /// A fresh access token for `stale` from its refresh token, saved to the token file
    /// before it is used: the old refresh token stops working the moment X answers.
    async fn refresh(&self, stale: &TokenFile) -> Result<TokenFile, PlatformError> {
        if let Ok(current) = self.current_token() {
            if current.access_token != stale.access_token {
                return Ok(current);
            }
        }
        let what = "refreshing the access token";
        let refresh = stale
            .refresh_token
            .clone()
            .ok_or_else(|| PlatformError::Token {
                account: self.account.clone(),
                reason: format!(
                    "the access token in {} has expired and there is no refresh token; {}",
                    self.token_source,
                    self.login_hint()
                ),
            })?;
        let TokenSource::File(path) = &self.token_source else {
            return Err(PlatformError::Token {
                account: self.account.clone(),
                reason: format!(
                    "a token from {} cannot be refreshed (nowhere to keep the new one); set \
                     token_file and {}",
                    self.token_source,
                    self.login_hint()
                ),
            });
        };
        let client_id = self.client_id()?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ];
        let request = self.http.post(self.url("/2/oauth2/token")).form(&form);
        let answer = self.exchange(what, request).await?;
        if matches!(answer.status.as_u16(), 400 | 401) {
            return Err(PlatformError::Token {
                account: self.account.clone(),
                reason: format!(
                    "X refused the refresh token in {} ({}); {}",
                    self.token_source,
                    error_message(&answer.body),
                    self.login_hint()
                ),
            });
        }
        let fresh: TokenAnswer = self.judge(what, answer)?;
        let mut fresh = fresh.into_file(Utc::now());
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh);
        }
        save_token(path, &fresh).map_err(|e| PlatformError::Token {
            account: self.account.clone(),
            reason: format!(
                "X issued a new token but it could not be saved to {} ({e}); the old refresh \
                 token no longer works, so {}",
                path.display(),
                self.login_hint()
            ),
        })?;
        tracing::info!(
            "account `{}`: refreshed the access token (saved to {})",
            self.account,
            path.display()
        );
        if let Ok(mut slot) = self.token.lock() {
            *slot = Some(fresh.clone());
        }
        Ok(fresh)
    }

    /// Sends a request and reads the whole answer, under papercast's timeout.
    async fn exchange(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, PlatformError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
                .map_err(|e| self.reqwest_error(what, e))?
                .to_vec();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, exchange).await;
        tracing::debug!(
            server_ms = started.elapsed().as_secs_f64() * 1000.0,
            "account `{}`: {what}",
            self.account
        );
        match result {
            Ok(result) => result,
            Err(_) => Err(self.timeout_error(what)),
        }
    }

    /// Sends an authenticated request built by `build`, refreshing the token first
    /// when it is about to expire, and once more when X refuses it (a refused token
    /// means the request did nothing, so repeating it is safe).
    async fn authed(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, PlatformError> {
        let mut token = self.current_token()?;
        if token.needs_refresh(Utc::now()) {
            token = self.refresh(&token).await?;
        }
        let answer = self
            .exchange(what, build(&self.http).bearer_auth(&token.access_token))
            .await?;
        if answer.status != StatusCode::UNAUTHORIZED || token.refresh_token.is_none() {
            return Ok(answer);
        }
        let token = self.refresh(&token).await?;
        self.exchange(what, build(&self.http).bearer_auth(&token.access_token))
            .await
    }

    async fn authed_json<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, PlatformError> {
        let answer = self.authed(what, build).await?;
        self.judge(what, answer)
    }

    /// The JSON of a successful answer, or the error it means.
    fn judge<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        answer: Answer,
    ) -> Result<T, PlatformError> {
        if !answer.status.is_success() {
            return Err(self.status_error(what, &answer));
        }
        PlatformError::parse_json(&self.account, what, &answer.body)
    }

    fn timeout_error(&self, what: &str) -> PlatformError {
        PlatformError::timeout(&self.account, what, self.timeout)
    }

    fn reqwest_error(&self, what: &str, error: reqwest::Error) -> PlatformError {
        PlatformError::from_reqwest(&self.account, what, &self.base_url, self.timeout, error)
    }

    /// Maps an X error answer to what papercast does about it.
    fn status_error(&self, what: &str, answer: &Answer) -> PlatformError {
        let status = answer.status.as_u16();
        let message = error_message(&answer.body);
        let account = self.account.clone();
        if status == 401 {
            return PlatformError::Unauthorized {
                account,
                what: what.into(),
                status,
                token_source: self.token_source.to_string(),
            };
        }
        let code = error_code(&answer.body);
        if status == 403 && (code == Some(187) || message.to_lowercase().contains("duplicate")) {
            return PlatformError::Duplicate {
                account,
                what: what.into(),
            };
        }
        let retry_at = super::retry_at(&answer.headers, Utc::now());
        let too_long = (matches!(status, 400 | 403)
            && (code == Some(186) || message.to_lowercase().contains("too long")))
        .then_some(Some(MAX_WEIGHTED));
        PlatformError::from_answer(account, what, status, message, retry_at, too_long)
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

    fn remote(&self, me: &Identity, id: &str) -> RemotePost {
        RemotePost {
            id: id.to_owned(),
            url: Some(post_url(me.handle.trim_start_matches('@'), id)),
        }
    }

    /// Pages of posts from `path` with `query`, following `next_token`, until `enough`
    /// says so or `pages` pages were read.
    async fn pages(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
        pages: usize,
        mut enough: impl FnMut(&[PostJson]) -> bool,
    ) -> Result<(Vec<PostJson>, Vec<UserJson>), PlatformError> {
        let url = self.url(path);
        let mut posts = Vec::new();
        let mut users = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..pages {
            let mut query = query.to_vec();
            if let Some(token) = &next {
                let name = if path.contains("/search/") {
                    "next_token"
                } else {
                    "pagination_token"
                };
                query.push((name, token.clone()));
            }
            let page: Page = self
                .authed_json(what, |http| http.get(&url).query(&query))
                .await?;
            let stop = enough(&page.data);
            posts.extend(page.data);
            users.extend(page.includes.users);
            next = page.meta.next_token;
            if stop || next.is_none() {
                break;
            }
        }
        Ok((posts, users))
    }
}

/// Writes a token file (0600, temp file and rename) through [`Secret::save`].
pub fn save_token(path: &std::path::Path, token: &TokenFile) -> std::io::Result<()> {
    let text = serde_json::to_string(token).map_err(std::io::Error::other)?;
    Secret::save(path, &text)
}

/// `x-rate-limit-remaining` and `x-rate-limit-reset` (epoch seconds) of an answer.
fn rate_window(headers: &HeaderMap) -> Option<(u64, DateTime<Utc>)> {
    let value = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
    let remaining = u64::try_from(value("x-rate-limit-remaining")?).ok()?;
    let reset = DateTime::from_timestamp(value("x-rate-limit-reset")?, 0)?;
    Some((remaining, reset))
}

/// A post's address on x.com.
fn post_url(username: &str, id: &str) -> String {
    format!("https://x.com/{username}/status/{id}")
}

#[async_trait::async_trait]
impl Platform for X {
    fn account(&self) -> &str {
        &self.account
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::X
    }

    fn take_requests(&self) -> u64 {
        self.requests.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    fn monthly_post_limit(&self) -> Option<u32> {
        self.monthly_post_limit
    }

    async fn verify(&self) -> Result<Identity, PlatformError> {
        let what = "checking the token (GET /2/users/me)";
        let url = self.url("/2/users/me");
        let me: One<UserJson> = self.authed_json(what, |http| http.get(&url)).await?;
        let me = me.data.ok_or_else(|| PlatformError::Malformed {
            account: self.account.clone(),
            what: what.into(),
            reason: "no user in the answer".into(),
        })?;
        Ok(Identity {
            url: Some(format!("https://x.com/{}", me.username)),
            handle: format!("@{}", me.username),
            id: me.id,
        })
    }

    async fn limits(&self) -> Result<ServerLimits, PlatformError> {
        // X's limits are fixed, not told by the API.
        Ok(ServerLimits {
            max_characters: MAX_WEIGHTED,
            characters_reserved_per_url: URL_WEIGHT,
            max_media_attachments: MAX_IMAGES,
            image_size_limit: Some(MAX_IMAGE_BYTES),
            description_limit: MAX_ALT,
            supported_mime_types: ["image/png", "image/jpeg", "image/gif", "image/webp"]
                .map(String::from)
                .to_vec(),
        })
    }

    async fn upload_media(&self, media: &MediaUpload) -> Result<String, PlatformError> {
        let what = format!("uploading {}", media.file_name);
        let url = self.url("/2/media/upload");
        // JSON with base64 `media`: X takes it as well as multipart, and it survives
        // proxies that re-encode binary multipart parts.
        let body = json!({
            "media": base64::engine::general_purpose::STANDARD.encode(&media.bytes),
            "media_category": "tweet_image",
        });
        let uploaded: One<MediaJson> = self
            .authed_json(&what, |http| http.post(&url).json(&body))
            .await?;
        let id = uploaded
            .data
            .map(|m| m.id)
            .ok_or_else(|| PlatformError::Malformed {
                account: self.account.clone(),
                what: what.clone(),
                reason: "no media id in the answer".into(),
            })?;
        let alt: String = media.description.chars().take(MAX_ALT).collect();
        if !alt.trim().is_empty() {
            let what = format!("setting the alt text of {}", media.file_name);
            let url = self.url("/2/media/metadata");
            let body = json!({"id": id, "metadata": {"alt_text": {"text": alt}}});
            let _: Value = self
                .authed_json(&what, |http| http.post(&url).json(&body))
                .await?;
        }
        Ok(id)
    }

    async fn post(&self, post: &NewPost<'_>) -> Result<RemotePost, PlatformError> {
        let me = self.identity().await?;
        let what = "posting";
        let url = self.url("/2/tweets");
        let mut body = json!({"text": post.text});
        if let Some(parent) = post.in_reply_to {
            body["reply"] = json!({"in_reply_to_tweet_id": parent});
        }
        if !post.media_ids.is_empty() {
            let ids: Vec<&String> = post.media_ids.iter().take(MAX_IMAGES).collect();
            body["media"] = json!({"media_ids": ids});
        }
        let spent_until = self
            .post_window
            .lock()
            .ok()
            .and_then(|w| *w)
            .filter(|(remaining, reset)| {
                *remaining == 0 && *reset + chrono::Duration::seconds(1) > Utc::now()
            })
            // The header has whole seconds; the window may end within the next one.
            .map(|(_, reset)| reset + chrono::Duration::seconds(1));
        if let Some(reset) = spent_until {
            // Nothing is sent: waiting costs less than a 429 counted against the app.
            return Err(PlatformError::RateLimited {
                account: self.account.clone(),
                what: "posting (x-rate-limit-remaining is 0)".into(),
                retry_at: Some(reset),
            });
        }
        let answer = self
            .authed(what, |http| http.post(&url).json(&body))
            .await?;
        if let Some(window) = rate_window(&answer.headers) {
            if let Ok(mut slot) = self.post_window.lock() {
                *slot = Some(window);
            }
        }
        let created: One<PostJson> = self.judge(what, answer)?;
        let created = created.data.ok_or_else(|| PlatformError::Malformed {
            account: self.account.clone(),
            what: what.into(),
            reason: "no post in the answer".into(),
        })?;
        Ok(self.remote(&me, &created.id))
    }

    async fn find_post(
        &self,
        lookup: &PostLookup<'_>,
    ) -> Result<Option<RemotePost>, PlatformError> {
        let me = self.identity().await?;
        let what = "looking for a post whose fate is unknown";
        let path = format!("/2/users/{}/tweets", me.id);
        let query = [
            ("max_results", self.lookup_limit.to_string()),
            ("tweet.fields", POST_FIELDS.to_owned()),
        ];
        // Back through the account's posts until the time of the first attempt (the
        // post cannot be older).
        let not_before = lookup.not_before;
        let (posts, _) = self
            .pages(what, &path, &query, LOOKUP_PAGES, |page| {
                let oldest = page.iter().filter_map(|p| p.created_at).min();
                match (oldest, not_before) {
                    (Some(oldest), Some(start)) => oldest < start,
                    (None, _) => true,
                    _ => false,
                }
            })
            .await?;
        let mut found: Vec<PostJson> = posts
            .into_iter()
            .filter(|p| !lookup.exclude.contains(&p.id))
            .filter(|p| p.text == lookup.text)
            .filter(|p| p.replied_to() == lookup.in_reply_to)
            .filter(|p| match (p.created_at, not_before) {
                (Some(created), Some(start)) => created >= start,
                _ => true,
            })
            .collect();
        found.sort_by(|a, b| id_order(&a.id, &b.id));
        found.dedup_by(|a, b| a.id == b.id);
        if found.len() > 1 {
            tracing::warn!(
                "account `{}`: {} posts with the same text exist; keeping the oldest",
                self.account,
                found.len()
            );
        }
        Ok(found.first().map(|p| self.remote(&me, &p.id)))
    }

    async fn replies(&self, post_id: &str) -> Result<Vec<ServerStatus>, PlatformError> {
        let what = format!("reading the replies to post {post_id}");
        let query = [
            ("query", format!("conversation_id:{post_id}")),
            ("max_results", "100".to_owned()),
            ("tweet.fields", POST_FIELDS.to_owned()),
            ("expansions", "author_id".to_owned()),
            ("user.fields", USER_FIELDS.to_owned()),
        ];
        let (posts, users) = self
            .pages(
                &what,
                "/2/tweets/search/recent",
                &query,
                SEARCH_PAGES,
                |_| false,
            )
            .await?;
        let mut statuses: Vec<ServerStatus> = posts
            .into_iter()
            .filter(|p| p.id != post_id)
            .filter_map(|p| p.into_status(&users))
            .collect();
        statuses.sort_by(|a, b| id_order(&a.id, &b.id));
        statuses.dedup_by(|a, b| a.id == b.id);
        Ok(statuses)
    }

    async fn status(&self, id: &str) -> Result<Option<ServerStatus>, PlatformError> {
        let what = format!("reading post {id}");
        let url = self.url(&format!("/2/tweets/{id}"));
        let query = [
            ("tweet.fields", POST_FIELDS),
            ("expansions", "author_id"),
            ("user.fields", USER_FIELDS),
        ];
        let one: One<PostJson> = self
            .authed_json(&what, |http| http.get(&url).query(&query))
            .await?;
        // A missing post is a 200 with an `errors` list and no `data`.
        Ok(one.data.and_then(|p| p.into_status(&one.includes.users)))
    }

    async fn mentions(
        &self,
        since: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<Mentions, PlatformError> {
        let me = self.identity().await?;
        let what = "reading the account's mentions";
        let path = format!("/2/users/{}/mentions", me.id);
        let mut query = vec![
            ("max_results", "100".to_owned()),
            ("tweet.fields", POST_FIELDS.to_owned()),
            ("expansions", "author_id".to_owned()),
            ("user.fields", USER_FIELDS.to_owned()),
        ];
        match since {
            Some(since) => query.push(("since_id", since.to_owned())),
            None => query.push((
                "start_time",
                not_before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )),
        }
        let (posts, users) = self
            .pages(what, &path, &query, SEARCH_PAGES, |_| false)
            .await?;
        let newest = posts
            .iter()
            .map(|p| p.id.clone())
            .max_by(|a, b| id_order(a, b))
            .or_else(|| since.map(str::to_owned));
        let mut statuses: Vec<ServerStatus> = posts
            .into_iter()
            .filter_map(|p| p.into_status(&users))
            .collect();
        statuses.sort_by(|a, b| id_order(&a.id, &b.id));
        statuses.dedup_by(|a, b| a.id == b.id);
        Ok(Mentions { statuses, newest })
    }
}

/// Orders X ids (snowflakes): by length, then as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[derive(Deserialize)]
struct One<T> {
    data: Option<T>,
    #[serde(default)]
    includes: Includes,
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    data: Vec<PostJson>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
struct Includes {
    #[serde(default)]
    users: Vec<UserJson>,
}

#[derive(Deserialize, Default)]
struct Meta {
    next_token: Option<String>,
}

#[derive(Deserialize, Clone)]
struct UserJson {
    id: String,
    username: String,
    #[serde(default)]
    name: String,
    profile_image_url: Option<String>,
}

#[derive(Deserialize)]
struct MediaJson {
    id: String,
}

#[derive(Deserialize, Clone)]
struct PostJson {
    id: String,
    #[serde(default)]
    text: String,
    author_id: Option<String>,
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    referenced_tweets: Vec<Referenced>,
}

#[derive(Deserialize, Clone)]
struct Referenced {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

impl PostJson {
    /// The post this one replies to.
    fn replied_to(&self) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to")
            .map(|r| r.id.as_str())
    }

    fn into_status(self, users: &[UserJson]) -> Option<ServerStatus> {
        let author_id = self.author_id.clone()?;
        let author = users.iter().find(|u| u.id == author_id);
        let username = author.map(|u| u.username.clone()).unwrap_or_default();
        let in_reply_to = self.replied_to().map(str::to_owned);
        Some(ServerStatus {
            url: post_url(if username.is_empty() { "i" } else { &username }, &self.id),
            author_handle: format!("@{username}"),
            author_name: author.map(|u| u.name.clone()).unwrap_or_default(),
            author_url: format!("https://x.com/{username}"),
            author_avatar: author.and_then(|u| u.profile_image_url.clone()),
            author_bot: false,
            author_id,
            id: self.id,
            in_reply_to,
            visibility: "public".into(),
            created_at: self.created_at.unwrap_or_else(Utc::now),
            edited_at: None,
            content_html: text_html(&self.text),
            spoiler_text: String::new(),
        })
    }
}

/// A post's plain text as the HTML the discussion reads (escaped, line breaks kept).
fn text_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!("<p>{}</p>", escaped.replace('\n', "<br>"))
}

/// The `detail` (or `title`, `message`, OAuth `error_description`) of an X error
/// body, or the body itself, shortened.
fn error_message(body: &[u8]) -> String {
    let value = serde_json::from_slice::<Value>(body).ok();
    let field = |name: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("detail")
        .or_else(|| field("error_description"))
        .or_else(|| field("message"))
        .or_else(|| field("title"))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if message.is_empty() {
        return "no details".into();
    }
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

/// X's numeric error code (187 duplicate, 186 too long), where the body has one.
fn error_code(body: &[u8]) -> Option<u64> {
    let value = serde_json::from_slice::<Value>(body).ok()?;
    value
        .get("code")
        .and_then(Value::as_u64)
        .or_else(|| value.get("errors")?.get(0)?.get("code")?.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_or_a_bare_token_is_read() {
        let file = TokenFile::parse(
            r#"{"access_token":"a","refresh_token":"r","expires_at":"2026-01-01T00:00:00Z","scope":"tweet.read"}"#,
        );
        assert_eq!(file.access_token, "a");
        assert_eq!(file.refresh_token.as_deref(), Some("r"));
        let soon = "2025-12-31T23:56:00Z".parse().expect("time");
        let early = "2025-12-31T22:00:00Z".parse().expect("time");
        assert!(file.needs_refresh(soon));
        assert!(!file.needs_refresh(early));
        let bare = TokenFile::parse("  plain-token\n");
        assert_eq!(bare.access_token, "plain-token");
        assert!(!bare.needs_refresh(soon), "nothing to refresh with");
    }

    #[test]
    fn error_bodies_give_their_detail_and_code() {
        let body = br#"{"title":"Forbidden","detail":"You are not allowed to create a Tweet with duplicate content.","code":187}"#;
        assert_eq!(
            error_message(body),
            "You are not allowed to create a Tweet with duplicate content."
        );
        assert_eq!(error_code(body), Some(187));
        assert_eq!(error_message(b""), "no details");
        assert_eq!(error_code(b"<html>"), None);
    }

    #[test]
    fn the_rate_window_is_read_from_x_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_window(&headers), None);
        headers.insert("x-rate-limit-remaining", "0".parse().expect("header"));
        headers.insert("x-rate-limit-reset", "1800000000".parse().expect("header"));
        let (remaining, reset) = rate_window(&headers).expect("a window");
        assert_eq!(remaining, 0);
        assert_eq!(reset.timestamp(), 1_800_000_000);
    }

    #[test]
    fn post_text_becomes_escaped_html() {
        assert_eq!(
            text_html("@GCResearchTeam a <b> & c\nd"),
            "<p>@GCResearchTeam a &lt;b&gt; &amp; c<br>d</p>"
        );
    }
}
