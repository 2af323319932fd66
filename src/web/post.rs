//! One page per blog post: every account's draft of it side by side, each post shown as
//! its network will show it, with actions for all the drafts at once and for each.
//!
//! "Approve all" and "schedule all" act on each draft in turn through [`crate::queue`],
//! so each is audited under the moderator's name, and a draft that cannot take the
//! action (already posted, rejected) is left as it is and named on the page.

use super::card::post_html;
use super::{require_session, WebState};
use crate::queue::{self, Action, DraftDetail};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize)]
struct CardPost {
    index: usize,
    html: String,
    length: usize,
    limit: usize,
    fits: bool,
    images: Vec<crate::model::Figure>,
    url: Option<String>,
}

#[derive(Serialize)]
struct Column {
    d: crate::queue::DraftSummary,
    allowed: Vec<&'static str>,
    posts: Vec<CardPost>,
}

fn drafts_of(state: &WebState, id: i64) -> Result<Vec<DraftDetail>, Box<Response>> {
    let app = super::queue::app(state)?;
    let store = app.store.as_ref();
    let refuse = |error| Box::new(super::queue::failure(error));
    let mut ids: Vec<i64> = queue::list(store)
        .map_err(refuse)?
        .into_iter()
        .filter(|d| d.announcement_id == id)
        .map(|d| d.id)
        .collect();
    ids.sort_unstable();
    if ids.is_empty() {
        return Err(Box::new(
            (StatusCode::NOT_FOUND, format!("no drafts of post {id}")).into_response(),
        ));
    }
    ids.into_iter()
        .map(|draft| queue::show(store, draft).map_err(refuse))
        .collect()
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
    skipped: Option<String>,
}

/// `GET /posts/{announcement}`.
pub(super) async fn show(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let details = match drafts_of(&state, id) {
        Ok(details) => details,
        Err(response) => return *response,
    };
    let title = details[0].summary.post_title.clone();
    let url = details[0].summary.post_url.clone();
    let any = |action: Action| details.iter().any(|d| d.allowed.contains(&action));
    let (can_approve, can_schedule) = (any(Action::Approve), any(Action::Schedule));
    let columns: Vec<Column> = details
        .into_iter()
        .map(|detail| Column {
            allowed: detail.allowed.iter().map(|a| a.as_str()).collect(),
            posts: detail
                .posts
                .iter()
                .map(|p| CardPost {
                    index: p.index,
                    html: post_html(&p.text, &p.links),
                    length: p.length,
                    limit: p.limit,
                    fits: p.fits,
                    images: p.images.clone(),
                    url: p.url.clone(),
                })
                .collect(),
            d: detail.summary,
        })
        .collect();
    let flash = match done.done.as_deref() {
        Some("approved") => Some("Approved: the threads are being posted."),
        Some("scheduled") => Some("Scheduled."),
        _ => None,
    };
    // Names of accounts, shown as text: only those this post has.
    let skipped: Vec<String> = done
        .skipped
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|name| columns.iter().any(|c| c.d.account == *name))
        .map(str::to_owned)
        .collect();
    let csrf = state.sessions.csrf_token(&session);
    state.render(
        "post.html",
        minijinja::context! {
            moderator, csrf, flash, title, url, id, can_approve, can_schedule, skipped,
            columns => minijinja::Value::from(minijinja::value::Serde(&columns)),
        },
    )
}

#[derive(Deserialize)]
pub(super) struct AllForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    at: String,
}

/// `POST /posts/{announcement}/approve|schedule`: the action on every draft of the
/// post that allows it.
pub(super) async fn decide_all(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path((id, decision)): Path<(i64, String)>,
    Form(form): Form<AllForm>,
) -> Response {
    let moderator = match require_session(&state, &headers, &form.csrf) {
        Ok(moderator) => moderator,
        Err(refusal) => return refusal.into_response(),
    };
    let action = match decision.as_str() {
        "approve" => Action::Approve,
        "schedule" => Action::Schedule,
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    let details = match drafts_of(&state, id) {
        Ok(details) => details,
        Err(response) => return *response,
    };
    let app = match super::queue::app(&state) {
        Ok(app) => app,
        Err(response) => return *response,
    };
    let now = Utc::now();
    let at = if action == Action::Schedule {
        match queue::parse_time(&form.at, now) {
            Ok(at) => Some(at),
            Err(error) => {
                return (StatusCode::UNPROCESSABLE_ENTITY, error.to_string()).into_response()
            }
        }
    } else {
        None
    };
    let mut skipped = Vec::new();
    for detail in &details {
        if !detail.allowed.contains(&action) {
            skipped.push(detail.summary.account.clone());
            continue;
        }
        let request = queue::Request {
            id: detail.summary.id,
            actor: &moderator,
            seen: Some(detail.summary.version),
            now,
        };
        let result = match at {
            Some(at) => queue::schedule(app.store.as_ref(), &request, at).map(|_| ()),
            None => queue::approve(app.store.as_ref(), &request, None).map(|_| ()),
        };
        if let Err(error) = result {
            tracing::warn!("draft {}: {error}", detail.summary.id);
            skipped.push(detail.summary.account.clone());
        }
    }
    app.publish_now.notify_one();
    let done = if at.is_some() {
        "scheduled"
    } else {
        "approved"
    };
    let skipped = skipped
        .iter()
        .map(|name| url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(",");
    Redirect::to(&format!("/posts/{id}?done={done}&skipped={skipped}")).into_response()
}
