//! The networks papercast posts to: one [`Platform`] implementation per network, and
//! each one's rules for counting a post's length.

use crate::config::{AccountConfig, TokenSource};
use crate::model::{RemotePost, ServerStatus};
use chrono::{DateTime, Utc};
use std::fmt;
use thiserror::Error;

pub mod bluesky;
pub mod mastodon;
pub mod x;

pub use crate::http::retry_at;
pub use mastodon::ClientSettings;

/// The secret an account logs in with (a token, or Bluesky's app password), read from
/// where its configuration says it is.
pub fn credentials(account: &AccountConfig) -> Result<Secret, PlatformError> {
    match account.platform.kind() {
        PlatformKind::Mastodon => Secret::load(&account.name, &account.token_source()),
        PlatformKind::Bluesky => bluesky::Bluesky::load_password(account),
        PlatformKind::X => Secret::load(&account.name, &account.token_source()),
    }
}

/// The client of one account, for its network: the only place a client is built.
/// Without a secret it reads only what its server shows anyone (its limits).
pub fn connect(
    account: &AccountConfig,
    secret: Option<Secret>,
    settings: &ClientSettings,
) -> Result<Box<dyn Platform>, PlatformError> {
    Ok(match account.platform.kind() {
        PlatformKind::Mastodon => Box::new(mastodon::Mastodon::new(account, secret, settings)?),
        PlatformKind::Bluesky => Box::new(bluesky::Bluesky::new(account, secret, settings)?),
        PlatformKind::X => Box::new(x::X::new(account, secret, settings)?),
    })
}

pub use crate::model::{LengthRules, PlatformKind};

/// An access token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The token itself, for the one place that sends it (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads an account's token from where the configuration says it is.
    pub fn load(account: &str, source: &TokenSource) -> Result<Secret, PlatformError> {
        let missing = |reason: String| PlatformError::Token {
            account: account.into(),
            reason,
        };
        let value = match source {
            TokenSource::Env(name) => std::env::var(name).map_err(|_| {
                missing(format!(
                    "the environment variable {name} is not set; set it to the account's \
                     access token (`papercast accounts login {account}` gets one)"
                ))
            })?,
            TokenSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                missing(format!(
                    "cannot read the token file {} ({e}); `papercast accounts login {account}` \
                     writes one",
                    path.display()
                ))
            })?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(missing(format!("{source} is empty")));
        }
        Ok(Secret(value.to_owned()))
    }

    /// Writes a token to `path` for [`Secret::load`]: into a new file readable by its
    /// owner only (0600), renamed into place, so that an existing file's wider mode is
    /// not kept and no reader sees half a token. A symlink at `path` is refused rather
    /// than followed: it could point anywhere the bot may write.
    pub fn save(path: &std::path::Path, token: &str) -> std::io::Result<()> {
        use std::io::Write;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(std::io::Error::other(format!(
                    "{} is a symbolic link; papercast does not write a token through one \
                     (remove it, or set token_file to the real path)",
                    path.display()
                )));
            }
            Ok(meta) if !meta.is_file() => {
                return Err(std::io::Error::other(format!(
                    "{} is not a regular file",
                    path.display()
                )));
            }
            _ => {}
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => std::path::Path::new("."),
        };
        // tempfile creates the file with mode 0600 on Unix, and rename replaces a
        // symlink put there meanwhile instead of writing through it.
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        file.write_all(token.as_bytes())?;
        file.write_all(b"\n")?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Who an account is on its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    /// `@user` as the server shows it.
    pub handle: String,
    pub url: Option<String>,
}

/// What a server allows, from its instance information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    pub max_characters: usize,
    pub characters_reserved_per_url: usize,
    pub max_media_attachments: usize,
    /// Largest image upload in bytes, when the server says.
    pub image_size_limit: Option<u64>,
    /// Longest alt text.
    pub description_limit: usize,
    /// MIME types the server accepts; empty = it did not say.
    pub supported_mime_types: Vec<String>,
}

