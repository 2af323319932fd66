//! papercast's configuration: built-in defaults, the user's file, environment, flags.
//!
//! Sources are layered in one order, later wins: `config/default.toml` (embedded) →
//! the file given by `--config` (or `papercast.toml` in the working directory, when
//! present) → environment variables `PAPERCAST__SECTION__KEY` → command-line overrides.
//! Unknown keys are an error that names the key.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

mod notify;
pub use notify::{NotifyChannel, NotifyConfig, NotifyEvent, SmtpTls, WebhookFormat};

/// The embedded defaults, also printed by `papercast config defaults`.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The file read from the working directory when no `--config` is given.
pub const LOCAL_FILE: &str = "papercast.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub fetch: FetchConfig,
    pub compose: ComposeConfig,
    pub store: StoreConfig,
    pub publish: PublishConfig,
    /// The accounts threads are posted to (none by default).
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    pub web: WebConfig,
    #[serde(default)]
    pub moderators: Vec<ModeratorConfig>,
    /// The feeds watched for new posts.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    pub watch: WatchConfig,
    pub daemon: DaemonConfig,
    pub replies: RepliesConfig,
    /// Where moderators are told about drafts and threads (none by default).
    #[serde(default)]
    pub notify: Vec<NotifyConfig>,
}

/// Collecting replies, auto-hide rules and answers (`[replies]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepliesConfig {
    /// Replies are collected from threads whose head was posted this many days ago or less.
    pub window_days: u64,
    /// `papercast run` reads a thread again after a quarter of the time since its
    /// latest activity, but never sooner than this...
    pub min_interval_secs: u64,
    /// ...and never later than this.
    pub max_interval_secs: u64,
    /// Hide replies from accounts their server marks as bots.
    pub hide_bots: bool,
    /// Hide replies whose text contains any of these words (any case).
    pub hide_keywords: Vec<String>,
    /// Answer a question-like reply once with the link to the paper's section.
    pub answer_questions: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchConfig {
    pub user_agent: String,
    pub timeout_secs: u64,
    pub max_page_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    /// Folder of user templates overriding the bundled ones; empty = none.
    pub templates_dir: PathBuf,
    pub closing_post: bool,
    pub mastodon_max_characters: usize,
    pub mastodon_characters_reserved_per_url: usize,
    /// A post with more papers than this is refused (a page repeating a section).
    pub max_papers: usize,
    /// No thread is longer than this many posts.
    pub max_posts: usize,
    /// The most hashtags on a thread's head post.
    pub max_hashtags: usize,
    /// A blog tag → the team's own hashtag for it, or "" for none.
    #[serde(default)]
    pub hashtags: std::collections::BTreeMap<String, String>,
}

impl ComposeConfig {
    /// How a post for a network of `kind` is counted before its server has said:
    /// Mastodon servers by the configured limits, the others by their fixed ones.
    pub fn rules_for(&self, kind: crate::model::PlatformKind) -> crate::model::LengthRules {
        use crate::model::{LengthRules, PlatformKind};
        match kind {
            PlatformKind::Mastodon => LengthRules::mastodon(
                self.mastodon_max_characters,
                self.mastodon_characters_reserved_per_url,
            ),
            PlatformKind::Bluesky | PlatformKind::X => LengthRules::default_for(kind),
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database file (when `url` is not set).
    pub path: PathBuf,
    /// A PostgreSQL server shared by several instances (`postgres://user@host/db`);
    /// `None` = SQLite at `path`. It may hold a password: never print it, use
    /// [`StoreConfig::redacted_url`].
    #[serde(default)]
    pub url: Option<String>,
    /// How long a claim on a draft holds without being renewed.
    pub lease: String,
}

impl StoreConfig {
    /// How long a claim holds (validated when the configuration is loaded).
    pub fn lease(&self) -> std::time::Duration {
        parse_duration(&self.lease).unwrap_or(std::time::Duration::from_secs(60))
    }

    /// `url` without its password, for messages and logs.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_deref().map(redact_url)
    }
}

/// A database URL with any password replaced by `***` (in the user part and in a
/// `password=` parameter).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Not a URL: say nothing of it but that it is set.
        Err(_) => "(store.url, not a URL)".into(),
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("path", &self.path)
            .field("url", &self.redacted_url())
            .field("lease", &self.lease)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    pub request_timeout_secs: u64,
    pub max_attempts: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_secs: u64,
    pub max_rate_limit_wait_secs: u64,
    pub lookup_recent_statuses: u32,
    pub max_image_bytes: u64,
}

/// One account that threads are posted to. It names where its secret is, never the
/// secret itself, so that this struct (and its `Debug`) holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "AccountTable")]
pub struct AccountConfig {
    pub name: String,
    /// The server software, which also says the network.
    pub platform: AccountPlatform,
    /// The server's base URL, e.g. `https://sigmoid.social` (for Bluesky the PDS,
    /// e.g. `https://bsky.social`).
    pub server: String,
    /// ISO 639 language code of the posts.
    pub language: Option<String>,
    /// Whether a new thread waits for a moderator (the default) or goes out at once.
    pub review: Review,
    /// What only this account's network has.
    pub network: NetworkAccount,
}

/// The keys of an account that belong to its network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkAccount {
    /// A server of the Mastodon API family: an access token.
    Mastodon {
        token: TokenSource,
        visibility: Visibility,
    },
    /// A Bluesky account: a handle and an app password.
    Bluesky {
        handle: String,
        password: TokenSource,
    },
    /// An X account: an OAuth 2.0 user token (in a file the login wrote, with its
    /// refresh token, or a plain access token), the app's client id for login and
    /// refresh, and an optional cap on the posts of a calendar month.
    X {
        token: TokenSource,
        client_id_env: Option<String>,
        monthly_post_limit: Option<u32>,
    },
}

/// An `[[accounts]]` table as written: its `platform` picks the variant, and each
/// variant takes its own network's keys.
#[derive(Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
enum AccountTable {
    Mastodon(MastodonTable),
    #[serde(alias = "akkoma")]
    Pleroma(MastodonTable),
    Gotosocial(MastodonTable),
    Friendica(MastodonTable),
    Firefish(MastodonTable),
    Pixelfed(MastodonTable),
    Bluesky(BlueskyTable),
    X(XTable),
}

/// A Mastodon-family account's keys. Bluesky's keys are read only to say where they
/// belong.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MastodonTable {
    name: String,
    server: String,
    /// The environment variable holding the access token.
    token_env: Option<String>,
    /// A file holding the access token.
    token_file: Option<PathBuf>,
    #[serde(default)]
    visibility: Visibility,
    language: Option<String>,
    #[serde(default)]
    review: Review,
    handle: Option<serde::de::IgnoredAny>,
    password_env: Option<serde::de::IgnoredAny>,
    password_file: Option<serde::de::IgnoredAny>,
}

/// A Bluesky account's keys. The Mastodon family's keys are read only to say that
/// they do not apply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlueskyTable {
    name: String,
    server: String,
    /// The handle (or email) to log in with.
    handle: Option<String>,
    /// The environment variable holding the account's app password.
    password_env: Option<String>,
    /// A file holding the account's app password.
    password_file: Option<PathBuf>,
    language: Option<String>,
    #[serde(default)]
    review: Review,
    token_env: Option<serde::de::IgnoredAny>,
    token_file: Option<serde::de::IgnoredAny>,
    visibility: Option<serde::de::IgnoredAny>,
}

