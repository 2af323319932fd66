//! A stateful X API v2 server for the tests, standing in for `api.x.com`, behind
//! Stoplight Prism as a validating proxy over X's published OpenAPI description
//! (`../shared/specs/x-api-v2-openapi.json`), so that every request a client sends and
//! every answer the server gives is checked against X's spec.
//!
//! ```text
//! client ──▶ relay ──▶ Prism (validates both ways) ──▶ test server
//!              └── /2/oauth2/token, /i/oauth2/authorize (not in the spec) ──┘
//! ```
//!
//! [`XApi::start`] gives each test its own X (users, posts, media, tokens, faults);
//! point the account's `server` at [`XApi::base`], the relay. The relay passes the
//! OAuth 2.0 endpoints, which the spec does not describe, straight to the server, so a
//! client uses `{server}/2/oauth2/token` as it would use
//! `https://api.x.com/2/oauth2/token`. [`XApi::direct`] is the server without Prism
//! (Prism re-encodes binary multipart parts, so check multipart bytes there).
//! [`XApi::start_direct`] skips Prism altogether. Prism starts once per test binary
//! (10–20 s on an idle machine, then a few seconds of warm-up, one request per route,
//! so that no test's first request waits for Prism to prepare its checks); the server
//! runs in-process on a runtime of its own, so it answers blocking and async tests
//! alike.
//!
//! ```text
//! let x = XApi::start();
//! // [[accounts]] platform = "x", server = x.base, token_env holding x.bot.token
//! x.inject(When::next("POST /2/tweets").after(1), Fault::CommitThen(503));
//! // ... run papercast ...
//! let posted = x.posts_by(&x.bot);      // text, in_reply_to, media_ids, conversation_id
//! let replier = x.add_user("reader", "A Reader");
//! x.reply_as(&replier, &posted[1].id, "Does it need a reward model?");
//! x.assert_no_violations();
//! ```
//!
//! Through Prism, upload media as JSON with base64 `media`: Prism re-encodes binary
//! multipart parts as text, and the server then refuses them as no image it knows
//! (saying why). Multipart works against [`XApi::direct`].
//!
//! Served (see [`ROUTES`]): `GET /2/users/me`, `GET /2/users/:id`, `POST /2/tweets`
//! (`text`, `reply.in_reply_to_tweet_id`, `quote_tweet_id`, `media.media_ids`),
//! `GET`/`DELETE /2/tweets/:id`, `GET /2/users/:id/tweets` (the user's own posts,
//! newest first: `max_results` 5–100, `pagination_token`, `since_id`, `until_id`,
//! `exclude=replies`), `GET /2/users/:id/mentions`, `GET /2/tweets/search/recent`
//! (`conversation_id:`, `from:`, `to:`, `is:reply`, `@name`, words, `-` to negate; 7
//! days back), `POST /2/media/upload` (JSON with base64 `media`, or multipart;
//! `media_category` `tweet_image` ≤ 5 MB or `tweet_gif` ≤ 15 MB; PNG, JPEG, GIF, WebP),
//! `POST /2/media/metadata` (alt text ≤ 1000), `GET /2/usage/tweets` (app-only token),
//! and the OAuth 2.0 authorization code flow with PKCE.
//!
//! X's behaviours: a text is weighed by X's own twitter-text (over 280 → 403, code
//! 186); an exact duplicate of one of the user's posts of the last day → 403 "duplicate
//! content" (code 187); a bad or expired token → 401; every answer to a user token
//! carries `x-rate-limit-limit/-remaining/-reset` (epoch seconds) for the user's
//! 15-minute window, and an exhausted window answers 429; a reply to someone else's
//! post starts with "@their_name " (outside `display_text_range`, not weighed); a
//! missing post is a 200 with an `errors` list; an empty page has `meta` and no `data`.
//! Error bodies carry X's fields (`title`, `detail`, `type`, `status`) and the spec's
//! `Error` schema (`code`, `message`). The statuses follow X; the exact wording of
//! some refusals (too long, an unknown parent, bad media) is this server's own.
//!
//! The spec (v2.167) names some fields the Post way where the API has long used the
//! Tweet way: `post.fields` / `tweet.fields`, `referenced_posts` /
//! `referenced_tweets`, `edit_history_post_ids` / `edit_history_tweet_ids`,
//! `repost_count` / `retweet_count`. The server takes both in requests and sends both
//! in answers. Prism checks only what the spec declares: `tweet.fields` passes
//! unchecked, while the spec's `post.fields` list lacks `author_id` (Prism refuses it
//! there), and `expansions` may not name `referenced_tweets.id`.
//!
//! OAuth 2.0: [`XApi::approve`] plays the user who opens the authorization address a
//! client printed (`…/i/oauth2/authorize?response_type=code&client_id=…&redirect_uri=…
//! &scope=…&state=…&code_challenge=…&code_challenge_method=S256`) and returns the
//! redirect address with `code` and `state`; `GET /i/oauth2/authorize` on the server
//! does the same with a 302. `POST /2/oauth2/token` (form body; public client:
//! `client_id` in the body, or confidential: HTTP Basic after
//! [`XApi::set_client_secret`]) takes `grant_type=authorization_code` (checks
//! `redirect_uri` and the PKCE `code_verifier`; a code works once) and
//! `grant_type=refresh_token` (the refresh token is rotated: the old one is refused
//! from then on with 400 `invalid_request`, as X does). Access tokens last
//! [`XApi::set_token_lifetime`] (2 h by default).
//!
//! Faults ([`XApi::inject`], [`When`], [`Fault`]): a status for the next k matching
//! requests, 429 with a reset a few seconds away, a post committed and then answered
//! 503, slow answers, and a request held past the client's timeout.

