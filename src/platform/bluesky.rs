//! Bluesky accounts: XRPC calls to the account's PDS over `reqwest` (sessions, posts
//! with link facets, replies, images).
//!
//! Exactly once: every post's record key is a TID derived from the post's stable key
//! ([`record_key`]), so a post that may have been created is found again with
//! `getRecord` under the same key, and a retry never makes a second record.
//!
//! Replies, mentions and counts are read through the PDS from the AppView
//! (`getPostThread`, `getPosts`, `listNotifications`; see [`read`]). A successful
//! answer that says the rate-limit window is spent (`RateLimit-Remaining: 0`) holds
//! the next request until the window's reset, as a refusal would.
//!
//! A post's remote id is its `at://` URI. A reply needs strong references (URI and
//! CID) to its parent and to the thread's root: they are remembered for the posts made
//! or found in this run, and read with `getRecord` (the parent's `reply.root`) after a
//! restart.

mod read;

use super::{
    Identity, MediaUpload, Mentions, NewPost, Platform, PlatformError, PlatformKind, PostLookup,
    Secret, ServerLimits,
};
use crate::config::{AccountConfig, TokenSource};
use crate::model::length::find_urls;
use crate::model::ServerStatus;
use crate::platform::mastodon::ClientSettings;
use crate::store::RemotePost;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const POST: &str = "app.bsky.feed.post";
/// Posts are at most 300 graphemes and 3000 bytes (`LengthRules::bluesky`).
const MAX_GRAPHEMES: usize = 300;
const MAX_IMAGES: usize = 4;
/// PDSes older than April 2026 refuse larger blobs for images.
const MAX_IMAGE_BYTES: u64 = 1_000_000;
/// The Bluesky app's limit for alt text.
const MAX_ALT: usize = 2000;
/// The longest part of a server's error body quoted in a message.
const MAX_MESSAGE: usize = 300;
/// How deep `getPostThread` reads under a post: a thread's posts chain one under the
/// other, and replies hang below them. The AppView's own maximum is 1000.
const THREAD_DEPTH: usize = 1000;
/// `getPosts` takes at most 25 URIs.
const POSTS_PER_REQUEST: usize = 25;
/// Notifications per page, and pages read per sync at most.
const NOTIFICATION_PAGE: usize = 50;
const MAX_NOTIFICATION_PAGES: usize = 20;

/// One Bluesky account on its PDS.
pub struct Bluesky {
    account: String,
    base_url: String,
    identifier: String,
    password: Option<Secret>,
    password_source: TokenSource,
    languages: Vec<String>,
    http: reqwest::Client,
    timeout: Duration,
    session: Mutex<Option<Session>>,
    /// Strong references of the posts made or found in this run, by URI.
    refs: Mutex<HashMap<String, ThreadRefs>>,
    /// Until when the server said a method's rate-limit window is spent, by XRPC
    /// method (each method has its own limits).
    paused_until: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl std::fmt::Debug for Bluesky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bluesky")
            .field("account", &self.account)
            .field("server", &self.base_url)
            .field("handle", &self.identifier)
            .field("password", &self.password)
            .finish()
    }
}

/// A logged-in session: its tokens are secrets like the password.
#[derive(Clone)]
struct Session {
    access: Secret,
    refresh: Secret,
    did: String,
    handle: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StrongRef {
    uri: String,
    cid: String,
}

/// A post's own reference and its thread's root (itself for a head post).
#[derive(Debug, Clone)]
struct ThreadRefs {
    this: StrongRef,
    root: StrongRef,
}

/// An HTTP answer, before it is judged.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The XRPC `error` name of an error answer.
    fn error_name(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()?
            .get("error")?
            .as_str()
            .map(str::to_owned)
    }

    /// The server did not accept the session token (expired, revoked, unknown).
    fn token_rejected(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            || (self.status == StatusCode::BAD_REQUEST
                && matches!(
                    self.error_name().as_deref(),
                    Some("ExpiredToken" | "InvalidToken")
                ))
    }
}