/// An X account's keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct XTable {
    name: String,
    server: String,
    /// The environment variable holding a plain OAuth 2.0 user access token.
    token_env: Option<String>,
    /// The file `papercast accounts login` writes (access and refresh token, expiry).
    token_file: Option<PathBuf>,
    /// The environment variable holding the X app's OAuth 2.0 client id.
    client_id_env: Option<String>,
    /// Posts per calendar month (UTC) papercast stops before.
    monthly_post_limit: Option<u32>,
    language: Option<String>,
    #[serde(default)]
    review: Review,
}

impl XTable {
    fn check(self) -> Result<AccountConfig, String> {
        let name = self.name;
        check_common(&name, &self.server)?;
        let token = one_secret(
            &name,
            self.token_env,
            self.token_file,
            ("token_env", "token_file", "token"),
        )?;
        if let Some(var) = &self.client_id_env {
            if var.is_empty() || var.contains('=') {
                return Err(format!(
                    "account `{name}`: client_id_env must be the name of an environment variable"
                ));
            }
        }
        if self.monthly_post_limit == Some(0) {
            return Err(format!(
                "account `{name}`: monthly_post_limit = 0 would never post; remove it for no \
                 limit"
            ));
        }
        Ok(AccountConfig {
            name,
            platform: AccountPlatform::X,
            server: self.server,
            language: self.language,
            review: self.review,
            network: NetworkAccount::X {
                token,
                client_id_env: self.client_id_env,
                monthly_post_limit: self.monthly_post_limit,
            },
        })
    }
}

impl TryFrom<AccountTable> for AccountConfig {
    type Error = String;

    fn try_from(table: AccountTable) -> Result<Self, String> {
        let (platform, table) = match table {
            AccountTable::Mastodon(t) => (AccountPlatform::Mastodon, t),
            AccountTable::Pleroma(t) => (AccountPlatform::Pleroma, t),
            AccountTable::Gotosocial(t) => (AccountPlatform::Gotosocial, t),
            AccountTable::Friendica(t) => (AccountPlatform::Friendica, t),
            AccountTable::Firefish(t) => (AccountPlatform::Firefish, t),
            AccountTable::Pixelfed(t) => (AccountPlatform::Pixelfed, t),
            AccountTable::Bluesky(t) => return t.check(),
            AccountTable::X(t) => return t.check(),
        };
        table.check(platform)
    }
}

/// Checks what every account has: a usable name and an http(s) server.
fn check_common(name: &str, server: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "account name `{name}`: use letters, digits, `-` and `_` only"
        ));
    }
    match url::Url::parse(server) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(format!(
            "account `{name}`: server `{server}` is not an http(s) URL; write it like \
             https://mastodon.social"
        )),
    }
}

/// Exactly one place for a secret: `env` (a variable's name) or `file`.
fn one_secret(
    name: &str,
    env: Option<String>,
    file: Option<PathBuf>,
    (env_key, file_key, what): (&str, &str, &str),
) -> Result<TokenSource, String> {
    match (env, file) {
        (Some(_), Some(_)) => Err(format!(
            "account `{name}`: set {env_key} or {file_key}, not both"
        )),
        (None, None) => Err(format!(
            "account `{name}`: no {what}; set {env_key} (the name of an environment \
             variable holding it) or {file_key} (a file holding it)"
        )),
        (Some(var), None) if var.is_empty() || var.contains('=') => Err(format!(
            "account `{name}`: {env_key} must be the name of an environment variable"
        )),
        (Some(var), None) => Ok(TokenSource::Env(var)),
        (None, Some(path)) => Ok(TokenSource::File(path)),
    }
}

impl MastodonTable {
    fn check(self, platform: AccountPlatform) -> Result<AccountConfig, String> {
        let name = self.name;
        check_common(&name, &self.server)?;
        if self.handle.is_some() || self.password_env.is_some() || self.password_file.is_some() {
            return Err(format!(
                "account `{name}`: handle, password_env and password_file are for Bluesky \
                 accounts; a {} account has token_env or token_file",
                platform.as_str()
            ));
        }
        let token = one_secret(
            &name,
            self.token_env,
            self.token_file,
            ("token_env", "token_file", "token"),
        )?;
        Ok(AccountConfig {
            name,
            platform,
            server: self.server,
            language: self.language,
            review: self.review,
            network: NetworkAccount::Mastodon {
                token,
                visibility: self.visibility,
            },
        })
    }
}

impl BlueskyTable {
    fn check(self) -> Result<AccountConfig, String> {
        let name = self.name;
        check_common(&name, &self.server)?;
        if self.token_env.is_some() || self.token_file.is_some() {
            return Err(format!(
                "account `{name}`: a Bluesky account has no token; set password_env or \
                 password_file (an app password) instead of token_env/token_file"
            ));
        }
        if self.visibility.is_some() {
            return Err(format!(
                "account `{name}`: visibility is for Mastodon-family accounts; Bluesky \
                 posts are public, so remove it"
            ));
        }
        let handle = match self.handle {
            Some(handle) if !handle.trim().is_empty() => handle,
            _ => {
                return Err(format!(
                    "account `{name}`: set handle, the account's handle (e.g. \
                     papercast.bsky.social)"
                ))
            }
        };
        let password = one_secret(
            &name,
            self.password_env,
            self.password_file,
            ("password_env", "password_file", "app password"),
        )?;
        Ok(AccountConfig {
            name,
            platform: AccountPlatform::Bluesky,
            server: self.server,
            language: self.language,
            review: self.review,
            network: NetworkAccount::Bluesky { handle, password },
        })
    }
}

/// Whether an account's threads wait for a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Review {
    /// A new thread is a draft until a moderator approves it.
    #[default]
    Required,
    /// A new thread is posted at once.
    None,
}

impl<'de> Deserialize<'de> for Review {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "required" => Ok(Review::Required),
            "none" => Ok(Review::None),
            other => Err(serde::de::Error::custom(format!(
                "review `{other}` is not known; write review = \"required\" (a moderator \
                 approves each thread) or review = \"none\" (threads are posted at once)"
            ))),
        }
    }
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Required => "required",
            Review::None => "none",
        }
    }
}

/// The server software of an account. All but Bluesky speak the Mastodon API family
/// (through `megalodon`); Akkoma is served by `pleroma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountPlatform {
    Mastodon,
    #[serde(alias = "akkoma")]
    Pleroma,
    Gotosocial,
    Friendica,
    Firefish,
    Pixelfed,
    Bluesky,
    X,
}

impl AccountPlatform {
    /// The network this server software belongs to.
    pub fn kind(self) -> crate::model::PlatformKind {
        use crate::model::PlatformKind;
        match self {
            AccountPlatform::Mastodon
            | AccountPlatform::Pleroma
            | AccountPlatform::Gotosocial
            | AccountPlatform::Friendica
            | AccountPlatform::Firefish
            | AccountPlatform::Pixelfed => PlatformKind::Mastodon,
            AccountPlatform::Bluesky => PlatformKind::Bluesky,
            AccountPlatform::X => PlatformKind::X,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountPlatform::Mastodon => "mastodon",
            AccountPlatform::Pleroma => "pleroma",
            AccountPlatform::Gotosocial => "gotosocial",
            AccountPlatform::Friendica => "friendica",
            AccountPlatform::Firefish => "firefish",
            AccountPlatform::Pixelfed => "pixelfed",
            AccountPlatform::Bluesky => "bluesky",
            AccountPlatform::X => "x",
        }
    }
}

