//! The X test server's HTTP side, one per test binary: the server itself (axum, on a
//! runtime of its own, so that it answers whether the test is blocking or async), and
//! the relay in front of Prism that notes Prism's refusals.
//!
//! Every test's X is a separate world on the same port: a request belongs to the
//! world that issued its credential (the bearer token, or the `code` or
//! `refresh_token` of a token request). So one Prism, whose upstream is fixed, serves
//! every test in the binary.

use super::node::Prism;
use super::state::{status_error, Answer, Fault, Request, Seen, State, Violation, ROUTES};
use axum::body::Body;
use axum::http::{Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// One test's X.
pub struct World {
    pub state: Mutex<State>,
}

impl World {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Hub {
    runtime: tokio::runtime::Runtime,
    pub upstream_port: u16,
    /// Credential → the world that issued it.
    credentials: Mutex<HashMap<String, Weak<World>>>,
    relay: OnceLock<Relay>,
    /// Prism's refusals of requests that no world can be told of (no or an unknown
    /// token).
    pub unattributed: Mutex<Vec<Violation>>,
}

pub struct Relay {
    pub port: u16,
    pub prism: Prism,
}

pub fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("x-test-server")
            .enable_all()
            .build()
            .expect("a runtime for the X test server");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let upstream_port = listener.local_addr().expect("its address").port();
        serve(&runtime, listener, axum::Router::new().fallback(upstream));
        Hub {
            runtime,
            upstream_port,
            credentials: Mutex::new(HashMap::new()),
            relay: OnceLock::new(),
            unattributed: Mutex::new(Vec::new()),
        }
    })
}

fn serve(runtime: &tokio::runtime::Runtime, listener: std::net::TcpListener, app: axum::Router) {
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        axum::serve(listener, app).await.expect("serving");
    });
}

impl Hub {
    /// Makes the world's new credentials route to it.
    pub fn register(&self, world: &Arc<World>) {
        let issued = std::mem::take(&mut world.lock().issued);
        let mut credentials = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        for credential in issued {
            credentials.insert(credential, Arc::downgrade(world));
        }
    }

    /// Forgets the world's credentials (its requests then answer 401).
    pub fn forget(&self, world: &Arc<World>) {
        let world = Arc::downgrade(world);
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, other| !other.ptr_eq(&world));
    }

    /// See [`Prism::logged_errors`]; empty while Prism has not started.
    pub fn prism_logged_errors(&self) -> Vec<String> {
        self.relay
            .get()
            .map(|relay| relay.prism.logged_errors())
            .unwrap_or_default()
    }

    pub fn prism_log(&self) -> String {
        self.relay
            .get()
            .map(|relay| relay.prism.log())
            .unwrap_or_default()
    }

    fn world_of(&self, credential: &str) -> Option<Arc<World>> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(credential)?
            .upgrade()
    }

    fn world_for(&self, request: &Request) -> Option<Arc<World>> {
        if request.route == "POST /2/oauth2/token" {
            let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            return ["code", "refresh_token"]
                .iter()
                .find_map(|field| self.world_of(form.get(*field)?));
        }
        if request.route == "GET /i/oauth2/authorize" {
            let client = request
                .query
                .iter()
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.as_str())?;
            return self.world_of(&format!("client:{client}"));
        }
        self.world_of(request.bearer()?)
    }

    /// The relay in front of Prism (started with Prism on first use).
    pub fn relay(&'static self) -> &'static Relay {
        self.relay.get_or_init(|| {
            let prism = Prism::start(&format!("http://127.0.0.1:{}", self.upstream_port));
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
            let port = listener.local_addr().expect("its address").port();
            let context = RelayContext {
                prism: format!("http://127.0.0.1:{}", prism.port),
                upstream: format!("http://127.0.0.1:{}", self.upstream_port),
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_gzip()
                    .pool_max_idle_per_host(8)
                    .build()
                    .expect("an http client"),
            };
            serve(
                &self.runtime,
                listener,
                axum::Router::new().fallback(relay).with_state(context),
            );
            self.warm_up(&format!("http://127.0.0.1:{}", prism.port));
            Relay { port, prism }
        })
    }

    /// Sends Prism one valid request per route, as a world of its own. Prism prepares
    /// its checks of a route on the first request to it, which takes up to 3 s: better
    /// here, once, than in a test whose client gives up after 2 s.
    fn warm_up(&'static self, prism: &str) {
        let mut state = State::new(super::state::random_token(34));
        let user = state.add_user("warmup", "Warm-up");
        let world = Arc::new(World {
            state: Mutex::new(state),
        });
        self.register(&world);
        let prism = prism.to_owned();
        let started = std::time::Instant::now();
        let token = user.token.clone();
        let id = user.id.clone();
        // A thread of its own: the caller may be inside an async runtime.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let http = reqwest::Client::new();
                let get = |path: String| {
                    http.get(format!("{prism}{path}"))
                        .bearer_auth(&token)
                        .send()
                };
                let post = |path: &str, body: serde_json::Value| {
                    http.post(format!("{prism}{path}"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                };
                let json = |response: reqwest::Result<reqwest::Response>| async {
                    match response {
                        Ok(r) => r.json::<serde_json::Value>().await.unwrap_or_default(),
                        Err(_) => serde_json::Value::Null,
                    }
                };
                // A 1×1 PNG: just enough for the upload path.
                let media = json(
                    post(
                        "/2/media/upload",
                        serde_json::json!({"media": WARM_UP_PNG, "media_category": "tweet_image"}),
                    )
                    .await,
                )
                .await;
                let media_id = media["data"]["id"].as_str().unwrap_or("1").to_owned();
                let _ = post(
                    "/2/media/metadata",
                    serde_json::json!({"id": media_id, "metadata": {"alt_text": {"text": "A dot."}}}),
                )
                .await;
                let created = json(
                    post(
                        "/2/tweets",
                        serde_json::json!({"text": "warm-up", "media": {"media_ids": [media_id]}}),
                    )
                    .await,
                )
                .await;
                let post_id = created["data"]["id"].as_str().unwrap_or("1").to_owned();
                let fields = "tweet.fields=author_id,conversation_id,created_at,referenced_tweets,public_metrics&expansions=author_id";
                let _ = get("/2/users/me".into()).await;
                let _ = get(format!("/2/users/{id}")).await;
                let _ = get(format!("/2/tweets/{post_id}?{fields}")).await;
                let _ = get(format!("/2/users/{id}/tweets?max_results=5&{fields}")).await;
                let _ = get(format!("/2/users/{id}/mentions?{fields}")).await;
                let _ = get(format!("/2/tweets/search/recent?query=conversation_id:{post_id}&{fields}")).await;
                let _ = http
                    .delete(format!("{prism}/2/tweets/{post_id}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
            });
        });
        let _ = done.join();
        self.forget(&world);
        eprintln!("test peer: Prism warmed up in {:.1?}", started.elapsed());
    }
}

