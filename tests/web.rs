//! The web server over real HTTP: login, sessions, CSRF and the publish hook.

mod support;

use papercast::config::{Config, ConfigSources};
use papercast::web::{self, auth, WebSecrets, WebState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const HOOK_SECRET: &str = "deploy-hook-secret";

struct Server {
    base: String,
    poll_now: Arc<Notify>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    start_with("").await
}

/// A server whose config file also holds `extra` (TOML).
async fn start_with(extra: &str) -> Server {
    start_for(extra, &auth::hash_password("s3cret pass").expect("hash")).await
}

/// A server whose moderator `ann` has the password hash `hash` (the session secret is
/// always the same, as across a restart with `PAPERCAST_WEB_SECRET` set).
async fn start_for(extra: &str, hash: &str) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("papercast.toml");
    std::fs::write(
        &file,
        format!("{extra}\n[[moderators]]\nname = \"ann\"\npassword_hash = \"{hash}\"\n"),
    )
    .expect("write config");
    let config = Config::load(&ConfigSources {
        file: Some(file),
        environment: Some(vec![]),
        ..Default::default()
    })
    .expect("config");
    let poll_now = Arc::new(Notify::new());
    let secrets = WebSecrets {
        session: Some("session-secret".into()),
        hook: Some(HOOK_SECRET.into()),
    };
    let store = Arc::new(papercast::store::SqliteStore::in_memory().expect("a store"));
    let app = Arc::new(papercast::app::App::new(config.clone(), store).expect("the app"));
    let state = Arc::new(
        WebState::new(&config, secrets, Arc::clone(&poll_now))
            .expect("web state")
            .with_app(app),
    );
    let listener = web::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(web::serve(listener, state, std::future::pending()));
    Server {
        base,
        poll_now,
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn log_in(server: &Server) -> String {
    let answer = support::post_login(&client(), &server.base, "ann", "s3cret pass").await;
    assert_eq!(answer.status(), 303);
    let cookie = answer.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().expect("a pair").to_owned()
}

#[tokio::test]
async fn the_queue_needs_a_login_and_a_wrong_password_is_refused() {
    let server = start().await;
    let answer = client()
        .get(format!("{}/", server.base))
        .send()
        .await
        .expect("home");
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/login");

    let answer = support::post_login(&client(), &server.base, "ann", "guess").await;
    assert_eq!(answer.status(), 401);
    assert!(
        !answer.headers().get_all("set-cookie").iter().any(|v| v
            .to_str()
            .is_ok_and(|v| v.starts_with("papercast_session="))),
        "a wrong password gets no session"
    );

    let cookie = log_in(&server).await;
    let answer = client()
        .get(format!("{}/", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("home");
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.expect("body");
    assert!(
        page.contains("ann") && page.contains("No drafts yet"),
        "{page}"
    );
}

#[tokio::test]
async fn a_post_without_csrf_token_or_session_is_refused() {
    let server = start().await;
    let cookie = log_in(&server).await;
    let answer = client()
        .post(format!("{}/logout", server.base))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("logout");
    assert_eq!(answer.status(), 403);

    let answer = client()
        .post(format!("{}/logout", server.base))
        .form(&[("csrf", "")])
        .send()
        .await
        .expect("logout");
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn the_publish_hook_needs_a_valid_signature() {
    let server = start().await;
    let url = format!("{}/hooks/publish", server.base);
    let body = r#"{"ref":"refs/heads/main"}"#;

    let answer = client().post(&url).body(body).send().await.expect("hook");
    assert_eq!(answer.status(), 401, "missing signature");
    let forged = auth::hub_signature(b"wrong secret", body.as_bytes());
    let answer = client()
        .post(&url)
        .header("X-Hub-Signature-256", forged)
        .body(body)
        .send()
        .await
        .expect("hook");
    assert_eq!(answer.status(), 401, "wrong secret");
    let nothing =
        tokio::time::timeout(Duration::from_millis(200), server.poll_now.notified()).await;
    assert!(nothing.is_err(), "a refused hook triggers nothing");

    let signature = auth::hub_signature(HOOK_SECRET.as_bytes(), body.as_bytes());
    let answer = client()
        .post(&url)
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .expect("hook");
    assert_eq!(answer.status(), 202);
    // This server runs no watcher (as under `serve`), and its answer says so.
    let text = answer.text().await.expect("body");
    assert!(text.contains("watches no feeds"), "{text}");
}

#[tokio::test]
async fn the_publish_hook_refuses_a_replayed_delivery() {
    let server = start().await;
    let url = format!("{}/hooks/publish", server.base);
    let send = |body: &'static str| {
        let url = url.clone();
        async move {
            client()
                .post(url)
                .header(
                    "X-Hub-Signature-256",
                    auth::hub_signature(HOOK_SECRET.as_bytes(), body.as_bytes()),
                )
                .body(body)
                .send()
                .await
                .expect("hook")
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(r#"{"delivery":"1"}"#).await, 202);
    assert_eq!(
        send(r#"{"delivery":"1"}"#).await,
        409,
        "the same request again"
    );
    assert_eq!(send(r#"{"delivery":"2"}"#).await, 202, "a new delivery");
}

#[tokio::test]
async fn behind_a_tls_proxy_the_session_cookie_is_secure() {
    for (extra, secure) in [("", false), ("[web]\nsecure_cookies = true\n", true)] {
        let server = start_with(extra).await;
        let answer = support::post_login(&client(), &server.base, "ann", "s3cret pass").await;
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("papercast_session="))
            .expect("a session cookie");
        assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
    }
}

#[tokio::test]
async fn login_failures_are_throttled_with_429_and_retry_after() {
    let server = start_with("[web]\nlogin_max_failures = 3\nlogin_lockout_secs = 2\n").await;
    let login = |name: &'static str, password: &'static str| {
        let base = server.base.clone();
        async move { support::post_login(&client(), &base, name, password).await }
    };
    for _ in 0..3 {
        assert_eq!(login("ann", "wrong").await.status(), 401);
    }
    // Past the limit even the right password is refused, before it is checked.
    let refused = login("ann", "s3cret pass").await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let page = refused.text().await.expect("body");
    assert!(page.contains("Too many failed logins"), "{page}");
    assert_eq!(
        login("someone", "x").await.status(),
        429,
        "the address is throttled too"
    );

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(login("ann", "s3cret pass").await.status(), 303);
}

#[tokio::test]
async fn pages_send_security_headers_and_no_store() {
    let server = start().await;
    let answer = client()
        .get(format!("{}/login", server.base))
        .send()
        .await
        .expect("login page");
    assert_eq!(answer.status(), 200);
    let headers = answer.headers();
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
}

/// The CSRF token in the page at `path`, seen with `cookie`.
async fn csrf_token(server: &Server, cookie: &str) -> String {
    let page = client()
        .get(format!("{}/", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("body");
    let field = "name=\"csrf\" value=\"";
    let start = page.find(field).expect("a csrf field") + field.len();
    page[start..].split('"').next().expect("a value").to_owned()
}

async fn home_status(server: &Server, cookie: &str) -> u16 {
    client()
        .get(format!("{}/", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("home")
        .status()
        .as_u16()
}

#[tokio::test]
async fn logout_ends_every_session_of_the_moderator() {
    let server = start().await;
    let cookie = log_in(&server).await;
    // A second browser (or a copied cookie) of the same moderator.
    let other = log_in(&server).await;
    assert_eq!(home_status(&server, &other).await, 200);
    let csrf = csrf_token(&server, &cookie).await;
    let answer = client()
        .post(format!("{}/logout", server.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(answer.status(), 303);
    assert_eq!(
        home_status(&server, &cookie).await,
        303,
        "the logged-out cookie"
    );
    assert_eq!(home_status(&server, &other).await, 303, "the other session");
    let again = log_in(&server).await;
    assert_eq!(home_status(&server, &again).await, 200, "a new login works");
}

#[tokio::test]
async fn a_password_change_ends_sessions_made_with_the_old_one() {
    let hash = auth::hash_password("s3cret pass").expect("hash");
    let before = start_for("", &hash).await;
    let cookie = log_in(&before).await;
    assert_eq!(home_status(&before, &cookie).await, 200);
    // The same secret and password hash after a restart: the session lives on.
    let restarted = start_for("", &hash).await;
    assert_eq!(home_status(&restarted, &cookie).await, 200);
    // A new password hash in the config: the old session is refused.
    let new_hash = auth::hash_password("a new passphrase").expect("hash");
    let changed = start_for("", &new_hash).await;
    assert_eq!(home_status(&changed, &cookie).await, 303);
}

#[tokio::test]
async fn a_login_without_the_forms_csrf_token_is_refused() {
    let server = start().await;
    let session_cookie = |answer: &reqwest::Response| {
        answer.headers().get_all("set-cookie").iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.starts_with("papercast_session="))
        })
    };
    // Posted from another site: no login cookie, no token.
    let answer = client()
        .post(format!("{}/login", server.base))
        .form(&[("name", "ann"), ("password", "s3cret pass")])
        .send()
        .await
        .expect("login");
    assert_eq!(answer.status(), 403);
    assert!(!session_cookie(&answer));
    // The form's cookie with another form's token.
    let (cookie, _) = support::login_form(&client(), &server.base).await;
    let (_, other_token) = support::login_form(&client(), &server.base).await;
    let answer = client()
        .post(format!("{}/login", server.base))
        .header("cookie", &cookie)
        .form(&[
            ("name", "ann"),
            ("password", "s3cret pass"),
            ("csrf", &other_token),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(answer.status(), 403);
    assert!(!session_cookie(&answer));
    let page = answer.text().await.expect("body");
    assert!(page.contains("log in again"), "{page}");
    // The form as served logs in.
    let answer = support::post_login(&client(), &server.base, "ann", "s3cret pass").await;
    assert_eq!(answer.status(), 303);
    assert!(session_cookie(&answer));
}
