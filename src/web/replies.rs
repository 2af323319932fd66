//! The discussion endpoints the blog reads (`/discussions/<slug>.json|.html`, with
//! CORS and caching headers) and the moderators' reply pages (`/replies`).

use super::{require_session, WebState};
use crate::discuss::web_url;
use crate::replies::discussions::{self, file_slug, ListedPost, ReplyState};
use crate::store::{canonical_handle, ReplyStore};
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long browsers may keep a "not found" (a post not announced yet), in seconds.
const NOT_FOUND_MAX_AGE: u64 = 60;

/// The fragment, opened on its own, may show images and inline styles, nothing else.
const FRAGMENT_CSP: &str = "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Html,
}

fn store(state: &WebState) -> Option<&dyn ReplyStore> {
    state.store.as_deref()
}

/// `GET /discussions/<slug>.json` and `.html`.
pub(super) async fn discussion_file(
    State(state): State<Arc<WebState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let cors = cors_origin(&state, &headers);
    let not_found = |message: &str| {
        let mut response = (StatusCode::NOT_FOUND, message.to_owned()).into_response();
        add_common(&mut response, cors.as_ref(), NOT_FOUND_MAX_AGE);
        response
    };
    let (slug, kind) = match file.rsplit_once('.') {
        Some((slug, "json")) => (slug, Kind::Json),
        Some((slug, "html")) => (slug, Kind::Html),
        _ => return not_found("ask for /discussions/<slug>.json or /discussions/<slug>.html"),
    };
    if slug.is_empty() || file_slug(slug) != slug {
        return not_found("no such post");
    }
    let Some(store) = store(&state) else {
        return not_found("discussions are not served here (no state database)");
    };
    let discussion = match discussions::discussion(store, slug) {
        Ok(Some(discussion)) => discussion,
        Ok(None) => return not_found("no discussion of this post: it was not announced"),
        Err(error) => return server_error("reading a discussion", &error),
    };
    let (body, content_type) = match kind {
        Kind::Json => (
            discussions::to_json(&discussion),
            "application/json; charset=utf-8",
        ),
        Kind::Html => match discussions::to_html(&discussion) {
            Ok(html) => (html, "text/html; charset=utf-8"),
            Err(error) => return server_error("rendering a discussion", &error),
        },
    };
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..16])
    );
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if kind == Kind::Html {
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(FRAGMENT_CSP),
            );
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    add_common(&mut response, cors.as_ref(), state.discussion_max_age);
    response
}

/// `OPTIONS /discussions/<file>`: the CORS preflight a browser sends before a request
/// with headers of its own (e.g. `If-None-Match` set by a script).
pub(super) async fn discussion_preflight(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Response {
    let cors = cors_origin(&state, &headers);
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = &cors {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("If-None-Match"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// The request's `Origin` when it is one of the configured blog origins.
fn cors_origin(state: &WebState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .discussion_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/') == text)
        .then(|| origin.clone())
}

fn add_common(response: &mut Response, cors: Option<&HeaderValue>, max_age: u64) {
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, value);
    }
    // The answer differs by Origin (the CORS header), so caches must keep them apart.
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(origin) = cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag"),
        );
    }
}

fn server_error(what: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::error!("{what}: {error}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the discussion could not be read; see the server log",
    )
        .into_response()
}

/// A listed reply as the moderators' page shows it: its link only when it is http(s).
fn reply_view(post: &ListedPost) -> Vec<minijinja::Value> {
    post.replies
        .iter()
        .map(|r| {
            minijinja::context! {
                id => r.id,
                about => r.about.clone(),
                author => r.author.clone(),
                handle => r.handle.clone(),
                bot => r.bot,
                link => web_url(&r.url),
                created_at => r.created_at.clone(),
                edited_at => r.edited_at.clone(),
                text => r.text.clone(),
                state => r.state.as_str(),
                published => r.state == ReplyState::Published,
                hidden => r.hidden_by.is_some(),
                hidden_by => r.hidden_by.clone(),
                hidden_reason => r.hidden_reason.clone(),
                author_hidden => r.author_hidden,
            }
        })
        .collect()
}