impl Bluesky {
    /// A client for `account`. Without a password it can only tell the (fixed) limits,
    /// which is what `--dry-run` needs.
    pub fn new(
        account: &AccountConfig,
        password: Option<Secret>,
        settings: &ClientSettings,
    ) -> Result<Self, PlatformError> {
        let base_url = account.server.trim_end_matches('/').to_owned();
        let identifier = account.handle().unwrap_or_default().to_owned();
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
        Ok(Bluesky {
            account: account.name.clone(),
            base_url,
            identifier,
            password,
            password_source: account.token_source(),
            languages: account.language.iter().cloned().collect(),
            http,
            timeout: settings.timeout,
            session: Mutex::new(None),
            refs: Mutex::new(HashMap::new()),
            paused_until: Mutex::new(HashMap::new()),
        })
    }

    /// Reads the account's app password from where the configuration says it is.
    pub fn load_password(account: &AccountConfig) -> Result<Secret, PlatformError> {
        Secret::load(&account.name, &account.token_source()).map_err(|error| match error {
            PlatformError::Token {
                account: name,
                reason,
            } => PlatformError::Token {
                reason: format!(
                    "{reason} (for Bluesky: an app password for {}, made in Bluesky's \
                     Settings → Privacy and security → App passwords)",
                    account.handle().unwrap_or("the account")
                ),
                account: name,
            },
            other => other,
        })
    }

