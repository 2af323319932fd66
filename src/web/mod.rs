//! The moderators' web page, the publish hook and the discussion endpoints (axum).
//!
//! Server-rendered HTML (minijinja, auto-escaped), sessions in signed `HttpOnly`,
//! `SameSite=Strict` cookies, a CSRF token in every form, and loopback by default.

pub mod auth;
mod card;
mod post;
mod queue;
mod replies;
pub mod report;
pub mod throttle;

use crate::config::{Config, ModeratorConfig};
use crate::store::{AuditNote, ReplyStore};
use auth::Sessions;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;
use throttle::{Key, LoginThrottle};
use tokio::sync::Notify;

const SESSION_COOKIE: &str = "papercast_session";
/// A random value set with the login form, whose CSRF token the form carries: a login
/// posted from another site has neither.
const LOGIN_COOKIE: &str = "papercast_login";
/// The audit action of a logout: every instance sharing the store ends the sessions.
const LOGOUT: &str = "logout";

/// How many publish hook deliveries are remembered to refuse a replay.
const HOOK_DELIVERIES_KEPT: usize = 4096;

/// Password checks run at once, each on a thread of its own that lives as long as the
/// server. Each Argon2 check holds ~19 MiB for tens of milliseconds; on a few long-lived
/// threads that memory is reused, where checks spread over a growing pool of blocking
/// threads would leave ~19 MiB behind in each thread's allocator arena.
const LOGIN_CHECKS: usize = 2;
/// Logins waiting for a check; more are answered 429 at once (a waiting login holds
/// little memory, but an endless queue would be a stall).
const LOGIN_QUEUE: usize = 32;

type PasswordJob = Box<dyn FnOnce(&mut auth::PasswordChecker) + Send>;

/// The threads that check passwords, fed through a bounded queue.
struct PasswordChecks {
    jobs: std::sync::mpsc::SyncSender<PasswordJob>,
}

impl PasswordChecks {
    fn start() -> Result<Self, WebError> {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<PasswordJob>(LOGIN_QUEUE);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..LOGIN_CHECKS {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    let mut checker = auth::PasswordChecker::default();
                    loop {
                        let job = {
                            let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                            queue.recv()
                        };
                        match job {
                            Ok(job) => job(&mut checker),
                            // The server is gone.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| WebError::Listen {
                    address: "password check threads".into(),
                    reason: e.to_string(),
                })?;
        }
        Ok(PasswordChecks { jobs })
    }

    /// Queues `job`; `false` when the queue is full.
    fn submit(&self, job: PasswordJob) -> bool {
        self.jobs.try_send(job).is_ok()
    }
}

#[derive(Debug, Error)]
pub enum WebError {
    #[error("cannot listen on {address}: {reason}; change web.listen")]
    Listen { address: String, reason: String },
    #[error("web page template `{name}`: {reason}")]
    Template { name: String, reason: String },
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

/// Everything the handlers share.
pub struct WebState {
    sessions: Sessions,
    moderators: Vec<ModeratorConfig>,
    hook_secret: Option<Vec<u8>>,
    /// Wakes the feed watcher (the publish hook).
    pub poll_now: Arc<Notify>,
    /// Whether a feed watcher runs in this process (`run`, not `serve`), so that the
    /// hook's answer says what it does.
    watching: bool,
    /// Signatures of hook deliveries already received (oldest first, bounded): the same
    /// signed request sent again is refused.
    hook_deliveries: std::sync::Mutex<std::collections::VecDeque<String>>,
    pages: minijinja::Environment<'static>,
    /// Checked when a login names no moderator (see `login`).
    dummy_hash: String,
    /// The attributes of the session cookie (`Secure` behind a TLS proxy).
    cookie_attributes: &'static str,
    /// The pipeline, for the review queue (see [`WebState::with_app`]).
    app: Option<Arc<crate::app::App>>,
    /// The state database: replies and discussions (see [`WebState::with_store`]).
    store: Option<Arc<dyn ReplyStore>>,
    /// Origins allowed to read the discussion endpoints (CORS).
    discussion_origins: Vec<String>,
    discussion_max_age: u64,
    /// Failed logins per address and name.
    throttle: LoginThrottle,
    password_checks: PasswordChecks,
}

/// The secrets the web server needs, read from the environment variables that the
/// configuration names.
#[derive(Clone, Default)]
pub struct WebSecrets {
    /// Signs session cookies and CSRF tokens; `None` = a random one per start.
    pub session: Option<String>,
    /// The publish hook's shared secret; `None` = the hook is off.
    pub hook: Option<String>,
}

impl std::fmt::Debug for WebSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSecrets(<hidden>)")
    }
}

