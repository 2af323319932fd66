//! The X test server's world: users, tokens, posts, media, rate-limit windows and
//! fault rules, and X's behaviours on them (everything but HTTP). Search, media and
//! OAuth live beside it in `search.rs`, `media.rs` and `oauth.rs`.

use super::weigh;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The routes the server knows, as `METHOD /template`: the names that fault rules,
/// rate limits and request counts use.
pub const ROUTES: &[&str] = &[
    "GET /2/users/me",
    "GET /2/users/:id",
    "POST /2/tweets",
    "GET /2/tweets/:id",
    "DELETE /2/tweets/:id",
    "GET /2/users/:id/tweets",
    "GET /2/users/:id/mentions",
    "GET /2/tweets/search/recent",
    "POST /2/media/upload",
    "POST /2/media/metadata",
    "GET /2/usage/tweets",
    "POST /2/oauth2/token",
    "GET /i/oauth2/authorize",
];

/// X's published per-user limits per 15-minute window (`POST /2/tweets`: 100).
fn default_limit(route: &str) -> Option<u32> {
    Some(match route {
        "GET /2/users/me" => 75,
        "GET /2/users/:id" | "GET /2/tweets/:id" | "GET /2/users/:id/tweets" => 900,
        "POST /2/tweets" => 100,
        "DELETE /2/tweets/:id" => 50,
        "GET /2/users/:id/mentions" | "GET /2/tweets/search/recent" => 300,
        "POST /2/media/upload" | "POST /2/media/metadata" => 500,
        "GET /2/usage/tweets" => 50,
        _ => return None,
    })
}

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// `tweet_image` uploads: 5 MB.
pub const IMAGE_LIMIT: usize = 5 * 1024 * 1024;
/// `tweet_gif` uploads: 15 MB.
pub const GIF_LIMIT: usize = 15 * 1024 * 1024;
pub const ALT_LIMIT: usize = 1000;
/// How far recent search looks back.
pub const SEARCH_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long X refuses the same text again from the same user (X does not publish
/// its window; a day covers any test).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// What a fault rule does to a request it fires on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer this status (X's error body), doing nothing.
    Status(u16),
    /// Answer 429 with `x-rate-limit-*` headers whose reset is `reset_in` away; the
    /// user's window for that route stays exhausted until then (as on X, a client
    /// that retries early gets 429 again).
    RateLimited { reset_in: Duration },
    /// Do what was asked (the post exists), then answer this status anyway: the
    /// server committed, the client is told it failed.
    CommitThen(u16),
    /// Wait, then do it and answer normally. The request takes effect after the wait
    /// even if the client has given up by then.
    Slow(Duration),
    /// Do it at once, answer only after the wait: past the client's timeout this is
    /// "the server committed, the client never heard".
    Hold(Duration),
}

/// Which requests a fault rule fires on.
#[derive(Debug, Clone)]
pub struct When {
    pub(super) route: String,
    pub(super) skip: u32,
    pub(super) times: Option<u32>,
}

impl When {
    /// The next request to `route` (`"POST /2/tweets"`, see [`ROUTES`], or `"*"` for
    /// any route).
    pub fn next(route: &str) -> When {
        assert!(
            route == "*" || ROUTES.contains(&route),
            "unknown X route {route:?}; the server knows {ROUTES:?}"
        );
        When {
            route: route.to_owned(),
            skip: 0,
            times: Some(1),
        }
    }

    /// Lets `n` matching requests through first (fires on request `n + 1`).
    pub fn after(mut self, n: u32) -> When {
        self.skip = n;
        self
    }

    /// Fires on `k` matching requests in a row.
    pub fn times(mut self, k: u32) -> When {
        self.times = Some(k);
        self
    }

    /// Fires on every matching request until the rules are cleared.
    pub fn always(mut self) -> When {
        self.times = None;
        self
    }
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub when: When,
    pub fault: Fault,
}

/// A user of the test X.
#[derive(Debug, Clone)]
pub struct XUser {
    pub id: String,
    pub username: String,
    pub name: String,
    /// An OAuth 2.0 user access token with every scope papercast needs, valid for the
    /// server's token lifetime from the user's creation.
    pub token: String,
}