mod http;
mod media;
mod node;
mod oauth;
mod search;
mod state;

use http::{hub, World};
use node::weigh;
use state::State;
// Some test binaries use none of these.
#[allow(unused_imports)]
pub use state::{Fault, Seen, Upload, Violation, When, XMedia, XPost, XUser, ROUTES, SCOPES};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One test's X; forgotten when dropped.
pub struct XApi {
    world: Arc<World>,
    /// What the account's `server` should say: the relay in front of Prism (or the
    /// server itself, for [`XApi::start_direct`]).
    pub base: String,
    /// The server itself, without Prism.
    pub direct: String,
    /// The account papercast posts as: `@GCResearchTeam`, with a token that has
    /// every scope papercast needs.
    pub bot: XUser,
    /// The X app's OAuth 2.0 client id.
    pub client_id: String,
    behind_prism: bool,
}

impl XApi {
    /// A new X behind Prism (started with the first one in the test binary).
    pub fn start() -> XApi {
        XApi::new(true)
    }

    /// A new X without Prism, for tests that do not need the spec checked.
    pub fn start_direct() -> XApi {
        XApi::new(false)
    }

    fn new(behind_prism: bool) -> XApi {
        node::start_weigher();
        let hub = hub();
        let direct = format!("http://127.0.0.1:{}", hub.upstream_port);
        let base = if behind_prism {
            format!("http://127.0.0.1:{}", hub.relay().port)
        } else {
            direct.clone()
        };
        let client_id = state::random_token(34);
        let mut state = State::new(client_id.clone());
        // Routes the browser step (which carries no token) to this world.
        state.issued.push(format!("client:{client_id}"));
        let bot = state.add_user("GCResearchTeam", "Graphcore Research");
        let world = Arc::new(World {
            state: Mutex::new(state),
        });
        hub.register(&world);
        XApi {
            world,
            base,
            direct,
            bot,
            client_id,
            behind_prism,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let result = f(&mut self.world.lock());
        hub().register(&self.world);
        result
    }

    /// A new user (e.g. a reader who replies), with a token of every scope.
    pub fn add_user(&self, username: &str, name: &str) -> XUser {
        self.with(|s| s.add_user(username, name))
    }

    fn index(&self, user: &XUser) -> usize {
        self.with(|s| s.user_index(&user.id))
            .unwrap_or_else(|| panic!("{} is not a user of this X", user.username))
    }

    /// A new access token for the user, valid for the current token lifetime.
    pub fn fresh_token(&self, user: &XUser) -> String {
        let index = self.index(user);
        let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
        self.with(|s| s.issue_access(index, &scopes))
    }

    /// A refresh token for the user, as a login would have left (every scope).
    pub fn refresh_token(&self, user: &XUser) -> String {
        let index = self.index(user);
        self.with(|s| s.refresh_token_for(index))
    }

    /// The app-only bearer token (for `GET /2/usage/tweets`).
    pub fn app_token(&self) -> String {
        self.with(|s| s.app_token.clone())
    }

    /// `{base}/2/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("{}/2/oauth2/token", self.base)
    }

