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
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = auth::hash_password("s3cret pass").expect("hash");
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
    let answer = client()
        .post(format!("{}/login", server.base))
        .form(&[("name", "ann"), ("password", "s3cret pass")])
        .send()
        .await
        .expect("login");
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

    let answer = client()
        .post(format!("{}/login", server.base))
        .form(&[("name", "ann"), ("password", "guess")])
        .send()
        .await
        .expect("login");
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().get("set-cookie").is_none());

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
    tokio::time::timeout(Duration::from_secs(1), server.poll_now.notified())
        .await
        .expect("a signed hook wakes the watcher");
}

#[tokio::test]
async fn behind_a_tls_proxy_the_session_cookie_is_secure() {
    for (extra, secure) in [("", false), ("[web]\nsecure_cookies = true\n", true)] {
        let server = start_with(extra).await;
        let answer = client()
            .post(format!("{}/login", server.base))
            .form(&[("name", "ann"), ("password", "s3cret pass")])
            .send()
            .await
            .expect("login");
        let cookie = answer.headers()["set-cookie"].to_str().expect("ascii");
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
        let url = format!("{}/login", server.base);
        async move {
            client()
                .post(url)
                .form(&[("name", name), ("password", password)])
                .send()
                .await
                .expect("login")
        }
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