    fn xrpc(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.base_url)
    }

    fn unauthorized(&self, what: &str, status: u16) -> PlatformError {
        PlatformError::Unauthorized {
            account: self.account.clone(),
            what: what.into(),
            status,
            token_source: format!(
                "{} (an app password for {} on {})",
                self.password_source, self.identifier, self.base_url
            ),
        }
    }

    /// Sends a request and reads the whole answer, under papercast's timeout.
    async fn exchange(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, PlatformError> {
        let method = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| {
                r.url()
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_default();
        let paused = self
            .paused_until
            .lock()
            .ok()
            .and_then(|p| p.get(&method).copied());
        if let Some(until) = paused.filter(|until| *until > Utc::now()) {
            // Sending now would only be refused: the caller waits it out.
            return Err(PlatformError::RateLimited {
                account: self.account.clone(),
                what: what.into(),
                retry_at: Some(until),
            });
        }
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
            Ok(Ok(answer)) => {
                let spent = crate::http::exhausted_until(&answer.headers, Utc::now());
                if let Ok(mut paused) = self.paused_until.lock() {
                    match spent {
                        Some(until) => paused.insert(method, until),
                        None => paused.remove(&method),
                    };
                }
                Ok(answer)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.timeout_error(what)),
        }
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

    /// Maps an XRPC error answer to what papercast does about it.
    fn status_error(&self, what: &str, answer: &Answer) -> PlatformError {
        let status = answer.status.as_u16();
        let message = error_message(&answer.body);
        let account = self.account.clone();
        if answer.token_rejected() || status == 403 {
            return self.unauthorized(what, status);
        }
        let retry_at = super::retry_at(&answer.headers, chrono::Utc::now());
        let too_long = (status == 400 && is_too_long(&message)).then(|| limit_in(&message));
        PlatformError::from_answer(account, what, status, message, retry_at, too_long)
    }

    fn password(&self) -> Result<&Secret, PlatformError> {
        self.password.as_ref().ok_or_else(|| PlatformError::Token {
            account: self.account.clone(),
            reason: format!("{} holds no app password", self.password_source),
        })
    }

    fn current_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    fn keep_session(&self, session: &Session) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = Some(session.clone());
        }
    }

    /// The session, logging in first when there is none. Logging in is limited (30 per
    /// 5 minutes, 300 a day), so it happens once per client and is then refreshed.
    async fn session(&self) -> Result<Session, PlatformError> {
        match self.current_session() {
            Some(session) => Ok(session),
            None => self.create_session().await,
        }
    }

    async fn create_session(&self) -> Result<Session, PlatformError> {
        let what = "logging in (createSession)";
        let password = self.password()?;
        let request = self
            .http
            .post(self.xrpc("com.atproto.server.createSession"))
            .json(&json!({"identifier": self.identifier, "password": password.expose()}));
        let answer = self.exchange(what, request).await?;
        if matches!(answer.status.as_u16(), 400 | 401)
            && answer.error_name().as_deref() != Some("RateLimitExceeded")
        {
            return Err(self.unauthorized(what, answer.status.as_u16()));
        }
        let session: SessionAnswer = self.judge(what, answer)?;
        let session = session.into_session();
        self.keep_session(&session);
        Ok(session)
    }

    /// A fresh session after the server refused `stale`'s access token: refreshed with
    /// its refresh token, or a new login when that is refused too.
    async fn renew(&self, stale: &Session) -> Result<Session, PlatformError> {
        if let Some(current) = self.current_session() {
            if current.access != stale.access {
                return Ok(current);
            }
        }
        let what = "refreshing the session (refreshSession)";
        let request = self
            .http
            .post(self.xrpc("com.atproto.server.refreshSession"))
            .bearer_auth(stale.refresh.expose());
        let answer = self.exchange(what, request).await?;
        if answer.token_rejected() {
            tracing::info!(
                "account `{}`: the session ended; logging in again",
                self.account
            );
            return self.create_session().await;
        }
        let session: SessionAnswer = self.judge(what, answer)?;
        let session = session.into_session();
        self.keep_session(&session);
        Ok(session)
    }

    /// Sends an authenticated request built by `build`; when the server refuses the
    /// access token, renews the session once and sends it again (a refused token means
    /// the request did nothing, so repeating it is safe).
    async fn authed(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, PlatformError> {
        let session = self.session().await?;
        let answer = self
            .exchange(what, build(&self.http).bearer_auth(session.access.expose()))
            .await?;
        if !answer.token_rejected() {
            return Ok(answer);
        }
        let session = self.renew(&session).await?;
        self.exchange(what, build(&self.http).bearer_auth(session.access.expose()))
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

    /// The post with record key `rkey` in the account's repository, if it exists.
    async fn get_post(&self, what: &str, rkey: &str) -> Result<Option<Record>, PlatformError> {
        let session = self.session().await?;
        self.get_record(what, &session.did, rkey).await
    }

    async fn get_record(
        &self,
        what: &str,
        repo: &str,
        rkey: &str,
    ) -> Result<Option<Record>, PlatformError> {
        let url = self.xrpc("com.atproto.repo.getRecord");
        let query = [("repo", repo), ("collection", POST), ("rkey", rkey)];
        let answer = self
            .authed(what, |http| http.get(&url).query(&query))
            .await?;
        if answer.status == StatusCode::BAD_REQUEST
            && answer.error_name().as_deref() == Some("RecordNotFound")
        {
            return Ok(None);
        }
        self.judge(what, answer).map(Some)
    }

    /// An AppView read through the PDS; `None` when the AppView says the post asked
    /// about is not there (`NotFound`).
    async fn appview(
        &self,
        what: &str,
        method: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Value>, PlatformError> {
        let url = self.xrpc(method);
        let answer = self
            .authed(what, |http| http.get(&url).query(query))
            .await?;
        if answer.status == StatusCode::BAD_REQUEST
            && answer.error_name().as_deref() == Some("NotFound")
        {
            return Ok(None);
        }
        self.judge(what, answer).map(Some)
    }

    /// The AppView's views of these posts (those it knows), at most 25 per request.
    async fn post_views(&self, uris: &[String]) -> Result<Vec<read::PostView>, PlatformError> {
        #[derive(Deserialize)]
        struct Posts {
            posts: Vec<read::PostView>,
        }
        let mut views = Vec::new();
        for chunk in uris.chunks(POSTS_PER_REQUEST) {
            let query: Vec<(&str, String)> = chunk.iter().map(|u| ("uris", u.clone())).collect();
            let what = format!("reading {} post(s) (getPosts)", chunk.len());
            let Some(answer) = self
                .appview(&what, "app.bsky.feed.getPosts", &query)
                .await?
            else {
                continue;
            };
            let posts: Posts =
                serde_json::from_value(answer).map_err(|e| PlatformError::Malformed {
                    account: self.account.clone(),
                    what: what.clone(),
                    reason: e.to_string(),
                })?;
            views.extend(posts.posts);
        }
        Ok(views)
    }

    /// Remembers a post's references for replies to it.
    fn remember(&self, record: &Record) -> ThreadRefs {
        let this = StrongRef {
            uri: record.uri.clone(),
            cid: record.cid.clone(),
        };
        let root = record
            .value
            .as_ref()
            .and_then(|v| v.get("reply")?.get("root").cloned())
            .and_then(|root| serde_json::from_value::<StrongRef>(root).ok())
            .unwrap_or_else(|| this.clone());
        let refs = ThreadRefs { this, root };
        if let Ok(mut known) = self.refs.lock() {
            known.insert(record.uri.clone(), refs.clone());
        }
        refs
    }

    /// The references a reply to `uri` needs: from this run, or read from the server.
    async fn refs_of(&self, uri: &str) -> Result<ThreadRefs, PlatformError> {
        if let Some(refs) = self.refs.lock().ok().and_then(|k| k.get(uri).cloned()) {
            return Ok(refs);
        }
        let what = "reading the post to reply to";
        let (repo, rkey) = parse_post_uri(uri).ok_or_else(|| PlatformError::Malformed {
            account: self.account.clone(),
            what: what.into(),
            reason: format!("`{uri}` is not the at:// URI of a post"),
        })?;
        match self.get_record(what, repo, rkey).await? {
            Some(record) => Ok(self.remember(&record)),
            None => Err(PlatformError::Refused {
                account: self.account.clone(),
                what: what.into(),
                status: 404,
                message: format!(
                    "the post {uri} is gone; the thread cannot continue under it \
                     (post a new one with `papercast announce --again`)"
                ),
            }),
        }
    }

    fn remote(&self, session: &Session, uri: &str) -> RemotePost {
        let rkey = uri.rsplit('/').next().unwrap_or_default();
        RemotePost {
            id: uri.to_owned(),
            url: Some(format!(
                "https://bsky.app/profile/{}/post/{rkey}",
                session.handle
            )),
        }
    }

    /// The record of a new post.
    async fn record(&self, post: &NewPost<'_>) -> Result<Value, PlatformError> {
        let mut record = json!({
            "$type": POST,
            "text": post.text,
            "createdAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        if !self.languages.is_empty() {
            record["langs"] = json!(self.languages);
        }
        let facets = link_facets(post.text, post.links);
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if let Some(parent) = post.in_reply_to {
            let refs = self.refs_of(parent).await?;
            record["reply"] = json!({"root": refs.root, "parent": refs.this});
        }
        let images: Vec<Value> = post
            .media_ids
            .iter()
            .filter_map(|id| serde_json::from_str::<Value>(id).ok())
            .take(MAX_IMAGES)
            .collect();
        if !images.is_empty() {
            record["embed"] = json!({"$type": "app.bsky.embed.images", "images": images});
        }
        Ok(record)
    }
}

#[async_trait::async_trait]
impl Platform for Bluesky {
    fn account(&self) -> &str {
        &self.account
    }

    fn kind(&self) -> PlatformKind {
        PlatformKind::Bluesky
    }

    async fn verify(&self) -> Result<Identity, PlatformError> {
        self.password()?;
        let what = "checking the session (getSession)";
        let url = self.xrpc("com.atproto.server.getSession");
        let me: SessionInfo = self.authed_json(what, |http| http.get(&url)).await?;
        Ok(Identity {
            url: Some(format!("https://bsky.app/profile/{}", me.handle)),
            handle: format!("@{}", me.handle),
            id: me.did,
        })
    }

    async fn limits(&self) -> Result<ServerLimits, PlatformError> {
        // Bluesky's limits are fixed by the lexicon, not told by the server.
        Ok(ServerLimits {
            max_characters: MAX_GRAPHEMES,
            // URLs count in full (see `LengthRules::bluesky`).
            characters_reserved_per_url: 0,
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
        let url = self.xrpc("com.atproto.repo.uploadBlob");
        let uploaded: BlobAnswer = self
            .authed_json(&what, |http| {
                http.post(&url)
                    .header(reqwest::header::CONTENT_TYPE, media.mime.as_str())
                    .body(media.bytes.clone())
            })
            .await?;
        // The media id is the image's entry of `app.bsky.embed.images`: the blob, its
        // alt text and its shape, all a post needs to embed it.
        let mut image = json!({"image": uploaded.blob, "alt": media.description});
        if let Some((width, height)) = image_size(&media.bytes) {
            image["aspectRatio"] = json!({"width": width, "height": height});
        }
        Ok(image.to_string())
    }

    async fn post(&self, post: &NewPost<'_>) -> Result<RemotePost, PlatformError> {
        let session = self.session().await?;
        let rkey = record_key(post.idempotency_key);
        let record = self.record(post).await?;
        let what = "posting";
        let url = self.xrpc("com.atproto.repo.createRecord");
        let body = json!({"repo": session.did, "collection": POST, "rkey": rkey, "record": record});
        let created = self
            .authed_json::<Created>(what, |http| http.post(&url).json(&body))
            .await;
        let error = match created {
            Ok(created) => {
                let record = Record {
                    uri: created.uri,
                    cid: created.cid,
                    value: Some(record),
                };
                self.remember(&record);
                return Ok(self.remote(&session, &record.uri));
            }
            Err(error) => error,
        };
        // The record may exist: made by this request before its answer was lost, or by
        // an earlier run (the PDS refuses a second record under the same key with a 500).
        let may_exist = !matches!(
            error,
            PlatformError::Unauthorized { .. }
                | PlatformError::RateLimited { .. }
                | PlatformError::TooLong { .. }
                | PlatformError::Token { .. }
                | PlatformError::Transport { connect: true, .. }
        );
        if may_exist {
            if let Ok(Some(record)) = self
                .get_post("checking whether the post exists", &rkey)
                .await
            {
                tracing::info!(
                    "account `{}`: the post {} exists already ({error}); not posting it again",
                    self.account,
                    record.uri
                );
                self.remember(&record);
                return Ok(self.remote(&session, &record.uri));
            }
        }
        Err(error)
    }

    async fn replies(&self, post_id: &str) -> Result<Vec<ServerStatus>, PlatformError> {
        let what = format!("reading the replies to post {post_id} (getPostThread)");
        let query = [
            ("uri", post_id.to_owned()),
            ("depth", THREAD_DEPTH.to_string()),
            ("parentHeight", "0".to_owned()),
        ];
        let Some(answer) = self
            .appview(&what, "app.bsky.feed.getPostThread", &query)
            .await?
        else {
            return Err(PlatformError::Refused {
                account: self.account.clone(),
                what,
                status: 404,
                message: format!("the post {post_id} is gone"),
            });
        };
        let thread = answer
            .get("thread")
            .ok_or_else(|| PlatformError::Malformed {
                account: self.account.clone(),
                what: what.clone(),
                reason: "no `thread` in the answer".into(),
            })?;
        Ok(read::flatten(thread, false)
            .iter()
            .filter_map(read::PostView::status)
            .collect())
    }

    async fn status(&self, id: &str) -> Result<Option<ServerStatus>, PlatformError> {
        let views = self.post_views(&[id.to_owned()]).await?;
        Ok(views
            .iter()
            .find(|v| v.uri == id)
            .and_then(read::PostView::status))
    }

    async fn statuses(
        &self,
        ids: &[String],
    ) -> Result<Option<HashMap<String, ServerStatus>>, PlatformError> {
        let views = self.post_views(ids).await?;
        Ok(Some(
            views
                .iter()
                .filter_map(read::PostView::status)
                .map(|s| (s.id.clone(), s))
                .collect(),
        ))
    }

    async fn engagement(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, crate::model::Engagement)>, PlatformError> {
        Ok(self
            .post_views(ids)
            .await?
            .iter()
            .map(|v| (v.uri.clone(), v.engagement()))
            .collect())
    }

    /// Replies, mentions and quotes from the notifications, newest first page by page,
    /// back to the one read last (its `indexedAt` is the cursor) or to `not_before`.
    async fn mentions(
        &self,
        since: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<Mentions, PlatformError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            notifications: Vec<read::Notification>,
            cursor: Option<String>,
        }
        let since_time = since.and_then(read::time);
        let stop_at = since_time.map_or(not_before, |t| t.max(not_before));
        let mut newest: Option<(DateTime<Utc>, String)> = None;
        let mut found: Vec<(DateTime<Utc>, ServerStatus)> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_NOTIFICATION_PAGES {
            let mut query = vec![("limit", NOTIFICATION_PAGE.to_string())];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let what = "reading notifications (listNotifications)";
            let answer = self
                .appview(what, "app.bsky.notification.listNotifications", &query)
                .await?
                .unwrap_or(Value::Null);
            let page: Page =
                serde_json::from_value(answer).map_err(|e| PlatformError::Malformed {
                    account: self.account.clone(),
                    what: what.into(),
                    reason: e.to_string(),
                })?;
            let mut reached = page.notifications.is_empty();
            for notification in &page.notifications {
                let Some(at) = read::time(&notification.indexed_at) else {
                    continue;
                };
                if newest.as_ref().is_none_or(|(t, _)| at > *t) {
                    newest = Some((at, notification.indexed_at.clone()));
                }
                // The one read last is read again: a notification indexed in the same
                // instant may have come after it, and saving a reply twice changes nothing.
                if at < stop_at {
                    reached = true;
                    continue;
                }
                if !read::ANSWER_REASONS.contains(&notification.reason.as_str()) {
                    continue;
                }
                if let Some(status) = notification.status() {
                    found.push((at, status));
                }
            }
            match page.cursor {
                Some(next) if !reached && Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => break,
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        let mut seen = std::collections::HashSet::new();
        let statuses = found
            .into_iter()
            .map(|(_, status)| status)
            .filter(|s| seen.insert(s.id.clone()))
            .collect();
        Ok(Mentions {
            statuses,
            newest: newest
                .map(|(_, text)| text)
                .or_else(|| since.map(str::to_owned)),
        })
    }

    async fn find_post(
        &self,
        lookup: &PostLookup<'_>,
    ) -> Result<Option<RemotePost>, PlatformError> {
        let session = self.session().await?;
        let rkey = record_key(lookup.key);
        let Some(record) = self
            .get_post("looking for a post whose fate is unknown", &rkey)
            .await?
        else {
            return Ok(None);
        };
        if lookup.exclude.contains(&record.uri) {
            return Ok(None);
        }
        let text = record
            .value
            .as_ref()
            .and_then(|v| v.get("text"))
            .and_then(Value::as_str);
        if text != Some(lookup.text) {
            tracing::warn!(
                "account `{}`: the post {} under this post's key has other text; keeping it",
                self.account,
                record.uri
            );
        }
        self.remember(&record);
        Ok(Some(self.remote(&session, &record.uri)))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAnswer {
    access_jwt: String,
    refresh_jwt: String,
    did: String,
    handle: String,
}

impl SessionAnswer {
    fn into_session(self) -> Session {
        Session {
            access: Secret::new(self.access_jwt),
            refresh: Secret::new(self.refresh_jwt),
            did: self.did,
            handle: self.handle,
        }
    }
}

#[derive(Deserialize)]
struct SessionInfo {
    did: String,
    handle: String,
}

#[derive(Deserialize)]
struct BlobAnswer {
    blob: Value,
}

#[derive(Deserialize)]
struct Created {
    uri: String,
    cid: String,
}

/// A record as `getRecord` answers it.
#[derive(Deserialize)]
struct Record {
    uri: String,
    cid: String,
    value: Option<Value>,
}

/// The record key of a post: a TID (13 characters of base32-sortable) derived from the
/// post's stable key, so every attempt at one post uses the same key.
///
/// A TID holds microseconds since 1970 (53 bits) and a clock id (10 bits). Both come
/// from SHA-256 of the key; the time is put in 2000–2019 so that it is never in the
/// future (nothing reads a post's time from its key; `createdAt` is the real time).
pub fn record_key(stable_key: &str) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    const START_MICROS: u64 = 946_684_800_000_000; // 2000-01-01T00:00:00Z
    const SPAN_MICROS: u64 = 20 * 365 * 24 * 3600 * 1_000_000;
    let digest = Sha256::digest(stable_key.as_bytes());
    let mut high = [0u8; 8];
    high.copy_from_slice(&digest[..8]);
    let micros = START_MICROS + u64::from_be_bytes(high) % SPAN_MICROS;
    let clock = u64::from(digest[8]) << 2 | u64::from(digest[9] & 0b11);
    let value = micros << 10 | clock;
    (0..13)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (5 * i)) & 31) as usize]))
        .collect()
}

/// A link facet for every link in `text`, with UTF-8 byte offsets (end exclusive):
/// each of `links` where its shown text is (in order: "Our review" → the review's
/// URL, `arxiv.org/abs/…` → `https://arxiv.org/abs/…`), and every URL written out.
fn link_facets(text: &str, links: &[crate::model::Link]) -> Vec<Value> {
    let facet = |start: usize, end: usize, uri: &str| {
        json!({
            "index": {"byteStart": start, "byteEnd": end},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        })
    };
    let mut ranges: Vec<(usize, usize, String)> = Vec::new();
    let mut from = 0;
    for link in links.iter().filter(|l| !l.text.is_empty()) {
        if let Some(at) = text[from..].find(&link.text) {
            let start = from + at;
            let end = start + link.text.len();
            ranges.push((start, end, link.url.clone()));
            from = end;
        }
    }
    for url in find_urls(text, false) {
        let overlaps = ranges
            .iter()
            .any(|(s, e, _)| url.range.start < *e && *s < url.range.end);
        if !overlaps {
            ranges.push((url.range.start, url.range.end, text[url.range].to_owned()));
        }
    }
    ranges.sort_by_key(|(start, _, _)| *start);
    ranges
        .into_iter()
        .map(|(start, end, uri)| facet(start, end, &uri))
        .collect()
}

/// `(repo, rkey)` of `at://<repo>/app.bsky.feed.post/<rkey>`.
fn parse_post_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let (repo, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
    (collection == POST && !repo.is_empty() && !rkey.is_empty() && parts.next().is_none())
        .then_some((repo, rkey))
}

/// Width and height of a PNG, GIF or JPEG image, for `aspectRatio`.
fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let be16 = |b: &[u8]| u32::from(u16::from_be_bytes([b[0], b[1]]));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() >= 24 {
        return Some((be32(&bytes[16..20]), be32(&bytes[20..24])))
            .filter(|(w, h)| *w > 0 && *h > 0);
    }
    if (bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) && bytes.len() >= 10 {
        let le16 = |b: &[u8]| u32::from(u16::from_le_bytes([b[0], b[1]]));
        return Some((le16(&bytes[6..8]), le16(&bytes[8..10]))).filter(|(w, h)| *w > 0 && *h > 0);
    }
    if !bytes.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    // JPEG: walk the segments to the first start-of-frame marker.
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xff {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xff {
            i += 1;
            continue;
        }
        let length = be16(&bytes[i + 2..i + 4]) as usize;
        let is_frame = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if is_frame {
            let frame = bytes.get(i + 5..i + 9)?;
            let (height, width) = (be16(&frame[0..2]), be16(&frame[2..4]));
            return Some((width, height)).filter(|(w, h)| *w > 0 && *h > 0);
        }
        i += 2 + length;
    }
    None
}

/// The `message` (or `error`) of an XRPC error body, or the body itself, shortened.
fn error_message(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name)?.as_str().map(str::to_owned))
    };
    let message = match (field("error"), field("message")) {
        (Some(error), Some(message)) => format!("{error}: {message}"),
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    if message.is_empty() {
        return "no details".into();
    }
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

/// "Record/text must not be longer than 300 graphemes" and the like.
fn is_too_long(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("longer than") || lower.contains("too long")
}

/// The number in "longer than 300 graphemes".
fn limit_in(message: &str) -> Option<usize> {
    super::number_after(message, "longer than ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_are_stable_valid_past_tids() {
        let key = record_key("papercast/2025-10-07-potm.0/gc-bluesky/0");
        assert_eq!(key, record_key("papercast/2025-10-07-potm.0/gc-bluesky/0"));
        assert_ne!(key, record_key("papercast/2025-10-07-potm.0/gc-bluesky/1"));
        for n in 0..200 {
            let key = record_key(&format!("papercast/x.0/a/{n}"));
            assert_eq!(key.len(), 13, "{key}");
            // The TID syntax: the first character carries the top bit, always 0.
            assert!("234567abcdefghij".contains(&key[..1]), "{key}");
            assert!(key
                .chars()
                .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c)));
        }
    }

    #[test]
    fn a_tid_encodes_its_time() {
        // The key's time, decoded, lies in 2000–2019.
        let key = record_key("papercast/2025-10-07-potm.0/gc/3");
        let value = key.bytes().fold(0u64, |v, c| {
            let digit = b"234567abcdefghijklmnopqrstuvwxyz"
                .iter()
                .position(|&a| a == c)
                .expect("alphabet") as u64;
            v << 5 | digit
        });
        let secs = (value >> 10) / 1_000_000;
        assert!((946_684_800..1_577_836_800).contains(&secs), "{secs}");
    }

    #[test]
    fn facets_use_utf8_byte_offsets_end_exclusive() {
        let text = "Über „LLMs“ — read https://graphcore-research.github.io/2025-10-07-potm/#flowrl.\nPaper: https://arxiv.org/abs/2509.15207";
        let facets = link_facets(text, &[]);
        assert_eq!(facets.len(), 2);
        for facet in &facets {
            let start = facet["index"]["byteStart"].as_u64().expect("start") as usize;
            let end = facet["index"]["byteEnd"].as_u64().expect("end") as usize;
            let uri = facet["features"][0]["uri"].as_str().expect("uri");
            assert_eq!(&text.as_bytes()[start..end], uri.as_bytes());
        }
        assert_eq!(
            facets[0]["features"][0]["uri"],
            "https://graphcore-research.github.io/2025-10-07-potm/#flowrl"
        );
        // Multi-byte characters before the link shift its byte offset past its char offset.
        assert_eq!(
            facets[0]["index"]["byteStart"],
            text.find("https").expect("link")
        );
        assert!(link_facets("no links here", &[]).is_empty());
    }

    #[test]
    fn short_and_labelled_links_get_facets_with_their_full_urls() {
        use crate::model::Link;
        let text =
            "1/3 TriForce: Lossless Acceleration\n\nPaper: arxiv.org/abs/2404.11912\nOur review";
        let review = "https://graphcore-research.github.io/2024-04-30-potm/#triforce";
        let links = [
            Link {
                text: "arxiv.org/abs/2404.11912".into(),
                url: "https://arxiv.org/abs/2404.11912".into(),
            },
            Link {
                text: "Our review".into(),
                url: review.into(),
            },
        ];
        let facets = link_facets(text, &links);
        assert_eq!(facets.len(), 2);
        let span = |i: usize| {
            let start = facets[i]["index"]["byteStart"].as_u64().expect("start") as usize;
            let end = facets[i]["index"]["byteEnd"].as_u64().expect("end") as usize;
            &text[start..end]
        };
        assert_eq!(span(0), "arxiv.org/abs/2404.11912");
        assert_eq!(
            facets[0]["features"][0]["uri"],
            "https://arxiv.org/abs/2404.11912"
        );
        assert_eq!(span(1), "Our review");
        assert_eq!(facets[1]["features"][0]["uri"], review);
    }

    #[test]
    fn post_uris_are_parsed() {
        assert_eq!(
            parse_post_uri("at://did:plc:abc/app.bsky.feed.post/3kabc"),
            Some(("did:plc:abc", "3kabc"))
        );
        assert_eq!(
            parse_post_uri("at://did:plc:abc/app.bsky.feed.like/3k"),
            None
        );
        assert_eq!(parse_post_uri("https://bsky.app/profile/x/post/3k"), None);
    }

    #[test]
    fn image_sizes_are_read_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));
        let gif = b"GIF89a\x20\x03\x58\x02rest";
        assert_eq!(image_size(gif), Some((800, 600)));
        // SOI, an APP0 segment of 16 bytes, then SOF0 with height 300 and width 400.
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        jpeg.extend_from_slice(&[0; 14]);
        jpeg.extend_from_slice(&[0xff, 0xc0, 0, 17, 8, 1, 44, 1, 144, 3]);
        assert_eq!(image_size(&jpeg), Some((400, 300)));
        assert_eq!(image_size(b"nothing"), None);
    }

    #[test]
    fn length_errors_are_recognised_with_their_limit() {
        let message = error_message(
            br#"{"error":"InvalidRequest","message":"Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"}"#,
        );
        assert!(is_too_long(&message));
        assert_eq!(limit_in(&message), Some(300));
        assert!(!is_too_long(
            "InvalidRequest: Record/createdAt must be a datetime"
        ));
        assert_eq!(error_message(b""), "no details");
    }
}