/// A 1×1 PNG, base64.
const WARM_UP_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=";

/// Which route a method and path are, with the path's id.
fn route(method: &str, path: &str) -> Option<(&'static str, Option<String>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (template, id) = match (method, segments.as_slice()) {
        ("GET", ["2", "users", "me"]) => ("GET /2/users/me", None),
        ("GET", ["2", "users", id]) => ("GET /2/users/:id", Some(*id)),
        ("POST", ["2", "tweets"]) => ("POST /2/tweets", None),
        ("GET", ["2", "tweets", "search", "recent"]) => ("GET /2/tweets/search/recent", None),
        ("GET", ["2", "tweets", id]) => ("GET /2/tweets/:id", Some(*id)),
        ("DELETE", ["2", "tweets", id]) => ("DELETE /2/tweets/:id", Some(*id)),
        ("GET", ["2", "users", id, "tweets"]) => ("GET /2/users/:id/tweets", Some(*id)),
        ("GET", ["2", "users", id, "mentions"]) => ("GET /2/users/:id/mentions", Some(*id)),
        ("POST", ["2", "media", "upload"]) => ("POST /2/media/upload", None),
        ("POST", ["2", "media", "metadata"]) => ("POST /2/media/metadata", None),
        ("GET", ["2", "usage", "tweets"]) => ("GET /2/usage/tweets", None),
        ("POST", ["2", "oauth2", "token"]) => ("POST /2/oauth2/token", None),
        ("GET", ["i", "oauth2", "authorize"]) => ("GET /i/oauth2/authorize", None),
        _ => return None,
    };
    debug_assert!(ROUTES.contains(&template));
    Some((template, id.map(str::to_owned)))
}

fn write(answer: Answer) -> Response<Body> {
    let mut builder = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(name, value);
    }
    let body = if answer.body.is_null() {
        Body::empty()
    } else {
        builder = builder.header("content-type", "application/json; charset=utf-8");
        Body::from(answer.body.to_string())
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut response = Response::new(Body::from("bad answer"));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

async fn read(request: axum::extract::Request) -> Result<Request, Response<Body>> {
    let (parts, body) = request.into_parts();
    let Some((route, id)) = route(parts.method.as_str(), parts.uri.path()) else {
        return Err(write(Answer::json(
            404,
            serde_json::json!({
                "title": "Not Found", "detail": "Sorry, that page does not exist",
                "type": "about:blank", "status": 404, "code": 34,
                "message": "Sorry, that page does not exist",
            }),
        )));
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // Room for an image over X's limit, so that the limit answers, not the reader.
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .map_err(|e| {
            write(super::state::x_error(
                413,
                "Payload Too Large",
                &e.to_string(),
            ))
        })?
        .to_vec();
    let content_type = header("content-type");
    let parts_list = match &content_type {
        Some(ct) if ct.starts_with("multipart/form-data") => multipart(ct, &body).await,
        _ => Vec::new(),
    };
    Ok(Request {
        route,
        id,
        query: parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        authorization: header("authorization"),
        content_type,
        body,
        parts: parts_list,
    })
}

/// The fields of a multipart body (name, bytes); empty when it does not parse.
async fn multipart(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Vec::new();
    };
    let body = body.to_vec();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        match field.bytes().await {
            Ok(value) => fields.push((name, value.to_vec())),
            Err(_) => return Vec::new(),
        }
    }
    fields
}