impl WebSecrets {
    pub fn from_env(config: &crate::config::WebConfig) -> Self {
        let read = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
        WebSecrets {
            session: read(&config.session_secret_env),
            hook: read(&config.hook_secret_env),
        }
    }
}

impl WebState {
    pub fn new(
        config: &Config,
        secrets: WebSecrets,
        poll_now: Arc<Notify>,
    ) -> Result<Self, WebError> {
        let secret = match secrets.session {
            Some(secret) => secret,
            None => auth::random_hex(32)?,
        };
        Ok(WebState {
            sessions: Sessions::new(
                secret.as_bytes(),
                Duration::from_secs(config.web.session_hours * 3600),
            ),
            moderators: config.moderators.clone(),
            hook_secret: secrets.hook.map(String::into_bytes),
            poll_now,
            watching: false,
            hook_deliveries: Default::default(),
            pages: pages()?,
            dummy_hash: auth::hash_password(&auth::random_hex(16)?)?,
            cookie_attributes: if config.web.secure_cookies {
                "Path=/; HttpOnly; SameSite=Strict; Secure"
            } else {
                "Path=/; HttpOnly; SameSite=Strict"
            },
            app: None,
            store: None,
            discussion_origins: config.web.discussion_origins.clone(),
            discussion_max_age: config.web.discussion_max_age_secs,
            throttle: LoginThrottle::new(
                config.web.login_max_failures,
                Duration::from_secs(config.web.login_lockout_secs),
            ),
            password_checks: PasswordChecks::start()?,
        })
    }

    /// Serves the review queue of `app`; without it, the queue pages answer that they
    /// are unavailable.
    pub fn with_app(mut self, app: Arc<crate::app::App>) -> Self {
        self.app = Some(app);
        self
    }

    /// Tells the publish hook that a feed watcher runs here to wake.
    pub fn with_watcher(mut self, watching: bool) -> Self {
        self.watching = watching;
        self
    }

    /// Serves replies and discussions from `store`; without one, those pages answer
    /// that they are unavailable.
    pub fn with_store(mut self, store: Arc<dyn ReplyStore>) -> Self {
        self.store = Some(store);
        self
    }

    fn render(&self, name: &str, context: minijinja::Value) -> Response {
        match self
            .pages
            .get_template(name)
            .and_then(|t| t.render(context))
        {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!("rendering {name}: {error:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered; see the server log",
                )
                    .into_response()
            }
        }
    }

    /// The logged-in moderator and the session cookie, if any.
    fn session(&self, headers: &HeaderMap) -> Option<(String, String)> {
        let cookie = cookie(headers, SESSION_COOKIE)?;
        let name = self.sessions.verify(&cookie, SystemTime::now(), |name| {
            self.moderators
                .iter()
                .find(|m| m.name == name)
                .map(|m| m.password_hash.as_str())
        })?;
        if self.logged_out_elsewhere(&name, &cookie) {
            return None;
        }
        Some((name, cookie))
    }

    /// The store this server shares with other instances, if any.
    fn shared_store(&self) -> Option<&dyn ReplyStore> {
        self.store
            .as_deref()
            .or_else(|| self.app.as_ref().map(|app| app.store.as_ref()))
    }

    /// Whether the moderator logged out after this session was issued, on any instance
    /// sharing the store (this one's logouts are known without asking).
    fn logged_out_elsewhere(&self, name: &str, cookie: &str) -> bool {
        let (Some(store), Some(issued)) = (self.shared_store(), Sessions::issued_millis(cookie))
        else {
            return false;
        };
        match store.last_action_at(name, LOGOUT) {
            Ok(Some(at)) => u128::try_from(at.timestamp_millis()).is_ok_and(|at| issued <= at),
            Ok(None) => false,
            Err(error) => {
                // Refuse rather than let a session live past a logout unseen.
                tracing::warn!("checking {name}'s last logout: {error}");
                true
            }
        }
    }
}

fn pages() -> Result<minijinja::Environment<'static>, WebError> {
    let mut env = minijinja::Environment::new();
    crate::discuss::add_http_url_filter(&mut env);
    for (name, source) in [
        ("base.html", include_str!("../../templates/web/base.html")),
        ("login.html", include_str!("../../templates/web/login.html")),
        ("queue.html", include_str!("../../templates/web/queue.html")),
        ("draft.html", include_str!("../../templates/web/draft.html")),
        ("post.html", include_str!("../../templates/web/post.html")),
        (
            "replies_index.html",
            include_str!("../../templates/web/replies_index.html"),
        ),
        (
            "replies.html",
            include_str!("../../templates/web/replies.html"),
        ),
        (
            "report.html",
            include_str!("../../templates/web/report.html"),
        ),
    ] {
        env.add_template(name, source)
            .map_err(|e| WebError::Template {
                name: name.into(),
                reason: e.to_string(),
            })?;
    }
    Ok(env)
}