impl ServerLimits {
    /// Mastodon's documented defaults, for servers that do not say.
    pub fn mastodon_defaults() -> Self {
        ServerLimits {
            max_characters: 500,
            characters_reserved_per_url: 23,
            max_media_attachments: 4,
            image_size_limit: None,
            description_limit: 1500,
            supported_mime_types: Vec::new(),
        }
    }

    pub fn length_rules(&self) -> LengthRules {
        LengthRules::mastodon(self.max_characters, self.characters_reserved_per_url)
    }

    /// How a network of `kind` with these limits counts a post's length. Only Mastodon
    /// servers tell their own limits; the others' are fixed.
    pub fn length_rules_for(&self, kind: PlatformKind) -> LengthRules {
        match kind {
            PlatformKind::Mastodon => self.length_rules(),
            other => LengthRules::default_for(other),
        }
    }

    /// Whether the server takes images of this MIME type.
    pub fn accepts(&self, mime: &str) -> bool {
        self.supported_mime_types.is_empty() || self.supported_mime_types.iter().any(|m| m == mime)
    }
}

/// An image to upload.
#[derive(Clone)]
pub struct MediaUpload {
    pub bytes: Vec<u8>,
    /// A file name with an extension matching `mime` (servers guess the type from it).
    pub file_name: String,
    pub mime: String,
    /// The alt text.
    pub description: String,
}

impl fmt::Debug for MediaUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaUpload")
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A post to send.
#[derive(Debug, Clone)]
pub struct NewPost<'a> {
    pub text: &'a str,
    /// The links in `text` with their full targets, where the text shows them short
    /// or as a label (Bluesky); URLs written out in full need no entry.
    pub links: &'a [crate::model::Link],
    pub in_reply_to: Option<&'a str>,
    pub media_ids: &'a [String],
    /// Sent as `Idempotency-Key`: a repeat with the same key returns the first post.
    pub idempotency_key: &'a str,
}

/// What to look for when the fate of a sent post is unknown.
#[derive(Debug, Clone)]
pub struct PostLookup<'a> {
    pub text: &'a str,
    /// The post it must reply to (`None` = a post that replies to nothing).
    pub in_reply_to: Option<&'a str>,
    /// Ignore posts created before this time (an earlier announcement of the same text).
    pub not_before: Option<DateTime<Utc>>,
    /// Posts already recorded as other posts of papercast's: never a match.
    pub exclude: &'a [String],
    /// The key the post was sent with ([`NewPost::idempotency_key`]).
    pub key: &'a str,
}

/// Statuses that mention an account, from its notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Oldest first.
    pub statuses: Vec<ServerStatus>,
    /// The newest notification read: where the next read starts.
    pub newest: Option<String>,
}

#[derive(Debug, Error)]
pub enum PlatformError {
    #[error("account `{account}`: no token: {reason}")]
    Token { account: String, reason: String },
    #[error(
        "account `{account}`: the server answered {status} to {what}: the token is wrong, \
         expired or lacks permission; check {token_source}, or get a new token with \
         `papercast accounts login {account}`"
    )]
    Unauthorized {
        account: String,
        what: String,
        status: u16,
        token_source: String,
    },
    #[error("account `{account}`: rate-limited while {what}{}", until(.retry_at))]
    RateLimited {
        account: String,
        what: String,
        retry_at: Option<DateTime<Utc>>,
    },
    #[error("account `{account}`: the server refused the post as too long ({message})")]
    TooLong {
        account: String,
        /// The limit the server named, if it did.
        max: Option<usize>,
        message: String,
    },
    #[error("account `{account}`: the server refused {what} ({status}: {message})")]
    Refused {
        account: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error("account `{account}`: the server failed while {what} ({status}: {message})")]
    Server {
        account: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error("account `{account}`: no answer within {secs} s while {what} (publish.request_timeout_secs)")]
    Timeout {
        account: String,
        what: String,
        secs: u64,
    },
    #[error("account `{account}`: {what}: {reason}")]
    Transport {
        account: String,
        what: String,
        reason: String,
        /// The connection was never made, so nothing reached the server.
        connect: bool,
    },
    #[error("account `{account}`: the server's answer to {what} was not understood ({reason})")]
    Malformed {
        account: String,
        what: String,
        reason: String,
    },
    /// The server refused the post as a repeat of a recent one (X): it may exist, so
    /// it is looked up, never taken as sent or sent with another text.
    #[error(
        "account `{account}`: the server refused {what} as a duplicate of a recent post; \
         looking for it before anything is sent again"
    )]
    Duplicate { account: String, what: String },
    #[error("{0}")]
    Unsupported(String),
    /// The server answered a post with a status that is not the one sent (another
    /// text or another parent): it is not recorded as sent.
    #[error(
        "account `{account}`: the server answered the post with another status ({reason}); \
         it is not recorded as sent. An Idempotency-Key shared with another post, or a \
         server fault: check the account's timeline before running again"
    )]
    OtherStatus { account: String, reason: String },
}