/// Who sees a post (Mastodon's `visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }
}

/// Where an account's token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env(name) => write!(f, "environment variable {name}"),
            TokenSource::File(path) => write!(f, "token file {}", path.display()),
        }
    }
}

impl AccountConfig {
    /// Where the secret is: the token, or for Bluesky the app password.
    pub fn token_source(&self) -> TokenSource {
        match &self.network {
            NetworkAccount::Mastodon { token, .. } | NetworkAccount::X { token, .. } => {
                token.clone()
            }
            NetworkAccount::Bluesky { password, .. } => password.clone(),
        }
    }

    /// The handle a Bluesky account logs in with.
    pub fn handle(&self) -> Option<&str> {
        match &self.network {
            NetworkAccount::Bluesky { handle, .. } => Some(handle),
            NetworkAccount::Mastodon { .. } | NetworkAccount::X { .. } => None,
        }
    }

    /// Who sees the posts of a Mastodon-family account.
    pub fn visibility(&self) -> Visibility {
        match &self.network {
            NetworkAccount::Mastodon { visibility, .. } => *visibility,
            NetworkAccount::Bluesky { .. } | NetworkAccount::X { .. } => Visibility::Public,
        }
    }

    /// The environment variable naming an X account's OAuth 2.0 client id.
    pub fn client_id_env(&self) -> Option<&str> {
        match &self.network {
            NetworkAccount::X { client_id_env, .. } => client_id_env.as_deref(),
            _ => None,
        }
    }

    /// The most posts an account may make in a calendar month (UTC), if capped.
    pub fn monthly_post_limit(&self) -> Option<u32> {
        match &self.network {
            NetworkAccount::X {
                monthly_post_limit, ..
            } => *monthly_post_limit,
            _ => None,
        }
    }

    /// The network this account is on.
    pub fn kind(&self) -> crate::model::PlatformKind {
        self.platform.kind()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub listen: String,
    pub session_secret_env: String,
    pub session_hours: u64,
    pub hook_secret_env: String,
    pub secure_cookies: bool,
    /// Origins allowed to read the discussion endpoints from a browser (CORS).
    pub discussion_origins: Vec<String>,
    /// `Cache-Control: max-age` of the discussion endpoints, in seconds.
    pub discussion_max_age_secs: u64,
    /// Failed logins per client address and per moderator name within the lockout
    /// window before logins are refused (429).
    pub login_max_failures: u32,
    pub login_lockout_secs: u64,
    /// The page's address as moderators reach it (e.g. behind a proxy), for the links
    /// in notifications; unset = `http://` + `listen`.
    pub public_url: Option<String>,
}

impl WebConfig {
    /// The address of a draft's page, for links in notifications.
    pub fn draft_link(&self, id: i64) -> String {
        let base = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        format!("{}/drafts/{id}", base.trim_end_matches('/'))
    }
}

/// A person who may log in to the moderators' page.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeratorConfig {
    pub name: String,
    /// Argon2 PHC string; see `papercast moderators hash-password`.
    pub password_hash: String,
}

impl std::fmt::Debug for ModeratorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModeratorConfig")
            .field("name", &self.name)
            .field("password_hash", &"<hidden>")
            .finish()
    }
}

/// A feed watched for new posts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Your name for it: letters, digits, `-` and `_`; the watcher's state is kept
    /// under it.
    pub name: String,
    /// The feed's URL (RSS 2.0, Atom or JSON Feed).
    pub feed: String,
    /// Entries of these categories are announced (compared without case); empty = all.
    #[serde(default)]
    pub categories: Vec<String>,
    /// How long between polls, e.g. `10m`.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
}

fn default_poll_interval() -> String {
    "10m".into()
}

impl SourceConfig {
    /// The poll interval; validation has made sure it reads.
    pub fn poll_every(&self) -> std::time::Duration {
        parse_duration(&self.poll_interval).unwrap_or(std::time::Duration::from_secs(600))
    }
}

/// How the feed watcher polls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Each wait is the poll interval give or take this share, in percent, at random.
    pub jitter_percent: u8,
    /// The longest wait after failed polls (the wait doubles per failure).
    pub max_backoff: String,
    /// How many polls try a new post whose page cannot be drafted before giving up.
    pub max_page_attempts: u32,
}

impl WatchConfig {
    pub fn max_backoff(&self) -> std::time::Duration {
        parse_duration(&self.max_backoff).unwrap_or(std::time::Duration::from_secs(6 * 3600))
    }
}

/// How `papercast run` posts and stops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// How often the publisher looks for approved and due drafts.
    pub publish_interval: String,
    /// The first wait before a failed thread is tried again (doubling per failure).
    pub retry_failed_after: String,
    /// How many times the daemon tries a thread before it waits for a moderator.
    pub max_post_attempts: u32,
    /// On SIGTERM/SIGINT, how long the post being sent may take before papercast stops.
    pub shutdown_grace: String,
}

impl DaemonConfig {
    pub fn publish_interval(&self) -> std::time::Duration {
        parse_duration(&self.publish_interval).unwrap_or(std::time::Duration::from_secs(30))
    }

    pub fn retry_failed_after(&self) -> std::time::Duration {
        parse_duration(&self.retry_failed_after).unwrap_or(std::time::Duration::from_secs(600))
    }

    pub fn shutdown_grace(&self) -> std::time::Duration {
        parse_duration(&self.shutdown_grace).unwrap_or(std::time::Duration::from_secs(30))
    }
}

/// Reads a duration written like `90s`, `10m`, `1h30m`, `500ms` or `2d`: one or more
/// numbers, each with a unit (`ms`, `s`, `m`, `h`, `d`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    let fail = || format!("`{text}` is not a duration; write it like 90s, 10m, 1h30m or 500ms");
    if trimmed.is_empty() {
        return Err(fail());
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(fail());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| fail())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let millis_per = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            _ => return Err(fail()),
        };
        let millis = number.checked_mul(millis_per).ok_or_else(fail)?;
        total = total
            .checked_add(std::time::Duration::from_millis(millis))
            .ok_or_else(fail)?;
        rest = rest[unit_len..].trim_start();
    }
    // Longer than a year is surely a typo, and would overflow time arithmetic later.
    if total > std::time::Duration::from_secs(366 * 86_400) {
        return Err(format!(
            "`{text}` is longer than a year; write a shorter duration"
        ));
    }
    Ok(total)
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Where to read configuration from, and what the command line overrides.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    /// The user's file; `None` = `papercast.toml` in the working directory if present.
    pub file: Option<PathBuf>,
    /// `(key, value)` pairs from command-line flags, e.g. `("compose.closing_post", "false")`.
    pub overrides: Vec<(String, String)>,
    /// Environment variables to read, as `(name, value)`; `None` = the process environment.
    pub environment: Option<Vec<(String, String)>>,
}