/// The routes of the web server.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(queue::list))
        .route("/drafts/{id}", get(queue::show))
        .route("/drafts/{id}/edit", post(queue::edit))
        .route("/drafts/{id}/{decision}", post(queue::decide))
        .route("/posts/{id}", get(post::show))
        .route("/assets/count.js", get(count_script))
        .route("/posts/{id}/{decision}", post(post::decide_all))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/hooks/publish", post(publish_hook))
        .route(
            "/discussions/{file}",
            get(replies::discussion_file).options(replies::discussion_preflight),
        )
        .route("/replies", get(replies::index))
        .route("/report", get(report::page))
        .route("/replies/{slug}", get(replies::post_page))
        .route("/replies/{id}/hide", post(replies::hide))
        .route("/replies/{id}/unhide", post(replies::unhide))
        .route("/authors/hide", post(replies::hide_author))
        .route("/authors/unhide", post(replies::unhide_author))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The draft page's live length count: small, local, and only a guide (saving checks
/// the length on the server).
async fn count_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/web/count.js"),
    )
        .into_response()
}

/// Headers on every answer: no framing (clickjacking), no content sniffing, only this
/// server's resources (the pages use one inline `<style>`, and one script file, the
/// live length count, which no page needs to work), and no
/// caching of moderators' pages; answers that set their own `Cache-Control` (the
/// discussion endpoints) keep it.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; \
             script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    response
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<WebState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The client's address is what failed logins are counted against.
    let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the configured address, with an error that says what to change.
pub async fn bind(address: &str) -> Result<tokio::net::TcpListener, WebError> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| WebError::Listen {
            address: address.into(),
            reason: e.to_string(),
        })
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

async fn login_page(State(state): State<Arc<WebState>>) -> Response {
    login_form(&state, None, StatusCode::OK, &[])
}

/// The login page with a fresh login cookie and the CSRF token that goes with it, or,
/// with no moderators configured, a page that says how to add one.
fn login_form(
    state: &WebState,
    flash: Option<&str>,
    status: StatusCode,
    extra: &[(header::HeaderName, String)],
) -> Response {
    let no_moderators = state.moderators.is_empty();
    let nonce = match auth::random_hex(16) {
        Ok(nonce) => nonce,
        Err(error) => {
            tracing::error!("{error}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the login form could not be made; see the server log",
            )
                .into_response();
        }
    };
    let csrf = state.sessions.csrf_token(&login_csrf_subject(&nonce));
    let page = state.render(
        "login.html",
        minijinja::context! { flash, flash_error => flash.is_some(), csrf, no_moderators },
    );
    let mut response = (status, page).into_response();
    let cookie = format!("{LOGIN_COOKIE}={nonce}; {}", state.cookie_attributes);
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    for (name, value) in extra {
        if let Ok(value) = header::HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), value);
        }
    }
    response
}