    /// `{base}/i/oauth2/authorize` (on X: `https://x.com/i/oauth2/authorize`).
    pub fn authorize_url(&self) -> String {
        format!("{}/i/oauth2/authorize", self.base)
    }

    /// Makes the app a confidential client: the token endpoint then wants HTTP Basic
    /// with the client id and this secret.
    pub fn set_client_secret(&self, secret: &str) {
        self.with(|s| s.client_secret = Some(secret.to_owned()));
    }

    /// Registers a callback URL; once any is, `redirect_uri` must be one of them.
    pub fn register_callback(&self, url: &str) {
        self.with(|s| s.callback_urls.push(url.to_owned()));
    }

    /// The bot's owner approves the authorization address a client printed; returns
    /// the address X redirects to (`redirect_uri?state=…&code=…`). Panics, saying
    /// why, where X would refuse the address.
    pub fn approve(&self, authorize_address: &str) -> String {
        self.approve_as(&self.bot, authorize_address)
            .unwrap_or_else(|e| panic!("X would refuse {authorize_address}: {e}"))
    }

    /// [`XApi::approve`] as another user; `Err` says why X would refuse.
    pub fn approve_as(&self, user: &XUser, authorize_address: &str) -> Result<String, String> {
        let url = url::Url::parse(authorize_address).map_err(|e| e.to_string())?;
        if url.path() != "/i/oauth2/authorize" {
            return Err(format!("{} is not /i/oauth2/authorize", url.path()));
        }
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let index = self.index(user);
        self.with(|s| s.approve(index, &query))
    }