impl Config {
    /// Loads the configuration from all sources, in precedence order.
    pub fn load(sources: &ConfigSources) -> Result<Config, ConfigError> {
        Self::load_merged(sources).map(|(config, _)| config)
    }

    /// The configuration as every source together sets it, as TOML, with values that
    /// could be secret (moderators' password hashes) replaced by `<redacted>`: what
    /// `papercast config show` prints. Accounts name their tokens' variables and files,
    /// never the tokens.
    pub fn effective_toml(sources: &ConfigSources) -> Result<String, ConfigError> {
        let (_, merged) = Self::load_merged(sources)?;
        let mut table: toml::Table = merged
            .try_deserialize()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        redact(&mut table);
        toml::to_string(&table).map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    fn load_merged(sources: &ConfigSources) -> Result<(Config, config::Config), ConfigError> {
        use config::{Environment, File, FileFormat};

        let mut builder =
            config::Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));

        let file = match &sources.file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::File {
                        path: path.clone(),
                        message: "no such file; pass an existing TOML file to --config".into(),
                    });
                }
                Some(path.clone())
            }
            None => Some(PathBuf::from(LOCAL_FILE)).filter(|p| p.is_file()),
        };
        if let Some(path) = &file {
            builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
        }

        let mut environment = Environment::with_prefix("PAPERCAST")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true);
        if let Some(vars) = &sources.environment {
            environment = environment.source(Some(vars.iter().cloned().collect()));
        }
        builder = builder.add_source(environment);

        for (key, value) in &sources.overrides {
            builder = builder
                .set_override(key.as_str(), value.as_str())
                .map_err(|e| ConfigError::Invalid(format!("flag for `{key}`: {e}")))?;
        }

        let variables: Vec<String> = match &sources.environment {
            Some(vars) => vars.iter().map(|(name, _)| name.clone()).collect(),
            None => std::env::vars_os()
                .map(|(name, _)| name.to_string_lossy().into_owned())
                .collect(),
        };
        let describe = |e| describe(e, file.as_deref(), &variables);
        let merged = builder.build().map_err(describe)?;
        refuse_fractions(&merged)?;
        let config: Config = merged.clone().try_deserialize().map_err(describe)?;
        config.validate()?;
        Ok((config, merged))
    }

    /// Every count and duration in whole numbers has an upper bound, so that an absurd
    /// value is a named config error here rather than an overflow (a panic) later.
    fn validate_bounds(&self) -> Result<(), ConfigError> {
        const DAY: u64 = 86_400;
        let bounds: [(&str, u64, u64); 13] = [
            ("fetch.timeout_secs", self.fetch.timeout_secs, 3_600),
            ("fetch.max_page_bytes", self.fetch.max_page_bytes, 1 << 30),
            (
                "publish.request_timeout_secs",
                self.publish.request_timeout_secs,
                3_600,
            ),
            (
                "publish.max_attempts",
                u64::from(self.publish.max_attempts),
                100,
            ),
            (
                "publish.backoff_initial_ms",
                self.publish.backoff_initial_ms,
                3_600_000,
            ),
            (
                "publish.backoff_max_secs",
                self.publish.backoff_max_secs,
                DAY,
            ),
            (
                "publish.max_rate_limit_wait_secs",
                self.publish.max_rate_limit_wait_secs,
                DAY,
            ),
            (
                "publish.max_image_bytes",
                self.publish.max_image_bytes,
                1 << 30,
            ),
            (
                "publish.lookup_recent_statuses",
                u64::from(self.publish.lookup_recent_statuses),
                1_000,
            ),
            ("replies.window_days", self.replies.window_days, 3_660),
            (
                "replies.min_interval_secs",
                self.replies.min_interval_secs,
                366 * DAY,
            ),
            (
                "replies.max_interval_secs",
                self.replies.max_interval_secs,
                366 * DAY,
            ),
            (
                "web.discussion_max_age_secs",
                self.web.discussion_max_age_secs,
                366 * DAY,
            ),
        ];
        for (key, value, max) in bounds {
            if value > max {
                return Err(ConfigError::Invalid(format!(
                    "{key} is {value}; the largest accepted value is {max}"
                )));
            }
        }
        for (key, value) in [
            ("watch.max_page_attempts", self.watch.max_page_attempts),
            ("daemon.max_post_attempts", self.daemon.max_post_attempts),
        ] {
            if u64::from(value) > 100 {
                return Err(ConfigError::Invalid(format!(
                    "{key} is {value}; the largest accepted value is 100"
                )));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_bounds()?;
        let lease = parse_duration(&self.store.lease)
            .map_err(|e| ConfigError::Invalid(format!("store.lease: {e}")))?;
        if lease < std::time::Duration::from_secs(5) {
            return Err(ConfigError::Invalid(format!(
                "store.lease is {}; a claim must hold at least 5s (it is renewed every \
                 third of it while a thread posts)",
                self.store.lease
            )));
        }
        if let Some(url) = &self.store.url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid(format!(
                    "store.url {} is not a PostgreSQL URL; write it like \
                     postgres://user@host:5432/papercast, or remove it to use SQLite at \
                     store.path",
                    redact_url(url)
                )));
            }
        }
        if self.fetch.timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "fetch.timeout_secs is 0; set it to a number of seconds, e.g. 20".into(),
            ));
        }
        for (key, value) in [
            ("compose.max_papers", self.compose.max_papers),
            ("compose.max_posts", self.compose.max_posts),
        ] {
            if !(1..=1_000).contains(&value) {
                return Err(ConfigError::Invalid(format!(
                    "{key} is {value}; set it between 1 and 1000"
                )));
            }
        }
        if self.fetch.user_agent.chars().any(char::is_control) {
            return Err(ConfigError::Invalid(
                "fetch.user_agent contains a line break or another control character; an \
                 HTTP header is one line of text"
                    .into(),
            ));
        }
        if self.compose.mastodon_max_characters < 100 {
            return Err(ConfigError::Invalid(format!(
                "compose.mastodon_max_characters is {}; a Mastodon post needs at least 100 \
                 (the default is 500)",
                self.compose.mastodon_max_characters
            )));
        }
        if self.publish.request_timeout_secs == 0 || self.publish.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "publish.request_timeout_secs and publish.max_attempts must be at least 1".into(),
            ));
        }
        if self.compose.max_hashtags > 10 {
            return Err(ConfigError::Invalid(format!(
                "compose.max_hashtags is {}; more than a few hashtags read as spam; set it \
                 between 0 and 10, e.g. 4",
                self.compose.max_hashtags
            )));
        }
        for (tag, hashtag) in &self.compose.hashtags {
            let body = hashtag.trim().trim_start_matches('#');
            if !hashtag.trim().is_empty()
                && (body.is_empty() || !body.chars().all(|c| c.is_alphanumeric() || c == '_'))
            {
                return Err(ConfigError::Invalid(format!(
                    "compose.hashtags: `{tag}` maps to `{hashtag}`, which is not a hashtag; \
                     use letters, digits and _ only (e.g. \"#EfficientInference\"), or \"\" \
                     for no hashtag"
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for account in &self.accounts {
            if !names.insert(account.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "two accounts are named `{}`; give each a different name",
                    account.name
                )));
            }
        }
        if let Some(url) = &self.web.public_url {
            let scheme = url::Url::parse(url).map(|u| u.scheme().to_owned());
            if !matches!(scheme.as_deref(), Ok("http" | "https")) {
                return Err(ConfigError::Invalid(format!(
                    "web.public_url is `{url}`; give the page's http(s) address, e.g. \
                     https://papercast.example.org"
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for target in &self.notify {
            if !names.insert(target.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "two [[notify]] targets are named `{}`; give each its own name",
                    target.name
                )));
            }
        }
        if self.web.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "web.listen is `{}`; give an address and port, e.g. 127.0.0.1:8080",
                self.web.listen
            )));
        }
        if !(1..=720).contains(&self.web.session_hours) {
            return Err(ConfigError::Invalid(format!(
                "web.session_hours is {}; set it between 1 and 720 (30 days), e.g. 12",
                self.web.session_hours
            )));
        }
        if !(1..=10_000).contains(&self.web.login_max_failures) {
            return Err(ConfigError::Invalid(format!(
                "web.login_max_failures is {}; set it between 1 and 10000, e.g. 10",
                self.web.login_max_failures
            )));
        }
        if !(1..=86_400).contains(&self.web.login_lockout_secs) {
            return Err(ConfigError::Invalid(format!(
                "web.login_lockout_secs is {}; set it between 1 and 86400 (a day), e.g. 300",
                self.web.login_lockout_secs
            )));
        }
        if self.publish.lookup_recent_statuses == 0 {
            return Err(ConfigError::Invalid(
                "publish.lookup_recent_statuses is 0; a post whose fate is unknown could then \
                 never be found and might be sent twice; set it to e.g. 40"
                    .into(),
            ));
        }
        self.validate_watching()?;
        for origin in &self.web.discussion_origins {
            let parsed = url::Url::parse(origin).ok();
            let bare = parsed.as_ref().is_some_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.origin().ascii_serialization() == origin.trim_end_matches('/')
            });
            if !bare {
                return Err(ConfigError::Invalid(format!(
                    "web.discussion_origins: `{origin}` is not an origin; write it like \
                     https://graphcore-research.github.io (scheme and host, no path)"
                )));
            }
        }
        let replies = &self.replies;
        if replies.window_days == 0 {
            return Err(ConfigError::Invalid(
                "replies.window_days is 0; set how many days after posting replies are \
                 collected, e.g. 60"
                    .into(),
            ));
        }
        if replies.min_interval_secs == 0 || replies.max_interval_secs < replies.min_interval_secs {
            return Err(ConfigError::Invalid(format!(
                "replies.min_interval_secs ({}) must be at least 1 and at most \
                 replies.max_interval_secs ({})",
                replies.min_interval_secs, replies.max_interval_secs
            )));
        }
        if replies.hide_keywords.iter().any(|k| k.trim().is_empty()) {
            return Err(ConfigError::Invalid(
                "replies.hide_keywords has an empty word; remove it".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for moderator in &self.moderators {
            if !names.insert(moderator.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "moderator `{}` is listed twice",
                    moderator.name
                )));
            }
            if !moderator.password_hash.starts_with("$argon2") {
                return Err(ConfigError::Invalid(format!(
                    "moderators: `{}` has a password_hash that is not an Argon2 hash; make one \
                     with `papercast moderators hash-password`",
                    moderator.name
                )));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Checks `[[sources]]`, `[watch]` and `[daemon]`.
    fn validate_watching(&self) -> Result<(), ConfigError> {
        let duration = |key: &str, text: &str| {
            match parse_duration(text) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => Err(format!(
                    "{key} is `{text}`; it must be longer than 0, e.g. 10m"
                )),
                Err(reason) => Err(format!("{key}: {reason}")),
            }
            .map_err(ConfigError::Invalid)
        };
        let mut names = std::collections::HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let name = &source.name;
            let key = format!("sources[{i}]");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ConfigError::Invalid(format!(
                    "{key}.name `{name}`: use letters, digits, `-` and `_` only"
                )));
            }
            if !names.insert(name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "two sources are named `{name}`; give each a different name"
                )));
            }
            match url::Url::parse(&source.feed) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "source `{name}`: feed `{}` is not an http(s) URL; write it like \
                         https://graphcore-research.github.io/feed_rss_created.xml",
                        source.feed
                    )))
                }
            }
            duration(
                &format!("source `{name}`: poll_interval"),
                &source.poll_interval,
            )?;
        }
        if self.watch.jitter_percent > 50 {
            return Err(ConfigError::Invalid(format!(
                "watch.jitter_percent is {}; use 0 to 50 (the default is 10)",
                self.watch.jitter_percent
            )));
        }
        duration("watch.max_backoff", &self.watch.max_backoff)?;
        if self.watch.max_page_attempts == 0 {
            return Err(ConfigError::Invalid(
                "watch.max_page_attempts is 0; set it to at least 1 (the default is 5)".into(),
            ));
        }
        duration("daemon.publish_interval", &self.daemon.publish_interval)?;
        duration("daemon.retry_failed_after", &self.daemon.retry_failed_after)?;
        if let Err(reason) = parse_duration(&self.daemon.shutdown_grace) {
            return Err(ConfigError::Invalid(format!(
                "daemon.shutdown_grace: {reason}"
            )));
        }
        if self.daemon.max_post_attempts == 0 {
            return Err(ConfigError::Invalid(
                "daemon.max_post_attempts is 0; set it to at least 1 (the default is 3)".into(),
            ));
        }
        Ok(())
    }
}