/// `GET /replies`: every announced post with its reply counts.
pub(super) async fn index(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(store) = store(&state) else {
        return no_store();
    };
    let posts = match discussions::list(store, None) {
        Ok(posts) => posts,
        Err(error) => return server_error("listing replies", &error),
    };
    let posts: Vec<minijinja::Value> = posts
        .iter()
        .map(|p| {
            let count = |state: ReplyState| p.replies.iter().filter(|r| r.state == state).count();
            minijinja::context! {
                title => p.title.clone(),
                slug => file_slug(&p.slug),
                url => p.post_url.clone(),
                published => count(ReplyState::Published),
                hidden => count(ReplyState::Hidden) + count(ReplyState::UnderHidden),
                deleted => count(ReplyState::Deleted),
            }
        })
        .collect();
    let csrf = state.sessions.csrf_token(&session);
    state.render(
        "replies_index.html",
        minijinja::context! { moderator, csrf, posts },
    )
}

/// `GET /replies/<slug>`: one post's replies with hide and show buttons.
pub(super) async fn post_page(
    State(state): State<Arc<WebState>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(store) = store(&state) else {
        return no_store();
    };
    let post = match discussions::list(store, Some(&slug)) {
        Ok(mut posts) if !posts.is_empty() => posts.remove(0),
        Ok(_) => return (StatusCode::NOT_FOUND, "no such announced post").into_response(),
        Err(error) => return server_error("listing replies", &error),
    };
    let csrf = state.sessions.csrf_token(&session);
    let replies = reply_view(&post);
    state.render(
        "replies.html",
        minijinja::context! {
            moderator,
            csrf,
            slug => file_slug(&post.slug),
            title => post.title,
            post_url => post.post_url,
            replies,
        },
    )
}

fn no_store() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "replies are not available: the web server runs without the state database",
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

#[derive(Deserialize)]
pub(super) struct AuthorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// Where to go after a change: back to the post's page (a slug, never another site).
fn back_to(back: &str) -> Redirect {
    if !back.is_empty() && file_slug(back) == back {
        Redirect::to(&format!("/replies/{back}"))
    } else {
        Redirect::to("/replies")
    }
}

fn reason(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|r| !r.is_empty())
}

/// `POST /replies/<id>/hide`.
pub(super) async fn hide(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ReplyForm>,
) -> Response {
    set_hidden(&state, id, true, &headers, &form)
}

/// `POST /replies/<id>/unhide`.
pub(super) async fn unhide(
    State(state): State<Arc<WebState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ReplyForm>,
) -> Response {
    set_hidden(&state, id, false, &headers, &form)
}

fn set_hidden(
    state: &WebState,
    id: i64,
    hidden: bool,
    headers: &HeaderMap,
    form: &ReplyForm,
) -> Response {
    let moderator = match require_session(state, headers, &form.csrf) {
        Ok(moderator) => moderator,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(store) = store(state) else {
        return no_store();
    };
    match store.reply(id) {
        Ok(Some(_)) => {}
        Ok(None) => return (StatusCode::NOT_FOUND, "no such reply").into_response(),
        Err(error) => return server_error("reading a reply", &error),
    }
    if let Err(error) = store.set_reply_hidden(id, hidden, &moderator, reason(&form.reason)) {
        return server_error("hiding a reply", &error);
    }
    tracing::info!(%moderator, reply = id, hidden, "reply moderated");
    back_to(&form.back).into_response()
}

/// `POST /authors/hide`.
pub(super) async fn hide_author(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<AuthorForm>,
) -> Response {
    set_author_hidden(&state, true, &headers, &form)
}

/// `POST /authors/unhide`.
pub(super) async fn unhide_author(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Form(form): Form<AuthorForm>,
) -> Response {
    set_author_hidden(&state, false, &headers, &form)
}

fn set_author_hidden(
    state: &WebState,
    hidden: bool,
    headers: &HeaderMap,
    form: &AuthorForm,
) -> Response {
    let moderator = match require_session(state, headers, &form.csrf) {
        Ok(moderator) => moderator,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(store) = store(state) else {
        return no_store();
    };
    let handle = canonical_handle(&form.handle);
    if handle.split('@').filter(|part| !part.is_empty()).count() != 2 {
        return (StatusCode::BAD_REQUEST, "give a full handle: @user@server").into_response();
    }
    let result = if hidden {
        store.hide_author(&handle, &moderator, reason(&form.reason))
    } else {
        store.unhide_author(&handle)
    };
    if let Err(error) = result {
        return server_error("hiding an author", &error);
    }
    tracing::info!(%moderator, author = %handle, hidden, "author moderated");
    back_to(&form.back).into_response()
}
