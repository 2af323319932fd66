//! The moderators' review queue on the web page: the list of drafts, one draft rendered
//! as it will be posted (with counted lengths, images and alt text), and its actions.
//!
//! Every action goes through [`crate::queue`], the same operations as the CLI, with the
//! logged-in moderator as the audited actor.

use super::{require_session, WebState};
use crate::app::App;
use crate::queue::{self, QueueError};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use std::sync::Arc;

/// What a redirect after a successful action says (fixed texts: nothing from the URL
/// reaches the page).
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "approved" => "Approved: the thread is being posted.",
        "scheduled" => "Scheduled.",
        "rejected" => "Rejected: it will not be posted.",
        "edited" => "Saved.",
        "unchanged" => "Nothing changed.",
        _ => return None,
    })
}

pub(super) fn app(state: &WebState) -> Result<&Arc<App>, Box<Response>> {
    state.app.as_ref().ok_or_else(|| {
        Box::new(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the review queue is not available in this server",
            )
                .into_response(),
        )
    })
}

pub(super) async fn list(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let app = match app(&state) {
        Ok(app) => app,
        Err(response) => return *response,
    };
    match queue::list(app.store.as_ref()) {
        Ok(mut drafts) => {
            drafts.sort_by_key(|d| std::cmp::Reverse(d.id));
            let csrf = state.sessions.csrf_token(&session);
            let posts = by_post(&drafts);
            state.render(
                "queue.html",
                minijinja::context! {
                    moderator, csrf,
                    posts => minijinja::Value::from(minijinja::value::Serde(&posts)),
                    drafts => minijinja::Value::from(minijinja::value::Serde(&drafts)),
                },
            )
        }
        Err(error) => failure(error),
    }
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

pub(super) async fn show(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let flash = done.done.as_deref().and_then(done_text);
    render_draft(
        &state,
        &moderator,
        &session,
        id,
        flash,
        false,
        StatusCode::OK,
    )
}

fn render_draft(
    state: &WebState,
    moderator: &str,
    session: &str,
    id: i64,
    flash: Option<&str>,
    flash_error: bool,
    status: StatusCode,
) -> Response {
    let app = match app(state) {
        Ok(app) => app,
        Err(response) => return *response,
    };
    let detail = match queue::show(app.store.as_ref(), id) {
        Ok(detail) => detail,
        Err(error) => return failure(error),
    };
    // Re-extracting needs the network and is left to `papercast queue reextract`.
    let allowed: Vec<&str> = detail.allowed.iter().map(|a| a.as_str()).collect();
    let csrf = state.sessions.csrf_token(session);
    let page = state.render(
        "draft.html",
        minijinja::context! {
            moderator, csrf, flash, flash_error, allowed,
            d => minijinja::Value::from(minijinja::value::Serde(&detail.summary)),
            posts => minijinja::Value::from(minijinja::value::Serde(&detail.posts)),
            audit => minijinja::Value::from(minijinja::value::Serde(&detail.audit)),
        },
    );
    (status, page).into_response()
}

pub(super) fn failure(error: QueueError) -> Response {
    let status = match error {
        QueueError::NotFound(_) => StatusCode::NOT_FOUND,
        QueueError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, error.to_string()).into_response()
}

/// Runs a queue action for the logged-in moderator, then shows the draft: after a
/// redirect when it worked, or at once with the error (e.g. the count of a post over
/// the limit) when it did not.
async fn act(
    state: &WebState,
    headers: &HeaderMap,
    csrf: &str,
    id: i64,
    seen: Option<i64>,
    action: impl FnOnce(&App, &queue::Request<'_>) -> Result<&'static str, QueueError>,
) -> Response {
    let moderator = match require_session(state, headers, csrf) {
        Ok(moderator) => moderator,
        Err(refusal) => return refusal.into_response(),
    };
    let app = match app(state) {
        Ok(app) => app,
        Err(response) => return *response,
    };
    let request = queue::Request {
        id,
        actor: &moderator,
        seen,
        now: Utc::now(),
    };
    match action(app, &request) {
        Ok(done) => Redirect::to(&format!("/drafts/{id}?done={done}")).into_response(),
        Err(QueueError::NotFound(id)) => failure(QueueError::NotFound(id)),
        Err(error) => {
            let session = state.session(headers).map(|(_, s)| s).unwrap_or_default();
            let message = error.to_string();
            render_draft(
                state,
                &moderator,
                &session,
                id,
                Some(&message),
                true,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    reason: String,
    /// The draft's version the page showed: a draft changed since is not acted on.
    version: Option<i64>,
}

/// `POST /drafts/{id}/approve|schedule|reject`.
pub(super) async fn decide(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path((id, decision)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    act(
        &state,
        &headers,
        &form.csrf,
        id,
        form.version,
        |app, request| {
            let store = app.store.as_ref();
            let done = match decision.as_str() {
                "approve" => {
                    queue::approve(store, request, None)?;
                    "approved"
                }
                "schedule" => {
                    let at =
                        queue::parse_time(&form.at, request.now).map_err(QueueError::BadTime)?;
                    queue::schedule(store, request, at)?;
                    "scheduled"
                }
                "reject" => {
                    queue::reject(store, request, Some(&form.reason))?;
                    return Ok("rejected");
                }
                _ => return Err(QueueError::NotFound(id)),
            };
            // The publisher posts what is approved, now or when it is due.
            app.publish_now.notify_one();
            Ok(done)
        },
    )
    .await
}

/// The edit form: `csrf`, `version` and one `post_<index>` field per post.
pub(super) async fn edit(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let csrf = field("csrf").unwrap_or("");
    // The edit form always carries the version it showed; without one (or with a
    // garbled one) the "changed since loaded" check could not be made.
    let version = field("version").and_then(|v| v.parse::<i64>().ok());
    let texts: Vec<(usize, String)> = fields
        .iter()
        .filter_map(|(key, text)| {
            let index = key.strip_prefix("post_")?.parse().ok()?;
            // Browsers send CRLF line ends from a textarea.
            Some((index, text.replace("\r\n", "\n")))
        })
        .collect();
    act(&state, &headers, csrf, id, version, |app, request| {
        if version.is_none() {
            return Err(QueueError::BadEdit {
                id,
                reason: "the form has no valid `version` field, so a change made since \
                             the page was loaded could not be detected; reload the page and \
                             edit again"
                    .into(),
            });
        }
        match queue::edit(app.store.as_ref(), request, &texts)? {
            queue::Edited::Unchanged => Ok("unchanged"),
            queue::Edited::Changed { .. } => Ok("edited"),
        }
    })
    .await
}

/// One row of the queue per blog post: its drafts, newest post first.
#[derive(serde::Serialize)]
struct PostRow<'a> {
    announcement_id: i64,
    title: &'a str,
    url: &'a str,
    drafts: Vec<&'a queue::DraftSummary>,
}

fn by_post(drafts: &[queue::DraftSummary]) -> Vec<PostRow<'_>> {
    let mut rows: Vec<PostRow<'_>> = Vec::new();
    // `drafts` is newest first, so each post's row lands where its newest draft is.
    for draft in drafts {
        match rows
            .iter_mut()
            .find(|row| row.announcement_id == draft.announcement_id)
        {
            Some(row) => row.drafts.push(draft),
            None => rows.push(PostRow {
                announcement_id: draft.announcement_id,
                title: &draft.post_title,
                url: &draft.post_url,
                drafts: vec![draft],
            }),
        }
    }
    for row in &mut rows {
        row.drafts.sort_by(|a, b| a.account.cmp(&b.account));
    }
    rows
}