/// The number right after `phrase` in a server's message ("maximum is 500 characters"),
/// ignoring case.
pub(crate) fn number_after(message: &str, phrase: &str) -> Option<usize> {
    let lower = message.to_lowercase();
    let start = lower.find(phrase)? + phrase.len();
    let digits: String = lower[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn until(retry_at: &Option<DateTime<Utc>>) -> String {
    match retry_at {
        Some(time) => format!(
            " until {}",
            time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => String::new(),
    }
}

impl PlatformError {
    /// No answer to `what` within the client's request timeout.
    pub(crate) fn timeout(account: &str, what: &str, timeout: std::time::Duration) -> Self {
        PlatformError::Timeout {
            account: account.to_owned(),
            what: what.into(),
            secs: timeout.as_secs(),
        }
    }

    /// A request to `base_url` that got no answer: it timed out, or the connection failed.
    pub(crate) fn from_reqwest(
        account: &str,
        what: &str,
        base_url: &str,
        timeout: std::time::Duration,
        error: reqwest::Error,
    ) -> Self {
        if error.is_timeout() {
            PlatformError::timeout(account, what, timeout)
        } else {
            PlatformError::Transport {
                account: account.to_owned(),
                what: what.into(),
                reason: format!("{} ({base_url})", crate::http::root_cause(&error)),
                connect: error.is_connect(),
            }
        }
    }

    /// The JSON body of a successful answer to `what`, or `Malformed` saying why not.
    pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
        account: &str,
        what: &str,
        body: &[u8],
    ) -> Result<T, Self> {
        serde_json::from_slice(body).map_err(|e| PlatformError::Malformed {
            account: account.to_owned(),
            what: what.into(),
            reason: e.to_string(),
        })
    }

    /// What an error answer means, once the platform has recognised its own refusals
    /// of the credentials: a rate limit, a refusal on length (`too_long`: `Some` with
    /// the limit the server named, if any), a server fault, or any other refusal.
    pub(crate) fn from_answer(
        account: String,
        what: &str,
        status: u16,
        message: String,
        retry_at: Option<DateTime<Utc>>,
        too_long: Option<Option<usize>>,
    ) -> PlatformError {
        let what = what.to_owned();
        match (status, too_long) {
            (429, _) => PlatformError::RateLimited {
                account,
                what,
                retry_at,
            },
            (_, Some(max)) => PlatformError::TooLong {
                account,
                max,
                message,
            },
            (500..=599, _) => PlatformError::Server {
                account,
                what,
                status,
                message,
            },
            _ => PlatformError::Refused {
                account,
                what,
                status,
                message,
            },
        }
    }

    /// The request may have done its work before it failed: a post may exist.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            PlatformError::Server { .. }
            | PlatformError::Timeout { .. }
            | PlatformError::Malformed { .. }
            | PlatformError::Duplicate { .. } => true,
            PlatformError::Transport { connect, .. } => !connect,
            _ => false,
        }
    }

    /// Trying again later may succeed (a rate limit aside: that is waited out).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlatformError::Server { .. }
                | PlatformError::Timeout { .. }
                | PlatformError::Malformed { .. }
                | PlatformError::Transport { .. }
                | PlatformError::Duplicate { .. }
        )
    }
}