/// The config crate's message in the configuration's words: keys written as in the
/// file (`accounts[0].platform`), and an unknown key said to come from the environment
/// variable that set it, or from the file.
fn describe(error: config::ConfigError, file: Option<&Path>, variables: &[String]) -> ConfigError {
    let mut message = dotted_keys(&error.to_string());
    let from_environment = message.contains(" in the environment");
    if let Some(path) = file {
        // The prefix names the file already.
        message = message.replace(&format!(" in {}", path.display()), "");
    }
    if let Some(key) = key_of(&message) {
        let variable = format!("PAPERCAST__{}", key.replace('.', "__")).to_uppercase();
        let unknown = message.starts_with("unknown field");
        let set_by = variables.iter().find(|v| v.to_uppercase() == variable);
        if let Some(name) = set_by.filter(|_| unknown || from_environment) {
            let message = message.replace(" in the environment", "");
            let fix = if unknown {
                "unset it or correct its name (`papercast config defaults` lists every key)"
            } else {
                "correct its value"
            };
            return ConfigError::Invalid(format!(
                "{message}; it comes from the environment variable {name}: {fix}"
            ));
        }
        if let Some(path) = file {
            if unknown {
                message = format!(
                    "{message}; remove `{key}` from the file or correct its name \
                     (`papercast config defaults` lists every key)"
                );
            }
            return ConfigError::File {
                path: path.to_path_buf(),
                message,
            };
        }
    }
    match file {
        Some(path) if file_error(&error) => ConfigError::File {
            path: path.to_path_buf(),
            message,
        },
        _ => ConfigError::Invalid(message),
    }
}