/// A post as the server holds it.
#[derive(Debug, Clone)]
pub struct XPost {
    pub id: String,
    pub author_id: String,
    pub author: String,
    /// As stored: NFC, and a reply to someone else's post starts with "@their_name ".
    pub text: String,
    pub in_reply_to: Option<String>,
    pub in_reply_to_user_id: Option<String>,
    pub conversation_id: String,
    pub quoted: Option<String>,
    pub media_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deleted: bool,
    /// Ids of the users who liked / reposted it.
    pub likes: Vec<String>,
    pub reposts: Vec<String>,
    pub impressions: u64,
    /// Where the leading "@name " ends (X's `display_text_range` start), in code points.
    pub(super) display_start: usize,
}

/// How media reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// JSON with `media` base64-encoded.
    Json,
    /// `multipart/form-data` (through Prism, binary parts arrive re-encoded).
    Multipart,
}

/// Uploaded media.
#[derive(Debug, Clone)]
pub struct XMedia {
    pub id: String,
    pub media_key: String,
    pub owner_id: String,
    pub category: String,
    /// The image type read from the bytes (`image/png`, ...).
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub alt_text: Option<String>,
    pub upload: Upload,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A request Prism refused or an answer it found outside X's spec.
#[derive(Debug, Clone)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Prism's problem body (`type`, `title`, `detail`, `validation`).
    pub body: Value,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    /// `None`: the app-only bearer token.
    pub user: Option<usize>,
    pub scopes: BTreeSet<String>,
    pub expires: SystemTime,
}

#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub user: usize,
    pub scopes: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(super) struct PendingCode {
    pub user: usize,
    pub scopes: BTreeSet<String>,
    pub redirect_uri: String,
    pub challenge: String,
    pub method: String,
    pub expires: SystemTime,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub used: u32,
    pub window_end: SystemTime,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub route: String,
    pub status: u16,
    /// The username of the token's user, when it had a valid one.
    pub user: Option<String>,
}

pub(super) struct State {
    pub users: Vec<XUser>,
    pub posts: Vec<XPost>,
    pub media: Vec<XMedia>,
    pub tokens: HashMap<String, Token>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub codes: HashMap<String, PendingCode>,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub callback_urls: Vec<String>,
    pub app_token: String,
    pub token_lifetime: Duration,
    pub rules: Vec<Rule>,
    pub limits: HashMap<String, (u32, Duration)>,
    pub buckets: HashMap<(usize, String), Bucket>,
    pub seen: Vec<Seen>,
    pub violations: Vec<Violation>,
    pub search_lag: Duration,
    /// Posts returned by reads, per UTC day (what `GET /2/usage/tweets` reports).
    pub reads: HashMap<chrono::NaiveDate, u64>,
    next_id: u64,
    /// Credentials issued since the hub last collected them (so it can route them).
    pub issued: Vec<String>,
}

/// An HTTP answer before it is written out.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            headers: Vec::new(),
        }
    }
}

/// X's error body: its own fields (`title`, `detail`, `type`, `status`) and the
/// spec's `Error` schema (`code`, `message`), which Prism checks error answers
/// against.
pub fn x_error(status: u16, title: &str, detail: &str) -> Answer {
    x_error_code(status, status as i64, title, detail)
}

fn x_error_code(status: u16, code: i64, title: &str, detail: &str) -> Answer {
    Answer::json(
        status,
        json!({
            "title": title,
            "detail": detail,
            "type": "about:blank",
            "status": status,
            "code": code,
            "message": detail,
        }),
    )
}

pub fn status_error(status: u16) -> Answer {
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    x_error(status, title, title)
}

/// X's "Invalid Request" problem: one message per offending parameter.
pub(super) fn invalid_request(parameter: &str, message: &str) -> Answer {
    Answer::json(
        400,
        json!({
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
            "status": 400,
            "code": 400,
            "message": message,
        }),
    )
}

fn unauthorized() -> Answer {
    x_error_code(401, 89, "Unauthorized", "Unauthorized")
}

pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    Answer::json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// A resource that does not exist: X answers 200 with an `errors` list.
fn not_found(kind: &str, parameter: &str, id: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find {kind} with {parameter}: [{id}]."),
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": parameter,
        "resource_id": id,
        "type": "https://api.x.com/2/problems/resource-not-found",
    })
}

pub fn random_token(len: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(len)
        .collect()
}

pub fn epoch_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The scopes a login asks for in papercast's issue (and what test tokens carry).
pub const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

/// Every scope X's OAuth 2.0 knows (from the spec's `OAuth2UserToken`).
pub(super) const KNOWN_SCOPES: &[&str] = &[
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "follows.read",
    "follows.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "media.write",
    "mute.read",
    "mute.write",
    "offline.access",
    "space.read",
    "tweet.moderate.write",
    "tweet.read",
    "tweet.write",
    "users.read",
];