    /// How long access tokens issued from now on last (X: 2 hours).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.with(|s| s.token_lifetime = lifetime);
    }

    /// Makes every access token issued so far expire now (refresh tokens stay good).
    pub fn expire_access_tokens(&self) {
        let now = std::time::SystemTime::now();
        self.with(|s| {
            for token in s.tokens.values_mut().filter(|t| t.user.is_some()) {
                token.expires = now;
            }
        });
    }

    /// Revokes every access and refresh token of the user (as when the owner removes
    /// the app): the next refresh answers 400 `invalid_request`.
    pub fn revoke(&self, user: &XUser) {
        let index = self.index(user);
        self.with(|s| {
            s.tokens.retain(|_, t| t.user != Some(index));
            s.refresh_tokens.retain(|_, g| g.user != index);
        });
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn inject(&self, when: When, fault: Fault) {
        self.with(|s| s.rules.push(state::Rule { when, fault }));
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.with(|s| s.rules.clear());
    }

    /// Sets a route's per-user limit and window (defaults: X's published limits per
    /// 15 minutes, e.g. 100 for `POST /2/tweets`).
    pub fn set_rate_limit(&self, route: &str, limit: u32, window: Duration) {
        assert!(ROUTES.contains(&route), "unknown X route {route:?}");
        self.with(|s| {
            s.limits.insert(route.to_owned(), (limit, window));
            s.buckets.retain(|(_, r), _| r != route);
        });
    }

    /// Posts show in recent search only this long after they are made (X's index
    /// lags by seconds; here 0 unless set).
    pub fn set_search_lag(&self, lag: Duration) {
        self.with(|s| s.search_lag = lag);
    }

    fn create(
        &self,
        user: &XUser,
        text: &str,
        reply_to: Option<&str>,
        quote: Option<&str>,
    ) -> String {
        let index = self.index(user);
        self.with(|s| match s.create_post(index, text, reply_to, quote, &[]) {
            Ok(post) => s.posts[post].id.clone(),
            Err(answer) => panic!("X refused {}'s post: {}", user.username, answer.body),
        })
    }

    /// A top-level post by `user`; its id.
    pub fn post_as(&self, user: &XUser, text: &str) -> String {
        self.create(user, text, None, None)
    }

    /// A reply by `user` to the post `parent`; its id. As on X, a reply to someone
    /// else's post starts with "@their_name ".
    pub fn reply_as(&self, user: &XUser, parent: &str, text: &str) -> String {
        self.create(user, text, Some(parent), None)
    }

    /// A quote post by `user` of `quoted`; its id.
    pub fn quote_as(&self, user: &XUser, quoted: &str, text: &str) -> String {
        self.create(user, text, None, Some(quoted))
    }

    fn edit_post(&self, id: &str, f: impl FnOnce(&mut XPost)) {
        self.with(|s| {
            let post = s
                .posts
                .iter_mut()
                .find(|p| p.id == id)
                .unwrap_or_else(|| panic!("no post {id}"));
            f(post)
        })
    }

    /// `user` likes the post (once).
    pub fn like(&self, user: &XUser, id: &str) {
        let user_id = user.id.clone();
        self.edit_post(id, |p| {
            if !p.likes.contains(&user_id) {
                p.likes.push(user_id)
            }
        });
    }

    /// `user` reposts the post (once).
    pub fn repost(&self, user: &XUser, id: &str) {
        let user_id = user.id.clone();
        self.edit_post(id, |p| {
            if !p.reposts.contains(&user_id) {
                p.reposts.push(user_id)
            }
        });
    }

    pub fn set_impressions(&self, id: &str, count: u64) {
        self.edit_post(id, |p| p.impressions = count);
    }

    /// Makes the post older by `by` (to step outside recent search's 7 days or the
    /// duplicate window).
    pub fn backdate(&self, id: &str, by: Duration) {
        let by = chrono::Duration::from_std(by).expect("a sane duration");
        self.edit_post(id, |p| p.created_at -= by);
    }

    /// Deletes the post, as its author would.
    pub fn delete_post(&self, id: &str) {
        self.edit_post(id, |p| p.deleted = true);
    }

    /// Every post, deleted ones too, in the order they were made.
    pub fn posts(&self) -> Vec<XPost> {
        self.with(|s| s.posts.clone())
    }

    /// The user's standing posts, oldest first.
    pub fn posts_by(&self, user: &XUser) -> Vec<XPost> {
        self.with(|s| {
            s.posts
                .iter()
                .filter(|p| p.author_id == user.id && !p.deleted)
                .cloned()
                .collect()
        })
    }

    pub fn post(&self, id: &str) -> Option<XPost> {
        self.with(|s| s.posts.iter().find(|p| p.id == id).cloned())
    }

    /// The standing posts of the conversation that `head` starts, oldest first.
    pub fn conversation(&self, head: &str) -> Vec<XPost> {
        self.with(|s| {
            s.posts
                .iter()
                .filter(|p| p.conversation_id == head && !p.deleted)
                .cloned()
                .collect()
        })
    }

    /// Every upload, in order (with its bytes and alt text).
    pub fn media(&self) -> Vec<XMedia> {
        self.with(|s| s.media.clone())
    }

    /// How many requests reached the server for `route` (`"POST /2/tweets"`),
    /// faulted ones included; requests Prism refused never reach it.
    pub fn requests(&self, route: &str) -> usize {
        assert!(ROUTES.contains(&route), "unknown X route {route:?}");
        self.with(|s| s.seen.iter().filter(|r| r.route == route).count())
    }

    /// Every request the server answered, in order, with its status.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    /// What Prism refused of this X's traffic: requests outside the spec (422
    /// `validation`), answers outside it (500 `…#VIOLATIONS`), missing tokens, unknown
    /// paths. Requests without a token of this X are in [`unattributed_violations`].
    pub fn violations(&self) -> Vec<Violation> {
        self.with(|s| s.violations.clone())
    }

    /// Panics listing Prism's findings, if it had any for this X (or for requests it
    /// could not tell the X of).
    pub fn assert_no_violations(&self) {
        assert!(
            self.behind_prism,
            "this X runs without Prism (XApi::start_direct)"
        );
        let mut all = self.violations();
        all.extend(unattributed_violations());
        assert!(
            all.is_empty(),
            "Prism found requests or answers outside X's spec:\n{}",
            all.iter()
                .map(|v| format!("{} {} → {} {}", v.method, v.path, v.status, v.body))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl Drop for XApi {
    fn drop(&mut self) {
        hub().forget(&self.world);
    }
}

/// Prism's findings on requests that carried no token of any X (so no test's).
pub fn unattributed_violations() -> Vec<Violation> {
    hub()
        .unattributed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// The requests Prism's own log says it ended with an error of its own, for the
/// whole test binary (`post /2/tweets: https://stoplight.io/prism/errors#VIOLATIONS`):
/// a cross-check of what the relay noted. Empty while Prism has not started.
pub fn prism_logged_errors() -> Vec<String> {
    hub().prism_logged_errors()
}

/// Prism's log, for failure messages.
pub fn prism_log() -> String {
    hub().prism_log()
}