/// The X server: finds the request's world, applies its fault rules, answers.
async fn upstream(request: axum::extract::Request) -> Response<Body> {
    let request = match read(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(world) = hub().world_for(&request) else {
        let answer = match request.route {
            "POST /2/oauth2/token" => Answer::json(
                400,
                serde_json::json!({"error": "invalid_request", "error_description": "Value passed for the token was invalid."}),
            ),
            _ => status_error(401),
        };
        return write(answer);
    };
    let user = {
        let state = world.lock();
        state
            .token_user(&request)
            .map(|u| state.users[u].username.clone())
    };
    let fault = world.lock().fire(request.route);
    let answer = match fault {
        Some(Fault::Status(status)) => status_error(status),
        Some(Fault::RateLimited { reset_in }) => {
            let mut state = world.lock();
            let user = state.token_user(&request);
            state.rate_limit_now(user, request.route, reset_in)
        }
        other => {
            let (before, after, replace) = match other {
                Some(Fault::CommitThen(status)) => (Duration::ZERO, Duration::ZERO, Some(status)),
                Some(Fault::Slow(delay)) => (delay, Duration::ZERO, None),
                Some(Fault::Hold(delay)) => (Duration::ZERO, delay, None),
                _ => (Duration::ZERO, Duration::ZERO, None),
            };
            // A task of its own: the request takes effect even if the client leaves.
            let worker = world.clone();
            let done = tokio::spawn(async move {
                tokio::time::sleep(before).await;
                let answer = worker.lock().execute(&request);
                hub().register(&worker);
                (request.route, answer)
            });
            let Ok((route, answer)) = done.await else {
                return write(status_error(500));
            };
            let status = replace.unwrap_or(answer.status);
            world.lock().seen.push(Seen {
                route: route.to_owned(),
                status,
                user: user.clone(),
            });
            tokio::time::sleep(after).await;
            return write(match replace {
                Some(status) => status_error(status),
                None => answer,
            });
        }
    };
    world.lock().seen.push(Seen {
        route: request.route.to_owned(),
        status: answer.status,
        user,
    });
    write(answer)
}

#[derive(Clone)]
struct RelayContext {
    prism: String,
    upstream: String,
    http: reqwest::Client,
}

/// Forwards a request to Prism (paths the spec lacks, the OAuth endpoints, straight to
/// the server) and notes Prism's own error answers with the world they belong to.
async fn relay(
    axum::extract::State(context): axum::extract::State<RelayContext>,
    request: axum::extract::Request,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return write(status_error(413));
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let direct = matches!(parts.uri.path(), "/2/oauth2/token" | "/i/oauth2/authorize");
    let target = if direct {
        &context.upstream
    } else {
        &context.prism
    };
    let mut forward = context
        .http
        .request(parts.method.clone(), format!("{target}{path}"));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name.as_str()) {
            forward = forward.header(name, value);
        }
    }
    let token = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let response = match forward.body(body).send().await {
        Ok(response) => response,
        Err(e) => {
            return write(super::state::x_error(
                502,
                "Bad Gateway",
                &format!("the relay could not reach Prism: {e}"),
            ))
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    if !direct {
        note_violation(
            &parts.method,
            &path,
            status.as_u16(),
            &headers,
            &body,
            token,
        );
    }
    let mut builder = Response::builder().status(status);
    for (name, value) in &headers {
        if !hop_by_hop(name.as_str()) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| write(status_error(502)))
}

fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

/// Records Prism's own error answers (`type` under stoplight.io/prism/errors).
fn note_violation(
    method: &axum::http::Method,
    path: &str,
    status: u16,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    token: Option<String>,
) {
    let problem = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !problem {
        return;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    if !body["type"]
        .as_str()
        .is_some_and(|t| t.starts_with("https://stoplight.io/prism/errors#"))
    {
        return;
    }
    let violation = Violation {
        method: method.to_string(),
        path: path.to_owned(),
        status,
        body,
    };
    match token.and_then(|t| hub().world_of(&t)) {
        Some(world) => world.lock().violations.push(violation),
        None => hub()
            .unattributed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(violation),
    }
}