impl crate::http::Retryable for PlatformError {
    fn verdict(&self) -> crate::http::Verdict {
        match self {
            PlatformError::RateLimited { retry_at, .. } => {
                crate::http::Verdict::RateLimited(*retry_at)
            }
            error if error.is_transient() => crate::http::Verdict::Transient,
            _ => crate::http::Verdict::Final,
        }
    }
}

/// An account to post to or read from, with its client.
pub struct Target {
    pub account: String,
    /// Its network, known also when its client could not be made.
    pub kind: PlatformKind,
    /// The client; `Err` when it could not be made (e.g. no token), reported as that
    /// account's failure.
    pub platform: Result<Box<dyn Platform>, PlatformError>,
}

/// One account on one network.
#[async_trait::async_trait]
pub trait Platform: Send + Sync {
    /// The account's name in the configuration.
    fn account(&self) -> &str;

    /// The kind of network (how it counts length).
    fn kind(&self) -> PlatformKind;

    /// Checks the token and says who the account is.
    async fn verify(&self) -> Result<Identity, PlatformError>;

    /// The server's limits (length, media).
    async fn limits(&self) -> Result<ServerLimits, PlatformError>;

    /// Uploads an image with its alt text; returns the media id to attach.
    async fn upload_media(&self, media: &MediaUpload) -> Result<String, PlatformError>;

    /// Sends one post.
    async fn post(&self, post: &NewPost<'_>) -> Result<RemotePost, PlatformError>;

    /// Finds a post of this account matching `lookup`, if it exists.
    async fn find_post(&self, lookup: &PostLookup<'_>)
        -> Result<Option<RemotePost>, PlatformError>;

    /// Every reply under the post `post_id`, at any depth, as the server shows them to
    /// this account (papercast's own posts among them).
    async fn replies(&self, post_id: &str) -> Result<Vec<ServerStatus>, PlatformError> {
        let _ = post_id;
        Err(self.cannot("read replies"))
    }

    /// One status; `None` when the server says it is gone.
    async fn status(&self, id: &str) -> Result<Option<ServerStatus>, PlatformError> {
        let _ = id;
        Err(self.cannot("read a status"))
    }

    /// Several statuses in one request, by id (those gone left out), where the network
    /// can; `None` where it cannot, and each is read with [`Platform::status`].
    async fn statuses(
        &self,
        ids: &[String],
    ) -> Result<Option<std::collections::HashMap<String, ServerStatus>>, PlatformError> {
        let _ = ids;
        Ok(None)
    }

    /// What each of these posts drew so far, as the network counts it, by post id;
    /// posts gone from the server are left out.
    async fn engagement(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, crate::model::Engagement)>, PlatformError> {
        let _ = ids;
        Err(self.cannot("read counts"))
    }

    /// Statuses that mention this account: those notified after the notification
    /// `since`, or (without it, on a first read) those since `not_before`.
    async fn mentions(
        &self,
        since: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<Mentions, PlatformError> {
        let _ = (since, not_before);
        Err(self.cannot("read mentions"))
    }

    /// How many requests this client sent since the last call (for networks that bill
    /// API use; others count none).
    fn take_requests(&self) -> u64 {
        0
    }

    /// The most posts the account may make in a calendar month, if its configuration
    /// caps them.
    fn monthly_post_limit(&self) -> Option<u32> {
        None
    }

    /// The error of a network that cannot do `what` (yet).
    fn cannot(&self, what: &str) -> PlatformError {
        PlatformError::Unsupported(format!(
            "account `{}`: papercast cannot {what} on this network yet",
            self.account()
        ))
    }
}