/// What a route needs of the token.
fn needed_scopes(route: &str) -> &'static [&'static str] {
    match route {
        "POST /2/tweets" | "DELETE /2/tweets/:id" => &["tweet.read", "tweet.write", "users.read"],
        "POST /2/media/upload" | "POST /2/media/metadata" => &["media.write"],
        _ => &["tweet.read", "users.read"],
    }
}

/// A parsed request, as the handlers see it.
pub struct Request {
    pub route: &'static str,
    /// The `:id` of the path, if the route has one.
    pub id: Option<String>,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Multipart fields, already parsed: (name, bytes).
    pub parts: Vec<(String, Vec<u8>)>,
}

impl Request {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A comma-separated list parameter, from any of `names` (X's and the spec's).
    fn list(&self, names: &[&str]) -> BTreeSet<String> {
        self.query
            .iter()
            .filter(|(key, _)| names.contains(&key.as_str()))
            .flat_map(|(_, value)| value.split(','))
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn bearer(&self) -> Option<&str> {
        self.authorization
            .as_deref()?
            .strip_prefix("Bearer ")
            .map(str::trim)
    }

    pub(super) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

impl State {
    pub fn new(client_id: String) -> State {
        let app_token = format!("AAAAAAAAAAAAAAAAAAAAA{}", random_token(60));
        let mut tokens = HashMap::new();
        tokens.insert(
            app_token.clone(),
            Token {
                user: None,
                scopes: BTreeSet::new(),
                expires: SystemTime::now() + Duration::from_secs(10 * 365 * 24 * 3600),
            },
        );
        State {
            users: Vec::new(),
            posts: Vec::new(),
            media: Vec::new(),
            tokens,
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            client_id,
            client_secret: None,
            callback_urls: Vec::new(),
            issued: vec![app_token.clone()],
            app_token,
            token_lifetime: Duration::from_secs(7200),
            rules: Vec::new(),
            limits: HashMap::new(),
            buckets: HashMap::new(),
            seen: Vec::new(),
            violations: Vec::new(),
            search_lag: Duration::ZERO,
            reads: HashMap::new(),
            next_id: 0,
        }
    }

    /// Post and media ids: 19 digits and increasing, like X's snowflakes.
    pub(super) fn new_id(&mut self) -> String {
        self.next_id += 1;
        (1_860_000_000_000_000_000u64 + self.next_id * 4096).to_string()
    }

    pub fn add_user(&mut self, username: &str, name: &str) -> XUser {
        let index = self.users.len();
        let id = (1_400_000_001u64 + index as u64 * 7919).to_string();
        self.users.push(XUser {
            id,
            username: username.to_owned(),
            name: name.to_owned(),
            token: String::new(),
        });
        let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
        let token = self.issue_access(index, &scopes);
        self.users[index].token = token;
        self.users[index].clone()
    }

    pub fn issue_access(&mut self, user: usize, scopes: &BTreeSet<String>) -> String {
        let token = random_token(64);
        self.tokens.insert(
            token.clone(),
            Token {
                user: Some(user),
                scopes: scopes.clone(),
                expires: SystemTime::now() + self.token_lifetime,
            },
        );
        self.issued.push(token.clone());
        token
    }

    pub fn user_index(&self, id_or_name: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.id == id_or_name || u.username.eq_ignore_ascii_case(id_or_name))
    }

    pub(super) fn post_index(&self, id: &str) -> Option<usize> {
        self.posts.iter().position(|p| p.id == id)
    }

    /// The user behind a request's token, if it is valid; the 401/403 answer if not.
    fn authenticate(&self, request: &Request) -> Result<usize, Answer> {
        let token = request
            .bearer()
            .and_then(|t| self.tokens.get(t))
            .ok_or_else(unauthorized)?;
        if token.expires <= SystemTime::now() {
            return Err(unauthorized());
        }
        let Some(user) = token.user else {
            return Err(Answer::json(
                403,
                json!({
                    "title": "Unsupported Authentication",
                    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
                    "type": "https://api.x.com/2/problems/unsupported-authentication",
                    "status": 403,
                    "code": 403,
                    "message": "Unsupported Authentication",
                }),
            ));
        };
        if let Some(missing) = needed_scopes(request.route)
            .iter()
            .find(|scope| !token.scopes.contains(**scope))
        {
            return Err(x_error(
                403,
                "Forbidden",
                &format!("The token lacks the scope {missing} that this endpoint needs."),
            ));
        }
        Ok(user)
    }

    /// The user a request's token names, valid or not (for rate-limit faults).
    pub fn token_user(&self, request: &Request) -> Option<usize> {
        self.tokens.get(request.bearer()?)?.user
    }

    fn limit(&self, route: &str) -> Option<(u32, Duration)> {
        self.limits
            .get(route)
            .copied()
            .or_else(|| default_limit(route).map(|limit| (limit, WINDOW)))
    }

    fn bucket(&mut self, user: usize, route: &str) -> Option<(u32, Bucket)> {
        let (limit, window) = self.limit(route)?;
        let now = SystemTime::now();
        let bucket = self
            .buckets
            .entry((user, route.to_owned()))
            .or_insert(Bucket {
                used: 0,
                window_end: now + window,
            });
        if bucket.window_end <= now {
            *bucket = Bucket {
                used: 0,
                window_end: now + window,
            };
        }
        Some((limit, *bucket))
    }

    fn rate_headers(limit: u32, bucket: Bucket) -> Vec<(String, String)> {
        vec![
            ("x-rate-limit-limit".into(), limit.to_string()),
            (
                "x-rate-limit-remaining".into(),
                limit.saturating_sub(bucket.used).to_string(),
            ),
            (
                "x-rate-limit-reset".into(),
                epoch_secs(bucket.window_end).to_string(),
            ),
        ]
    }

    fn too_many(limit: u32, bucket: Bucket) -> Answer {
        let mut answer = x_error_code(429, 88, "Too Many Requests", "Too Many Requests");
        answer.headers = Self::rate_headers(limit, bucket);
        answer
    }

    /// Exhausts the user's window for `route` until `reset_in` from now; the 429.
    pub fn rate_limit_now(
        &mut self,
        user: Option<usize>,
        route: &str,
        reset_in: Duration,
    ) -> Answer {
        let limit = self.limit(route).map_or(100, |(limit, _)| limit);
        let bucket = Bucket {
            used: limit,
            window_end: SystemTime::now() + reset_in,
        };
        if let Some(user) = user {
            self.buckets.insert((user, route.to_owned()), bucket);
        }
        Self::too_many(limit, bucket)
    }

    /// Decides whether a fault rule fires on a request to `route`; every rule that
    /// matches counts the request towards its `after`.
    pub fn fire(&mut self, route: &str) -> Option<Fault> {
        let mut fired = None;
        for rule in &mut self.rules {
            if rule.when.route != "*" && rule.when.route != route {
                continue;
            }
            if rule.when.skip > 0 {
                rule.when.skip -= 1;
                continue;
            }
            if fired.is_none() && rule.when.times != Some(0) {
                fired = Some(rule.fault);
                if let Some(times) = &mut rule.when.times {
                    *times -= 1;
                }
            }
        }
        self.rules.retain(|rule| rule.when.times != Some(0));
        fired
    }

    /// Handles a request: authentication, rate limit, then the route.
    pub fn execute(&mut self, request: &Request) -> Answer {
        match request.route {
            "POST /2/oauth2/token" => return self.token_endpoint(request),
            "GET /i/oauth2/authorize" => return self.authorize_redirect(request),
            _ => {}
        }
        let user = match self.authenticate(request) {
            Ok(user) => Some(user),
            // The usage endpoint takes the app-only token.
            Err(_) if request.route == "GET /2/usage/tweets" && self.is_app_token(request) => None,
            Err(answer) => return answer,
        };
        if request.route != "GET /2/usage/tweets" && user.is_none() {
            return unauthorized();
        }
        let rate = match user {
            Some(user) => match self.bucket(user, request.route) {
                Some((limit, bucket)) if bucket.used >= limit => {
                    return Self::too_many(limit, bucket)
                }
                Some((limit, mut bucket)) => {
                    bucket.used += 1;
                    self.buckets
                        .insert((user, request.route.to_owned()), bucket);
                    Some((limit, bucket))
                }
                None => None,
            },
            None => None,
        };
        let mut answer = match (request.route, user) {
            ("GET /2/usage/tweets", None) => self.usage(request),
            ("GET /2/usage/tweets", Some(_)) => Answer::json(
                403,
                json!({
                    "title": "Unsupported Authentication",
                    "detail": "Authenticating with OAuth 2.0 User Context is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 Application-Only].",
                    "type": "https://api.x.com/2/problems/unsupported-authentication",
                    "status": 403,
                    "code": 403,
                    "message": "Unsupported Authentication",
                }),
            ),
            (_, None) => unauthorized(),
            ("GET /2/users/me", Some(user)) => self.user_answer(user, request),
            ("GET /2/users/:id", Some(_)) => {
                match self.user_index(request.id.as_deref().unwrap_or("")) {
                    Some(found) => self.user_answer(found, request),
                    None => Answer::json(
                        200,
                        json!({"errors": [not_found("user", "id", request.id.as_deref().unwrap_or(""))]}),
                    ),
                }
            }
            ("POST /2/tweets", Some(user)) => self.create_post_request(user, request),
            ("GET /2/tweets/:id", Some(_)) => self.get_post(request),
            ("DELETE /2/tweets/:id", Some(user)) => self.delete_post(user, request),
            ("GET /2/users/:id/tweets", Some(_)) => self.user_posts(request),
            ("GET /2/users/:id/mentions", Some(_)) => self.mentions(request),
            ("GET /2/tweets/search/recent", Some(_)) => self.search(request),
            ("POST /2/media/upload", Some(user)) => self.upload(user, request),
            ("POST /2/media/metadata", Some(user)) => self.metadata(user, request),
            (route, Some(_)) => x_error(404, "Not Found", &format!("{route} is not served")),
        };
        if let Some((limit, bucket)) = rate {
            answer.headers.extend(Self::rate_headers(limit, bucket));
        }
        answer
    }

    fn is_app_token(&self, request: &Request) -> bool {
        request.bearer() == Some(self.app_token.as_str())
    }

    fn user_json(&self, user: usize, fields: &BTreeSet<String>) -> Value {
        let u = &self.users[user];
        let mut value = json!({"id": u.id, "name": u.name, "username": u.username});
        if fields.contains("created_at") {
            value["created_at"] = "2016-02-01T09:00:00.000Z".into();
        }
        if fields.contains("description") {
            value["description"] = "".into();
        }
        if fields.contains("protected") {
            value["protected"] = false.into();
        }
        if fields.contains("verified") {
            value["verified"] = false.into();
        }
        if fields.contains("public_metrics") {
            let posts = self
                .posts
                .iter()
                .filter(|p| p.author_id == u.id && !p.deleted)
                .count();
            value["public_metrics"] = json!({
                "followers_count": 0, "following_count": 0,
                "post_count": posts, "tweet_count": posts, "listed_count": 0,
            });
        }
        value
    }

    fn user_answer(&self, user: usize, request: &Request) -> Answer {
        let fields = request.list(&["user.fields"]);
        Answer::json(200, json!({"data": self.user_json(user, &fields)}))
    }

    /// Creates a post as `author`, with X's checks; the new post's index.
    pub fn create_post(
        &mut self,
        author: usize,
        text: &str,
        reply_to: Option<&str>,
        quote: Option<&str>,
        media_ids: &[String],
    ) -> Result<usize, Answer> {
        use unicode_normalization::UnicodeNormalization;
        let mut text: String = text.nfc().collect();
        if text.trim().is_empty() && media_ids.is_empty() {
            return Err(invalid_request(
                "text",
                "Your Tweet text is empty and it has no media.",
            ));
        }
        let author_id = self.users[author].id.clone();
        let mut conversation_id = None;
        let mut in_reply_to_user_id = None;
        let mut display_start = 0;
        if let Some(parent) = reply_to {
            let Some(index) = self.post_index(parent).filter(|&i| !self.posts[i].deleted) else {
                return Err(invalid_request(
                    "reply.in_reply_to_tweet_id",
                    "The Tweet you are replying to does not exist or has been deleted.",
                ));
            };
            let parent = &self.posts[index];
            conversation_id = Some(parent.conversation_id.clone());
            in_reply_to_user_id = Some(parent.author_id.clone());
            // A reply to someone else starts with their name, as X fills it in.
            if parent.author_id != author_id {
                let mention = format!("@{} ", parent.author);
                if !text.starts_with(&mention) {
                    text = format!("{mention}{text}");
                }
                display_start = mention.chars().count();
            }
        }
        if let Some(quoted) = quote {
            if self
                .post_index(quoted)
                .is_none_or(|i| self.posts[i].deleted)
            {
                return Err(invalid_request(
                    "quote_tweet_id",
                    "The Tweet you are quoting does not exist or has been deleted.",
                ));
            }
        }
        if media_ids.len() > 4 {
            return Err(invalid_request(
                "media.media_ids",
                "At most 4 media per Tweet.",
            ));
        }
        for id in media_ids {
            let owned = self
                .media
                .iter()
                .any(|m| &m.id == id && m.owner_id == author_id);
            if !owned {
                return Err(invalid_request(
                    "media.media_ids",
                    &format!("Your media IDs are invalid: {id} is not an upload of this user."),
                ));
            }
        }
        let weight = weigh(&text[display_start_byte(&text, display_start)..])
            .map_err(|e| x_error(500, "Internal Server Error", &format!("test server: {e}")))?;
        if weight > 280 {
            return Err(x_error_code(
                403,
                186,
                "Forbidden",
                &format!(
                    "Tweet needs to be a bit shorter: {weight} weighted characters by twitter-text v3; the limit is 280."
                ),
            ));
        }
        let now = Utc::now();
        let duplicate = !text.is_empty()
            && self.posts.iter().any(|p| {
                p.author_id == author_id
                    && !p.deleted
                    && p.text == text
                    && (now - p.created_at).to_std().unwrap_or_default() < DUPLICATE_WINDOW
            });
        if duplicate {
            return Err(x_error_code(
                403,
                187,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
            ));
        }
        let id = self.new_id();
        self.posts.push(XPost {
            conversation_id: conversation_id.unwrap_or_else(|| id.clone()),
            id,
            author_id,
            author: self.users[author].username.clone(),
            text,
            in_reply_to: reply_to.map(str::to_owned),
            in_reply_to_user_id,
            quoted: quote.map(str::to_owned),
            media_ids: media_ids.to_vec(),
            created_at: now,
            deleted: false,
            likes: Vec::new(),
            reposts: Vec::new(),
            impressions: 0,
            display_start,
        });
        Ok(self.posts.len() - 1)
    }

    fn create_post_request(&mut self, user: usize, request: &Request) -> Answer {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return invalid_request("body", "The request body is not JSON.");
        };
        let text = body["text"].as_str().unwrap_or_default();
        let reply_to = body["reply"]["in_reply_to_tweet_id"].as_str();
        let quote = body["quote_tweet_id"].as_str();
        let media: Vec<String> = body["media"]["media_ids"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match self.create_post(user, text, reply_to, quote, &media) {
            Ok(index) => {
                let post = &self.posts[index];
                Answer::json(
                    201,
                    json!({"data": {
                        "id": post.id,
                        "text": post.text,
                        "edit_history_tweet_ids": [post.id],
                        "edit_history_post_ids": [post.id],
                    }}),
                )
            }
            Err(answer) => answer,
        }
    }

    /// How a post reads back, with the fields asked for.
    fn post_json(&self, post: &XPost, fields: &BTreeSet<String>) -> Value {
        let mut value = json!({
            "id": post.id,
            "text": post.text,
            "edit_history_tweet_ids": [post.id],
        });
        let referenced: Vec<Value> = post
            .in_reply_to
            .iter()
            .map(|id| json!({"type": "replied_to", "id": id}))
            .chain(
                post.quoted
                    .iter()
                    .map(|id| json!({"type": "quoted", "id": id})),
            )
            .collect();
        for field in fields {
            match field.as_str() {
                "author_id" => value["author_id"] = post.author_id.clone().into(),
                "conversation_id" => value["conversation_id"] = post.conversation_id.clone().into(),
                "created_at" => {
                    value["created_at"] = post
                        .created_at
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string()
                        .into()
                }
                "in_reply_to_user_id" => {
                    if let Some(user) = &post.in_reply_to_user_id {
                        value["in_reply_to_user_id"] = user.clone().into();
                    }
                }
                "referenced_tweets" | "referenced_posts" if !referenced.is_empty() => {
                    value["referenced_tweets"] = referenced.clone().into();
                    value["referenced_posts"] = referenced.clone().into();
                }
                "public_metrics" => {
                    let replies = self
                        .posts
                        .iter()
                        .filter(|p| !p.deleted && p.in_reply_to.as_deref() == Some(&post.id))
                        .count();
                    let quotes = self
                        .posts
                        .iter()
                        .filter(|p| !p.deleted && p.quoted.as_deref() == Some(&post.id))
                        .count();
                    value["public_metrics"] = json!({
                        "retweet_count": post.reposts.len(),
                        "repost_count": post.reposts.len(),
                        "reply_count": replies,
                        "like_count": post.likes.len(),
                        "quote_count": quotes,
                        "bookmark_count": 0,
                        "impression_count": post.impressions,
                    });
                }
                "attachments" if !post.media_ids.is_empty() => {
                    let keys: Vec<String> =
                        post.media_ids.iter().map(|id| format!("3_{id}")).collect();
                    value["attachments"] = json!({"media_keys": keys});
                }
                "display_text_range" => {
                    value["display_text_range"] =
                        json!([post.display_start, post.text.chars().count()]);
                }
                "lang" => value["lang"] = "en".into(),
                _ => {}
            }
        }
        value
    }

    /// `data`, `includes` and `meta` for a list of posts, with paging.
    pub(super) fn post_list(
        &mut self,
        request: &Request,
        mut posts: Vec<usize>,
        page_param: &str,
        max: (u32, u32, u32),
    ) -> Answer {
        let (min, max, default) = max;
        let limit = match request.param("max_results") {
            None => default,
            Some(value) => match value.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    return invalid_request(
                        "max_results",
                        &format!("The `max_results` query parameter value [{value}] is not between {min} and {max}"),
                    )
                }
            },
        } as usize;
        let id_of = |i: &usize| self.posts[*i].id.parse::<u64>().unwrap_or(0);
        posts.sort_by_key(|i| std::cmp::Reverse(id_of(i)));
        let since = request
            .param("since_id")
            .and_then(|v| v.parse::<u64>().ok());
        let until = request
            .param("until_id")
            .and_then(|v| v.parse::<u64>().ok());
        let start = request
            .param("start_time")
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok());
        let end = request
            .param("end_time")
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok());
        let below = request
            .param(page_param)
            .and_then(|token| u64::from_str_radix(token, 16).ok());
        posts.retain(|i| {
            let id = id_of(i);
            let at = self.posts[*i].created_at;
            since.is_none_or(|s| id > s)
                && until.is_none_or(|u| id < u)
                && below.is_none_or(|b| id < b)
                && start.is_none_or(|s| at >= s)
                && end.is_none_or(|e| at <= e)
        });
        let more = posts.len() > limit;
        posts.truncate(limit);
        let fields = request.list(&["tweet.fields", "post.fields"]);
        let data: Vec<Value> = posts
            .iter()
            .map(|i| self.post_json(&self.posts[*i], &fields))
            .collect();
        let mut meta = json!({"result_count": data.len()});
        if let (Some(first), Some(last)) = (posts.first(), posts.last()) {
            meta["newest_id"] = self.posts[*first].id.clone().into();
            meta["oldest_id"] = self.posts[*last].id.clone().into();
            if more {
                meta["next_token"] = format!("{:x}", id_of(last)).into();
            }
        }
        *self.reads.entry(Utc::now().date_naive()).or_default() += data.len() as u64;
        // X leaves `data` out of an empty page.
        let mut body = json!({"meta": meta});
        if !data.is_empty() {
            body["data"] = data.into();
            let includes = self.includes(request, &posts);
            if includes != json!({}) {
                body["includes"] = includes;
            }
        }
        Answer::json(200, body)
    }

    fn includes(&self, request: &Request, posts: &[usize]) -> Value {
        let expansions = request.list(&["expansions"]);
        let mut includes = json!({});
        let mut users: Vec<usize> = Vec::new();
        let add_user = |id: &str, users: &mut Vec<usize>| {
            if let Some(u) = self.user_index(id) {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        };
        for i in posts {
            let post = &self.posts[*i];
            if expansions.contains("author_id") {
                add_user(&post.author_id, &mut users);
            }
            if expansions.contains("in_reply_to_user_id") {
                if let Some(id) = &post.in_reply_to_user_id {
                    add_user(id, &mut users);
                }
            }
        }
        if !users.is_empty() {
            let fields = request.list(&["user.fields"]);
            includes["users"] = users
                .iter()
                .map(|u| self.user_json(*u, &fields))
                .collect::<Vec<_>>()
                .into();
        }
        if expansions.contains("attachments.media_keys") {
            let fields = request.list(&["media.fields"]);
            let media: Vec<Value> = posts
                .iter()
                .flat_map(|i| self.posts[*i].media_ids.iter())
                .filter_map(|id| self.media.iter().find(|m| &m.id == id))
                .map(|m| {
                    let mut value = json!({"media_key": m.media_key, "type": "photo"});
                    if fields.contains("alt_text") {
                        if let Some(alt) = &m.alt_text {
                            value["alt_text"] = alt.clone().into();
                        }
                    }
                    if fields.contains("width") {
                        if let Some(w) = m.width {
                            value["width"] = w.into();
                        }
                    }
                    if fields.contains("height") {
                        if let Some(h) = m.height {
                            value["height"] = h.into();
                        }
                    }
                    value
                })
                .collect();
            if !media.is_empty() {
                includes["media"] = media.into();
            }
        }
        includes
    }

    fn get_post(&mut self, request: &Request) -> Answer {
        let id = request.id.clone().unwrap_or_default();
        match self.post_index(&id).filter(|&i| !self.posts[i].deleted) {
            Some(index) => {
                let fields = request.list(&["tweet.fields", "post.fields"]);
                let mut body = json!({"data": self.post_json(&self.posts[index], &fields)});
                let includes = self.includes(request, &[index]);
                if includes != json!({}) {
                    body["includes"] = includes;
                }
                *self.reads.entry(Utc::now().date_naive()).or_default() += 1;
                Answer::json(200, body)
            }
            None => Answer::json(200, json!({"errors": [not_found("tweet", "id", &id)]})),
        }
    }

    fn delete_post(&mut self, user: usize, request: &Request) -> Answer {
        let id = request.id.clone().unwrap_or_default();
        let user_id = self.users[user].id.clone();
        match self.post_index(&id) {
            Some(index) if self.posts[index].deleted => {
                Answer::json(200, json!({"data": {"deleted": false}}))
            }
            Some(index) if self.posts[index].author_id != user_id => x_error(
                403,
                "Forbidden",
                "You are not allowed to delete a Tweet that is not yours.",
            ),
            Some(index) => {
                self.posts[index].deleted = true;
                Answer::json(200, json!({"data": {"deleted": true}}))
            }
            None => Answer::json(200, json!({"data": {"deleted": false}})),
        }
    }

    fn user_posts(&mut self, request: &Request) -> Answer {
        let id = request.id.clone().unwrap_or_default();
        let Some(user) = self.user_index(&id) else {
            return Answer::json(200, json!({"errors": [not_found("user", "id", &id)]}));
        };
        let user_id = self.users[user].id.clone();
        let exclude = request.list(&["exclude"]);
        let posts: Vec<usize> = (0..self.posts.len())
            .filter(|&i| {
                let p = &self.posts[i];
                p.author_id == user_id
                    && !p.deleted
                    && !(exclude.contains("replies") && p.in_reply_to.is_some())
            })
            // X serves the newest 3200 of a timeline.
            .rev()
            .take(3200)
            .collect();
        self.post_list(request, posts, "pagination_token", (5, 100, 10))
    }

    fn mentions(&mut self, request: &Request) -> Answer {
        let id = request.id.clone().unwrap_or_default();
        let Some(user) = self.user_index(&id) else {
            return Answer::json(200, json!({"errors": [not_found("user", "id", &id)]}));
        };
        let user_id = self.users[user].id.clone();
        let handle = format!("@{}", self.users[user].username.to_lowercase());
        let posts: Vec<usize> = (0..self.posts.len())
            .filter(|&i| {
                let p = &self.posts[i];
                p.author_id != user_id && !p.deleted && mentions(&p.text, &handle)
            })
            .collect();
        self.post_list(request, posts, "pagination_token", (5, 100, 10))
    }

    fn usage(&self, request: &Request) -> Answer {
        let days = request
            .param("days")
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(7)
            .clamp(1, 90);
        let today = Utc::now().date_naive();
        let usage: Vec<Value> = (0..days)
            .rev()
            .map(|back| {
                let day = today - chrono::Duration::days(back);
                json!({
                    "date": format!("{day}T00:00:00.000Z"),
                    "usage": self.reads.get(&day).copied().unwrap_or(0).to_string(),
                })
            })
            .collect();
        let total: u64 = self.reads.values().sum();
        Answer::json(
            200,
            json!({"data": {
                "cap_reset_day": 1,
                "project_id": "1800000000000000000",
                "project_cap": "2000000",
                "project_usage": total.to_string(),
                "daily_project_usage": {"project_id": "1800000000000000000", "usage": usage},
            }}),
        )
    }
}

pub(super) fn display_start_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Whether `text` mentions `handle` (`@name`, lower case) as a whole name.
pub(super) fn mentions(text: &str, handle: &str) -> bool {
    let lower = text.to_lowercase();
    lower.match_indices(handle).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + handle.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}