/// Replaces values that could be secret, wherever they are in the tree.
fn redact(table: &mut toml::Table) {
    for (key, value) in table.iter_mut() {
        match value {
            toml::Value::Table(inner) => redact(inner),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        redact(inner);
                    }
                }
            }
            _ if SECRET_KEYS.contains(&key.as_str()) => {
                *value = toml::Value::String("<redacted>".into());
            }
            _ => {}
        }
    }
}

/// Keys whose values are secret or derived from a secret.
const SECRET_KEYS: [&str; 4] = ["password_hash", "password", "token", "secret"];

/// `accounts[0]platform` (the config crate's way) as `accounts[0].platform`.
fn dotted_keys(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ']'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_')
        {
            out.push('.');
        }
    }
    out
}

/// The key a message is about: `fetch.timeout_secs` from "… for key `fetch.timeout_secs`",
/// and `fetch.timeout_sec` from "unknown field `timeout_sec`, … for key `fetch`".
fn key_of(message: &str) -> Option<String> {
    let parent = message
        .rsplit_once("for key `")
        .and_then(|(_, rest)| rest.split('`').next())
        .filter(|parent| !parent.is_empty());
    let field = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    match (parent, field) {
        (Some(parent), Some(field)) => Some(format!("{parent}.{field}")),
        (None, Some(field)) => Some(field.to_owned()),
        (Some(parent), None) => Some(parent.to_owned()),
        (None, None) => None,
    }
}

fn file_error(error: &config::ConfigError) -> bool {
    matches!(
        error,
        config::ConfigError::FileParse { .. } | config::ConfigError::Foreign(_)
    )
}