/// What a login form's CSRF token is made for: its login cookie, kept apart from
/// session tokens.
fn login_csrf_subject(nonce: &str) -> String {
    format!("login\0{nonce}")
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(state): State<Arc<WebState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let genuine_form = cookie(&headers, LOGIN_COOKIE).is_some_and(|nonce| {
        state
            .sessions
            .verify_csrf(&login_csrf_subject(&nonce), &form.csrf)
    });
    if !genuine_form {
        return login_form(
            &state,
            Some("The login form was stale or came from another site; log in again."),
            StatusCode::FORBIDDEN,
            &[],
        );
    }
    let known = state.moderators.iter().any(|m| m.name == form.name);
    let mut keys = vec![Key::Address(client.ip())];
    if known {
        keys.push(Key::Moderator(form.name.clone()));
    }
    if let Err(wait) = state.throttle.check(&keys, Instant::now()) {
        return too_many_logins(&state, wait, "Too many failed logins");
    }
    // An unknown name is checked against a dummy hash, so that the answer takes as long
    // as for a real moderator and does not tell which names exist.
    let (name, hash) = match state.moderators.iter().find(|m| m.name == form.name) {
        Some(m) => (m.name.clone(), m.password_hash.clone()),
        None => (String::new(), state.dummy_hash.clone()),
    };
    let password = form.password;
    let (answer, verified) = tokio::sync::oneshot::channel();
    let waiting = Arc::clone(&state);
    let job_keys = keys.clone();
    let job: PasswordJob = Box::new(move |checker| {
        // Failures counted while this login waited count now.
        let result = waiting.throttle.check(&job_keys, Instant::now()).map(|()| {
            checker.verify(&name, &hash, &password).unwrap_or_else(|e| {
                tracing::error!("{e}");
                false
            })
        });
        let _ = answer.send(result);
    });
    if !state.password_checks.submit(job) {
        return too_many_logins(&state, Duration::from_secs(1), "Too many logins at once");
    }
    let verified = match verified.await {
        Ok(Ok(verified)) => verified,
        Ok(Err(wait)) => return too_many_logins(&state, wait, "Too many failed logins"),
        Err(_) => false,
    };
    if !verified || !known {
        state.throttle.failed(&keys, Instant::now());
        // The typed name is not logged: a password typed into it would end up in the log.
        tracing::warn!(known_name = known, client = %client.ip(), "failed moderator login");
        return login_form(
            &state,
            Some("Wrong name or password."),
            StatusCode::UNAUTHORIZED,
            &[],
        );
    }
    state.throttle.succeeded(&keys);
    let credential = state
        .moderators
        .iter()
        .find(|m| m.name == form.name)
        .map(|m| m.password_hash.as_str())
        .unwrap_or_default();
    let session = state
        .sessions
        .issue(&form.name, credential, SystemTime::now());
    let cookie = format!("{SESSION_COOKIE}={session}; {}", state.cookie_attributes);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// 429 with `Retry-After` (whole seconds, rounded up) and the login form saying why.
fn too_many_logins(state: &WebState, wait: Duration, why: &str) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    login_form(
        state,
        Some(&format!("{why}; try again in {secs} s.")),
        StatusCode::TOO_MANY_REQUESTS,
        &[(header::RETRY_AFTER, secs.to_string())],
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let moderator = match require_session(&state, &headers, &form.csrf) {
        Ok(moderator) => moderator,
        Err(refusal) => return refusal.into_response(),
    };
    // Every session of this moderator ends, not only this browser's cookie: a copied
    // cookie must not outlive the logout.
    state.sessions.end_all(&moderator, SystemTime::now());
    // Recorded in the store too, so that every instance sharing it ends them as well.
    if let Some(store) = state.shared_store() {
        let note = AuditNote {
            actor: &moderator,
            action: LOGOUT,
            thread_id: None,
            details: "every session ended",
        };
        if let Err(error) = store.audit(&note) {
            tracing::warn!("recording {moderator}'s logout: {error}");
        }
    }
    let cookie = format!("{SESSION_COOKIE}=; {}; Max-Age=0", state.cookie_attributes);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// Why a state-changing request was refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    NoSession,
    BadCsrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::NoSession => (StatusCode::UNAUTHORIZED, "log in first"),
            Refusal::BadCsrf => (
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or stale; reload the page",
            ),
        };
        (status, text).into_response()
    }
}

/// Refuses a state-changing request without a valid session and its CSRF token.
fn require_session(state: &WebState, headers: &HeaderMap, csrf: &str) -> Result<String, Refusal> {
    let Some((moderator, session)) = state.session(headers) else {
        return Err(Refusal::NoSession);
    };
    if !state.sessions.verify_csrf(&session, csrf) {
        return Err(Refusal::BadCsrf);
    }
    Ok(moderator)
}

async fn publish_hook(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(secret) = &state.hook_secret else {
        return (
            StatusCode::NOT_FOUND,
            "the publish hook is off (no secret configured)",
        )
            .into_response();
    };
    let signature = headers
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok());
    if !auth::verify_hub_signature(secret, &body, signature) {
        tracing::warn!("publish hook: refused a request with a missing or wrong signature");
        return (
            StatusCode::UNAUTHORIZED,
            "bad or missing X-Hub-Signature-256",
        )
            .into_response();
    }
    // The signature covers the body, so a replay is the same body with the same
    // signature; a genuine new delivery differs (GitHub's carry their commit, a deploy
    // script should send a timestamp or an id).
    let delivery = signature.unwrap_or_default().trim().to_owned();
    {
        let mut seen = state
            .hook_deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if seen.contains(&delivery) {
            tracing::warn!("publish hook: refused a delivery received before (a replay)");
            return (
                StatusCode::CONFLICT,
                "this signed delivery was received before; send a new body (with a timestamp \
                 or an id) for a new one",
            )
                .into_response();
        }
        if seen.len() >= HOOK_DELIVERIES_KEPT {
            seen.pop_front();
        }
        seen.push_back(delivery);
    }
    if !state.watching {
        return (
            StatusCode::ACCEPTED,
            "received, but this server watches no feeds (papercast serve): nothing is \
             polled; `papercast run` watches them",
        )
            .into_response();
    }
    state.poll_now.notify_one();
    (StatusCode::ACCEPTED, "polling the feeds now").into_response()
}