/// A whole-number key given a fraction (`0.5`) or `inf`/`nan` is an error that names
/// the key: deserializing would round it, or turn `inf` into the largest number.
/// Whole-number keys are those whose built-in default is a whole number.
fn refuse_fractions(merged: &config::Config) -> Result<(), ConfigError> {
    fn walk(
        prefix: &str,
        defaults: &config::Map<String, config::Value>,
        merged: &config::Config,
    ) -> Result<(), ConfigError> {
        for (key, value) in defaults {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match &value.kind {
                config::ValueKind::Table(table) => walk(&path, table, merged)?,
                config::ValueKind::I64(_)
                | config::ValueKind::I128(_)
                | config::ValueKind::U64(_)
                | config::ValueKind::U128(_) => {
                    let given = merged.get::<config::Value>(&path).ok().map(|v| v.kind);
                    let fraction = match given {
                        Some(config::ValueKind::Float(f)) => Some(f.to_string()),
                        Some(config::ValueKind::String(text))
                            if text.trim().parse::<i128>().is_err()
                                && text.trim().parse::<f64>().is_ok() =>
                        {
                            Some(text)
                        }
                        _ => None,
                    };
                    if let Some(fraction) = fraction {
                        return Err(ConfigError::Invalid(format!(
                            "{path} is {fraction}; it takes a whole number (the default is {value})"
                        )));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    let defaults = config::Config::builder()
        .add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ))
        .build()
        .and_then(|d| d.try_deserialize::<config::Map<String, config::Value>>())
        .map_err(|e| ConfigError::Invalid(format!("the built-in defaults: {e}")))?;
    walk("", &defaults, merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load(
        file: Option<&str>,
        env: &[(&str, &str)],
        flags: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let file = file.map(|text| {
            let mut f = tempfile::NamedTempFile::with_suffix(".toml").expect("temp file");
            f.write_all(text.as_bytes()).expect("write temp file");
            f
        });
        Config::load(&ConfigSources {
            file: file.as_ref().map(|f| f.path().to_path_buf()),
            overrides: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            environment: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        })
    }

    #[test]
    fn defaults_load_alone() {
        let config = load(None, &[], &[]).expect("defaults");
        assert_eq!(config.fetch.timeout_secs, 20);
        assert_eq!(config.compose.mastodon_max_characters, 500);
        assert!(config.compose.closing_post);
    }

    #[test]
    fn file_then_environment_then_flags_win_in_order() {
        let file = "[fetch]\ntimeout_secs = 7\nmax_page_bytes = 10\n";
        let env = [("PAPERCAST__FETCH__TIMEOUT_SECS", "8")];
        let config = load(Some(file), &env, &[]).expect("config");
        assert_eq!(config.fetch.timeout_secs, 8, "environment beats the file");
        assert_eq!(config.fetch.max_page_bytes, 10, "file beats the defaults");

        let config = load(Some(file), &env, &[("fetch.timeout_secs", "9")]).expect("config");
        assert_eq!(config.fetch.timeout_secs, 9, "flags beat the environment");
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let error = load(Some("[fetch]\ntimeout_sec = 7\n"), &[], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("timeout_sec"), "{error}");
    }

    #[test]
    fn whole_number_keys_refuse_fractions_and_infinity_and_user_agent_one_line() {
        for value in ["0.5", "inf", "1e3"] {
            let text = format!("[fetch]\ntimeout_secs = {value}\n");
            let error = load(Some(&text), &[], &[]).expect_err(value);
            assert!(
                error.to_string().contains("fetch.timeout_secs is")
                    && error.to_string().contains("takes a whole number"),
                "{value}: {error}"
            );
        }
        let error = load(None, &[("PAPERCAST__PUBLISH__MAX_ATTEMPTS", "2.5")], &[])
            .expect_err("a fraction from the environment");
        assert!(
            error.to_string().contains("publish.max_attempts is 2.5"),
            "{error}"
        );
        let error =
            load(Some("[fetch]\nuser_agent = \"a\\nb\"\n"), &[], &[]).expect_err("a newline");
        assert!(error.to_string().contains("fetch.user_agent"), "{error}");
        assert!(load(None, &[("PAPERCAST__FETCH__TIMEOUT_SECS", "8")], &[]).is_ok());
    }

    #[test]
    fn a_bad_platform_lists_the_valid_values_and_writes_the_key_with_a_dot() {
        let file = ACCOUNT.replace("gotosocial", "twitter") + "token_env = \"A\"\n";
        let error = load(Some(&file), &[], &[]).expect_err("unknown platform");
        let text = error.to_string();
        assert!(text.contains("`accounts[0].platform`"), "{text}");
        assert!(
            text.contains("`mastodon`") && text.contains("`bluesky`"),
            "{text}"
        );
        assert!(text.starts_with("config file "), "names the file: {text}");
    }

    #[test]
    fn an_unknown_key_names_the_file_or_the_environment_variable_it_came_from() {
        let error = load(Some("[fetch]\ntimeout_sec = 7\n"), &[], &[]).expect_err("in the file");
        assert!(matches!(error, ConfigError::File { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("remove `fetch.timeout_sec` from the file"),
            "{error}"
        );
        let error = load(None, &[("PAPERCAST__COMPOSE__CLOSING", "false")], &[])
            .expect_err("in the environment");
        assert!(
            error
                .to_string()
                .contains("comes from the environment variable PAPERCAST__COMPOSE__CLOSING"),
            "{error}"
        );
        let error = load(None, &[("PAPERCAST__FETCH__TIMEOUT_SECS", "soon")], &[])
            .expect_err("a bad value in the environment");
        assert!(
            error
                .to_string()
                .contains("environment variable PAPERCAST__FETCH__TIMEOUT_SECS: correct its value"),
            "{error}"
        );
    }

    #[test]
    fn unknown_key_in_environment_is_named() {
        let error =
            load(None, &[("PAPERCAST__COMPOSE__CLOSING", "false")], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("closing"), "{error}");
    }

    #[test]
    fn bad_value_says_what_to_fix() {
        let error = load(Some("[fetch]\ntimeout_secs = 0\n"), &[], &[]).expect_err("zero timeout");
        assert!(error.to_string().contains("fetch.timeout_secs"), "{error}");
        let error = load(Some("[fetch]\ntimeout_secs = \"soon\"\n"), &[], &[]).expect_err("string");
        assert!(error.to_string().contains("timeout_secs"), "{error}");
    }

    const ACCOUNT: &str = "[[accounts]]\nname = \"gc\"\nplatform = \"gotosocial\"\n\
                           server = \"https://example.social\"\n";

    #[test]
    fn the_store_is_sqlite_with_a_minute_lease_unless_a_postgres_url_is_set() {
        let config = load(None, &[], &[]).expect("defaults");
        assert_eq!(config.store.url, None);
        assert_eq!(config.store.lease(), std::time::Duration::from_secs(60));
        let env = [
            (
                "PAPERCAST__STORE__URL",
                "postgres://bot:hunter2@db.example:5432/papercast",
            ),
            ("PAPERCAST__STORE__LEASE", "2m"),
        ];
        let config = load(None, &env, &[]).expect("PostgreSQL");
        assert_eq!(config.store.lease(), std::time::Duration::from_secs(120));
        let shown = format!("{:?} {:?}", config.store, config.store.redacted_url());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://bot:***@db.example:5432/papercast"),
            "{shown}"
        );
        let error = load(
            None,
            &[("PAPERCAST__STORE__URL", "mysql://db/papercast")],
            &[],
        )
        .expect_err("not PostgreSQL");
        assert!(
            error.to_string().contains("not a PostgreSQL URL"),
            "{error}"
        );
        let error = load(None, &[("PAPERCAST__STORE__LEASE", "1s")], &[]).expect_err("short");
        assert!(error.to_string().contains("store.lease"), "{error}");
        assert_eq!(
            redact_url("postgres://db/p?user=bot&password=hunter2"),
            "postgres://db/p?user=bot&password=***"
        );
    }

    #[test]
    fn no_accounts_by_default() {
        let config = load(None, &[], &[]).expect("defaults");
        assert!(config.accounts.is_empty());
        assert_eq!(config.store.path, PathBuf::from("papercast.db"));
    }

    #[test]
    fn an_account_is_read_with_its_defaults() {
        let file = format!("{ACCOUNT}token_env = \"GC_TOKEN\"\nlanguage = \"en\"\n");
        let config = load(Some(&file), &[], &[]).expect("config");
        let account = &config.accounts[0];
        assert_eq!(account.platform, AccountPlatform::Gotosocial);
        assert_eq!(account.visibility(), Visibility::Public);
        assert_eq!(account.token_source(), TokenSource::Env("GC_TOKEN".into()));
        assert_eq!(account.language.as_deref(), Some("en"));
    }

    #[test]
    fn an_account_needs_exactly_one_token_source() {
        let error = load(Some(ACCOUNT), &[], &[]).expect_err("no token");
        assert!(error.to_string().contains("token_env"), "{error}");
        let both = format!("{ACCOUNT}token_env = \"A\"\ntoken_file = \"/t\"\n");
        let error = load(Some(&both), &[], &[]).expect_err("both");
        assert!(error.to_string().contains("not both"), "{error}");
    }

    #[test]
    fn a_token_in_the_file_is_an_unknown_key() {
        let file = format!("{ACCOUNT}token = \"secret\"\n");
        let error = load(Some(&file), &[], &[]).expect_err("token itself");
        assert!(error.to_string().contains("token"), "{error}");
    }

    #[test]
    fn account_names_are_unique_and_platforms_known() {
        let file = format!("{ACCOUNT}token_env = \"A\"\n{ACCOUNT}token_env = \"B\"\n");
        let error = load(Some(&file), &[], &[]).expect_err("duplicate");
        assert!(error.to_string().contains("`gc`"), "{error}");
        let file = ACCOUNT.replace("gotosocial", "myspace") + "token_env = \"A\"\n";
        let error = load(Some(&file), &[], &[]).expect_err("unknown platform");
        assert!(error.to_string().contains("myspace"), "{error}");
        let file =
            ACCOUNT.replace("https://example.social", "example.social") + "token_env = \"A\"\n";
        let error = load(Some(&file), &[], &[]).expect_err("bad server");
        assert!(error.to_string().contains("example.social"), "{error}");
    }

    #[test]
    fn the_defaults_watch_the_blog_and_accounts_need_review() {
        let config = load(None, &[], &[]).expect("defaults");
        assert_eq!(config.sources.len(), 1);
        let source = &config.sources[0];
        assert_eq!(
            source.feed,
            "https://graphcore-research.github.io/feed_rss_created.xml"
        );
        assert_eq!(source.categories, ["Papers of the Month"]);
        assert_eq!(source.poll_every(), std::time::Duration::from_secs(600));
        assert_eq!(config.web.listen, "127.0.0.1:8080");
        let file = format!("{ACCOUNT}token_env = \"A\"\n");
        let config = load(Some(&file), &[], &[]).expect("account");
        assert_eq!(config.accounts[0].review, Review::Required);
        let file = format!("{ACCOUNT}token_env = \"A\"\nreview = \"none\"\n");
        let config = load(Some(&file), &[], &[]).expect("account");
        assert_eq!(config.accounts[0].review, Review::None);
    }

    #[test]
    fn sources_in_a_file_replace_the_default_ones() {
        let file = "[[sources]]\nname = \"mine\"\nfeed = \"https://blog.example/feed.json\"\n";
        let config = load(Some(file), &[], &[]).expect("config");
        assert_eq!(config.sources.len(), 1);
        assert_eq!(config.sources[0].name, "mine");
        assert!(
            config.sources[0].categories.is_empty(),
            "not merged with the default"
        );
        assert_eq!(config.sources[0].poll_interval, "10m");
        let config = load(Some("sources = []\n"), &[], &[]).expect("none");
        assert!(config.sources.is_empty());
    }

    #[test]
    fn bad_watch_values_name_the_key_and_the_fix() {
        let source = |extra: &str| {
            format!(
                "[[sources]]\nname = \"blog\"\nfeed = \"https://blog.example/feed.xml\"\n{extra}"
            )
        };
        let error = load(Some(&source("poll_interval = \"10 minutes\"\n")), &[], &[])
            .expect_err("bad interval");
        let message = error.to_string();
        assert!(
            message.contains("poll_interval") && message.contains("10m"),
            "{message}"
        );
        let error = load(Some(&source("poll_interval = \"0s\"\n")), &[], &[]).expect_err("zero");
        assert!(error.to_string().contains("longer than 0"), "{error}");
        let bad_feed = "[[sources]]\nname = \"blog\"\nfeed = \"blog.example/feed.xml\"\n";
        let error = load(Some(bad_feed), &[], &[]).expect_err("bad feed");
        assert!(
            error.to_string().contains("blog.example/feed.xml"),
            "{error}"
        );
        let error = load(Some(&source("categorys = []\n")), &[], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("categorys"), "{error}");
        let file = format!("{ACCOUNT}token_env = \"A\"\nreview = \"maybe\"\n");
        let error = load(Some(&file), &[], &[]).expect_err("bad review");
        let message = error.to_string();
        assert!(
            message.contains("maybe") && message.contains("required"),
            "{message}"
        );
        let error = load(
            None,
            &[("PAPERCAST__DAEMON__PUBLISH_INTERVAL", "soon")],
            &[],
        )
        .expect_err("bad env");
        assert!(
            error.to_string().contains("daemon.publish_interval"),
            "{error}"
        );
    }

    #[test]
    fn durations_read_in_every_unit() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("100000000d").is_err(), "absurdly long");
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        for bad in [
            "",
            "10",
            "m",
            "ten minutes",
            "1.5h",
            "-3s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_and_counts_beyond_their_bounds_are_named_config_errors() {
        for (toml, key) in [
            (
                "[replies]\nwindow_days = 1000000000000\n",
                "replies.window_days",
            ),
            ("[fetch]\ntimeout_secs = 99999999\n", "fetch.timeout_secs"),
            (
                "[publish]\nbackoff_max_secs = 99999999999\n",
                "publish.backoff_max_secs",
            ),
            (
                "[replies]\nmax_interval_secs = 99999999999\n",
                "replies.max_interval_secs",
            ),
        ] {
            let error = load(Some(toml), &[], &[]).expect_err(toml);
            assert!(
                matches!(error, ConfigError::Invalid(_)) && error.to_string().contains(key),
                "{toml}: {error}"
            );
        }
    }

    #[test]
    fn replies_and_discussion_settings_are_checked() {
        let config = load(None, &[], &[]).expect("defaults");
        assert_eq!(
            config.web.discussion_origins,
            ["https://graphcore-research.github.io"]
        );
        assert_eq!(config.replies.window_days, 60);
        assert!(!config.replies.answer_questions && !config.replies.hide_bots);
        let error = load(
            Some("[web]\ndiscussion_origins = [\"https://blog.example/path\"]\n"),
            &[],
            &[],
        )
        .expect_err("a path is no origin");
        assert!(error.to_string().contains("blog.example/path"), "{error}");
        let error = load(Some("[replies]\nwindow_days = 0\n"), &[], &[]).expect_err("zero");
        assert!(error.to_string().contains("replies.window_days"), "{error}");
        let error = load(
            Some("[replies]\nmin_interval_secs = 600\nmax_interval_secs = 60\n"),
            &[],
            &[],
        )
        .expect_err("min above max");
        assert!(error.to_string().contains("max_interval_secs"), "{error}");
        let config = load(
            Some("[replies]\nhide_keywords = [\"spam\"]\nhide_bots = true\n"),
            &[],
            &[],
        )
        .expect("rules");
        assert_eq!(config.replies.hide_keywords, ["spam"]);
    }

    #[test]
    fn an_x_account_has_a_token_a_client_id_and_an_optional_monthly_limit() {
        let account = "[[accounts]]\nname = \"gc-x\"\nplatform = \"x\"\n\
                       server = \"https://api.x.com\"\n";
        let file = format!(
            "{account}token_file = \"/t/gc-x.json\"\nclient_id_env = \"X_ID\"\n\
             monthly_post_limit = 400\n"
        );
        let config = load(Some(&file), &[], &[]).expect("config");
        let x = &config.accounts[0];
        assert_eq!(x.platform, AccountPlatform::X);
        assert_eq!(x.kind(), crate::model::PlatformKind::X);
        assert_eq!(x.token_source(), TokenSource::File("/t/gc-x.json".into()));
        assert_eq!(x.client_id_env(), Some("X_ID"));
        assert_eq!(x.monthly_post_limit(), Some(400));
        assert_eq!(x.review, Review::Required);

        let error = load(Some(account), &[], &[]).expect_err("no token");
        assert!(error.to_string().contains("token_env"), "{error}");
        let error = load(
            Some(&format!(
                "{account}token_env = \"T\"\nmonthly_post_limit = 0\n"
            )),
            &[],
            &[],
        )
        .expect_err("a zero limit");
        assert!(error.to_string().contains("monthly_post_limit"), "{error}");
        let error = load(
            Some(&format!(
                "{account}token_env = \"T\"\nvisibility = \"public\"\n"
            )),
            &[],
            &[],
        )
        .expect_err("a Mastodon key");
        assert!(error.to_string().contains("visibility"), "{error}");
    }

    #[test]
    fn a_bluesky_account_has_a_handle_and_an_app_password() {
        let account = "[[accounts]]\nname = \"gc-bsky\"\nplatform = \"bluesky\"\n\
                       server = \"https://bsky.social\"\n";
        let file = format!("{account}handle = \"gc.bsky.social\"\npassword_env = \"GC_BSKY\"\n");
        let config = load(Some(&file), &[], &[]).expect("config");
        let bluesky = &config.accounts[0];
        assert_eq!(bluesky.platform, AccountPlatform::Bluesky);
        assert_eq!(bluesky.handle(), Some("gc.bsky.social"));
        assert_eq!(bluesky.token_source(), TokenSource::Env("GC_BSKY".into()));

        let error = load(Some(&format!("{account}password_env = \"A\"\n")), &[], &[])
            .expect_err("no handle");
        assert!(error.to_string().contains("handle"), "{error}");
        let error =
            load(Some(&format!("{account}handle = \"h\"\n")), &[], &[]).expect_err("no password");
        assert!(error.to_string().contains("password_env"), "{error}");
        let error = load(
            Some(&format!("{account}handle = \"h\"\ntoken_env = \"A\"\n")),
            &[],
            &[],
        )
        .expect_err("a token");
        assert!(error.to_string().contains("app password"), "{error}");
        let error = load(
            Some(&format!(
                "{ACCOUNT}token_env = \"A\"\npassword_env = \"B\"\n"
            )),
            &[],
            &[],
        )
        .expect_err("a password on Mastodon");
        assert!(error.to_string().contains("for Bluesky"), "{error}");
    }

    #[test]
    fn each_network_takes_its_own_keys_only() {
        let config =
            load(Some(&format!("{ACCOUNT}token_env = \"A\"\n")), &[], &[]).expect("config");
        assert_eq!(
            config.accounts[0].network,
            NetworkAccount::Mastodon {
                token: TokenSource::Env("A".into()),
                visibility: Visibility::Public
            }
        );
        let bluesky = "[[accounts]]\nname = \"b\"\nplatform = \"bluesky\"\n\
                       server = \"https://bsky.social\"\nhandle = \"h\"\npassword_env = \"P\"\n";
        let error = load(
            Some(&format!("{bluesky}visibility = \"unlisted\"\n")),
            &[],
            &[],
        )
        .expect_err("visibility on Bluesky");
        assert!(
            error.to_string().contains("visibility is for Mastodon"),
            "{error}"
        );
        let error =
            load(Some(&format!("{bluesky}colour = \"red\"\n")), &[], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let error = Config::load(&ConfigSources {
            file: Some(PathBuf::from("/nonexistent/papercast.toml")),
            ..Default::default()
        })
        .expect_err("missing file");
        assert!(
            error.to_string().contains("/nonexistent/papercast.toml"),
            "{error}"
        );
    }
}
