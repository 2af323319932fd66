//! The review queue: the drafts waiting for, or decided by, a moderator, and what a
//! moderator can do to them — approve (now or at a time), reject, edit, re-extract.
//!
//! This is the library API the CLI (`papercast queue`) and the web page call. Each
//! operation loads the draft, asks [`state::check`] whether the action is allowed
//! (pure), then writes the change and its audit line in one transaction that fails if
//! someone else changed the draft meanwhile. Posting is not done here: an approved or
//! due draft is posted by the publisher ([`crate::app`]).

pub mod edit;
pub mod state;

use crate::compose::{self, ComposeOptions, Templates, Thread};
use crate::model::{Announcement, Figure};
use crate::platform::{LengthRules, PlatformKind};
use crate::store::{
    AuditEntry, AuditNote, DraftFilter, DraftRecord, PlannedPost, PostState, ReviewChange,
    ReviewState, Store, StoreError, ThreadState,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
pub use state::{parse_time, Action, DraftState, Situation};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum QueueError {
    #[error("there is no draft {0}; `papercast queue list` shows the drafts")]
    NotFound(i64),
    #[error("draft {id} is {state}: cannot {action} it: {why}")]
    NotAllowed {
        id: i64,
        state: DraftState,
        action: Action,
        why: String,
    },
    #[error(
        "draft {id}: post {post} is {length} {unit} long, over the limit of {limit} for \
         account `{account}` ({length}/{limit}); shorten it by {over} and try again"
    )]
    TooLong {
        id: i64,
        account: String,
        /// From 1.
        post: usize,
        length: usize,
        limit: usize,
        over: usize,
        unit: &'static str,
    },
    #[error("draft {id}: {reason}")]
    BadEdit { id: i64, reason: String },
    #[error("{0}")]
    BadTime(String),
    #[error("draft {id}: composing the thread again: {reason}")]
    Compose { id: i64, reason: String },
    #[error(
        "draft {id} changed since you looked at it (someone edited or decided it); look \
         at it again and retry"
    )]
    Stale { id: i64, seen: i64, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who acts on which draft, when, and what they saw of it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub id: i64,
    /// Who acts, for the audit log (a moderator's name, a user).
    pub actor: &'a str,
    /// The draft's `version` as the actor saw it (e.g. on a web page): a draft changed
    /// since refuses the action. `None` acts on the draft as it is now.
    pub seen: Option<i64>,
    pub now: DateTime<Utc>,
}

impl<'a> Request<'a> {
    /// `actor` acting on draft `id` now, on the draft as it is.
    pub fn new(id: i64, actor: &'a str) -> Self {
        Request {
            id,
            actor,
            seen: None,
            now: Utc::now(),
        }
    }

    /// The same, refused if the draft is no longer at `version`.
    pub fn seen(self, version: i64) -> Self {
        Request {
            seen: Some(version),
            ..self
        }
    }
}

/// A draft in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftSummary {
    pub id: i64,
    /// The announcement (blog post) it is a draft of: the drafts of every account for
    /// one post share it.
    pub announcement_id: i64,
    pub post_url: String,
    pub post_title: String,
    pub account: String,
    pub platform: PlatformKind,
    pub state: DraftState,
    /// When a scheduled draft is posted.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Posts in the thread, and how many are on the server (or may be).
    pub post_count: usize,
    pub sent: usize,
    /// `watch:<source>`, `announce` or `migrated`.
    pub origin: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Why posting stopped, for a failed draft.
    pub last_error: Option<String>,
    /// When the daemon tries a failed draft again (none: it waits for an approval).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The head post's URL once it is on the server.
    pub link: Option<String>,
    pub edits: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes with every change of the draft (for a page that posts it back).
    pub version: i64,
}

/// One post of a draft as it will look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftPost {
    /// From 0.
    pub index: usize,
    /// What the post is about (`{"kind": "head"}`, `{"kind": "paper", "position": 0}`,
    /// `{"kind": "closing"}`).
    pub role: serde_json::Value,
    pub text: String,
    /// Its length as the platform counts it, against `limit`.
    pub length: usize,
    pub limit: usize,
    pub fits: bool,
    pub images: Vec<Figure>,
    /// The links in the text with their full targets (Bluesky shows them short).
    pub links: Vec<crate::model::Link>,
    /// `pending`, `sending` (sent, answer unknown) or `sent`.
    pub state: &'static str,
    /// Its URL on the server, once sent.
    pub url: Option<String>,
}

/// A draft with its posts, what may be done to it, and its audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftDetail {
    #[serde(flatten)]
    pub summary: DraftSummary,
    /// The rules its posts are counted by.
    pub rules: LengthRules,
    pub posts: Vec<DraftPost>,
    /// What a moderator may do now.
    pub allowed: Vec<Action>,
    pub audit: Vec<AuditEntry>,
}

/// The rules a draft's lengths are counted by.
fn rules_of(draft: &DraftRecord) -> LengthRules {
    draft
        .rules
        .unwrap_or_else(|| LengthRules::default_for(draft.thread.platform))
}

fn started(draft: &DraftRecord) -> usize {
    draft
        .thread
        .posts
        .iter()
        .filter(|p| p.state != PostState::Pending)
        .count()
}

fn summary(draft: &DraftRecord) -> DraftSummary {
    DraftSummary {
        id: draft.id,
        announcement_id: draft.thread.announcement_id,
        post_url: draft.post_url.clone(),
        post_title: draft.post_title.clone(),
        account: draft.thread.account.clone(),
        platform: draft.thread.platform,
        state: DraftState::of(draft.review, draft.thread.state),
        scheduled_at: draft.scheduled_at,
        post_count: draft.thread.posts.len(),
        sent: started(draft),
        origin: draft.origin.clone(),
        decided_by: draft.decided_by.clone(),
        decided_at: draft.decided_at,
        reason: draft.reason.clone(),
        last_error: draft.thread.last_error.clone(),
        next_attempt_at: draft.next_attempt_at,
        link: draft
            .thread
            .head()
            .map(|head| head.url.clone().unwrap_or_else(|| head.id.clone())),
        edits: draft.edits,
        created_at: draft.created_at,
        updated_at: draft.updated_at,
        version: draft.version,
    }
}

/// Whether another process holds the right to post the draft at `now`.
fn in_flight(draft: &DraftRecord, now: DateTime<Utc>) -> bool {
    draft.lease_owner.is_some() && draft.lease_until.is_some_and(|until| until > now)
}

fn situation(draft: &DraftRecord, now: DateTime<Utc>) -> Situation {
    Situation {
        state: DraftState::of(draft.review, draft.thread.state),
        started: started(draft),
        posts: draft.thread.posts.len(),
        in_flight: in_flight(draft, now),
    }
}

fn load(store: &dyn Store, id: i64) -> Result<DraftRecord, QueueError> {
    store.draft(id)?.ok_or(QueueError::NotFound(id))
}

/// The draft of a request, refused if it changed since the actor saw it.
fn load_seen(store: &dyn Store, request: &Request<'_>) -> Result<DraftRecord, QueueError> {
    let draft = load(store, request.id)?;
    match request.seen {
        Some(seen) if seen != draft.version => Err(QueueError::Stale {
            id: request.id,
            seen,
            current: draft.version,
        }),
        _ => Ok(draft),
    }
}

fn allow(draft: &DraftRecord, action: Action, now: DateTime<Utc>) -> Result<(), QueueError> {
    let situation = situation(draft, now);
    state::check(action, &situation).map_err(|why| QueueError::NotAllowed {
        id: draft.id,
        state: situation.state,
        action,
        why,
    })
}

fn detail(store: &dyn Store, draft: &DraftRecord) -> Result<DraftDetail, QueueError> {
    let rules = rules_of(draft);
    let posts = draft
        .thread
        .posts
        .iter()
        .map(|post| {
            let length = rules.count(&post.text);
            DraftPost {
                index: post.index,
                role: serde_json::from_str(&post.role).unwrap_or(serde_json::Value::Null),
                length,
                limit: rules.max,
                fits: rules.fits(&post.text),
                text: post.text.clone(),
                images: post.images.clone(),
                links: post.links.clone(),
                state: post.state.as_str(),
                url: post
                    .remote
                    .as_ref()
                    .map(|r| r.url.clone().unwrap_or_else(|| r.id.clone())),
            }
        })
        .collect();
    Ok(DraftDetail {
        summary: summary(draft),
        rules,
        posts,
        allowed: state::allowed(&situation(draft, Utc::now())),
        audit: store.audit_log(Some(draft.id))?,
    })
}

/// Every draft, newest first.
pub fn list(store: &dyn Store) -> Result<Vec<DraftSummary>, QueueError> {
    Ok(store
        .drafts(DraftFilter::All)?
        .iter()
        .map(summary)
        .collect())
}

/// One draft with its posts and history.
pub fn show(store: &dyn Store, id: i64) -> Result<DraftDetail, QueueError> {
    let draft = load(store, id)?;
    detail(store, &draft)
}

/// Approves a draft: to be posted now, or (with `at`) at that time. Approving a failed
/// draft is a retry. The publisher does the posting.
pub fn approve(
    store: &dyn Store,
    request: &Request<'_>,
    at: Option<DateTime<Utc>>,
) -> Result<DraftSummary, QueueError> {
    let Request { id, actor, now, .. } = *request;
    let draft = load_seen(store, request)?;
    let action = if at.is_some() {
        Action::Schedule
    } else {
        Action::Approve
    };
    allow(&draft, action, now)?;
    if let Some(at) = at.filter(|at| *at <= now) {
        return Err(QueueError::BadTime(format!(
            "{} is past; approve without a time to post now",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    let (review, details) = match at {
        Some(at) => (
            ReviewState::Scheduled,
            format!(
                "scheduled for {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ),
        None => (ReviewState::Approved, "to be posted now".to_owned()),
    };
    let retry = draft.thread.state == ThreadState::Failed;
    let details = if retry {
        format!(
            "{details} (a retry after: {})",
            draft.thread.last_error.as_deref().unwrap_or("a failure")
        )
    } else {
        details
    };
    let updated = store.update_review(
        id,
        draft.version,
        &ReviewChange {
            review,
            scheduled_at: at,
            reason: None,
            decided_by: actor,
            retry,
        },
        &AuditNote {
            actor,
            action: if at.is_some() {
                "scheduled"
            } else {
                "approved"
            },
            thread_id: Some(id),
            details: &details,
        },
    )?;
    Ok(summary(&updated))
}

/// Schedules a draft to be posted at `at` (the same as approving it with a time).
pub fn schedule(
    store: &dyn Store,
    request: &Request<'_>,
    at: DateTime<Utc>,
) -> Result<DraftSummary, QueueError> {
    approve(store, request, Some(at))
}

/// Rejects a draft: it is not posted.
pub fn reject(
    store: &dyn Store,
    request: &Request<'_>,
    reason: Option<&str>,
) -> Result<DraftSummary, QueueError> {
    let Request { id, actor, now, .. } = *request;
    let draft = load_seen(store, request)?;
    allow(&draft, Action::Reject, now)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let updated = store.update_review(
        id,
        draft.version,
        &ReviewChange {
            review: ReviewState::Rejected,
            scheduled_at: None,
            reason,
            decided_by: actor,
            retry: false,
        },
        &AuditNote {
            actor,
            action: "rejected",
            thread_id: Some(id),
            details: reason.unwrap_or(""),
        },
    )?;
    Ok(summary(&updated))
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq)]
pub enum Edited {
    /// The texts were the same as before; nothing was written.
    Unchanged,
    /// These posts (from 0) changed.
    Changed {
        posts: Vec<usize>,
        detail: Box<DraftDetail>,
    },
}

/// Replaces the text of some posts (`(index from 0, text)`). Every new text is checked
/// against the rules the draft was composed for; one over the limit refuses the whole
/// edit, with its count.
pub fn edit(
    store: &dyn Store,
    request: &Request<'_>,
    texts: &[(usize, String)],
) -> Result<Edited, QueueError> {
    let Request { id, actor, now, .. } = *request;
    let draft = load_seen(store, request)?;
    allow(&draft, Action::Edit, now)?;
    let posts = &draft.thread.posts;
    let mut changes = Vec::new();
    for (index, text) in texts {
        let Some(post) = posts.get(*index) else {
            return Err(QueueError::BadEdit {
                id,
                // Counted from 1 without overflow: a forged index of usize::MAX is
                // named as given, not as "post 0".
                reason: format!(
                    "there is no post {}; the thread has {} posts",
                    *index as u128 + 1,
                    posts.len()
                ),
            });
        };
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(QueueError::BadEdit {
                id,
                reason: format!(
                    "post {} contains the control character U+{:04X}; remove it (only line \
                     breaks and tabs are kept)",
                    index + 1,
                    u32::from(bad)
                ),
            });
        }
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Err(QueueError::BadEdit {
                id,
                reason: format!(
                    "post {} would be empty; every post needs some text",
                    index + 1
                ),
            });
        }
        if text != post.text.trim_end() {
            changes.push((*index, text.to_owned()));
        }
    }
    if changes.is_empty() {
        return Ok(Edited::Unchanged);
    }
    let rules = rules_of(&draft);
    if let Err(over) = state::check_lengths(&rules, changes.iter().map(|(i, t)| (*i, t.as_str()))) {
        return Err(QueueError::TooLong {
            id,
            account: draft.thread.account.clone(),
            post: over.index + 1,
            length: over.length,
            limit: over.limit,
            over: over.length - over.limit,
            unit: over.unit,
        });
    }
    let changed: Vec<usize> = changes.iter().map(|(i, _)| *i).collect();
    let details = format!(
        "post {}",
        changed
            .iter()
            .map(|i| (i + 1).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let updated = store.edit_texts(
        id,
        draft.version,
        &changes,
        &AuditNote {
            actor,
            action: "edited",
            thread_id: Some(id),
            details: &details,
        },
    )?;
    Ok(Edited::Changed {
        posts: changed,
        detail: Box::new(detail(store, &updated)?),
    })
}

/// The draft as a text file to edit (see [`edit::document`]).
pub fn edit_document(detail: &DraftDetail) -> String {
    let s = &detail.summary;
    let header = vec![
        format!(
            "papercast draft {}: account `{}` ({}), up to {} characters per post",
            s.id, s.account, s.platform, detail.rules.max
        ),
        format!("{} <{}>", s.post_title, s.post_url),
    ];
    let texts: Vec<&str> = detail.posts.iter().map(|p| p.text.as_str()).collect();
    edit::document(&header, &texts)
}

/// Applies an edited text file (from [`edit_document`]) to the draft.
pub fn edit_from_document(
    store: &dyn Store,
    request: &Request<'_>,
    document: &str,
) -> Result<Edited, QueueError> {
    let id = request.id;
    let draft = load_seen(store, request)?;
    let texts = edit::parse(document, draft.thread.posts.len())
        .map_err(|reason| QueueError::BadEdit { id, reason })?;
    let texts: Vec<(usize, String)> = texts.into_iter().enumerate().collect();
    edit(store, request, &texts)
}

/// What a re-extraction found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reextracted {
    /// The post says what it said: the draft is left as it is (edits included).
    Unchanged,
    /// The post changed: the thread was composed again (earlier edits are gone).
    Changed(Box<DraftDetail>),
}

/// Composes a draft again from `fresh`, the post as extracted now, when it differs
/// from what the draft was made from. The announcement is updated for every account.
pub fn reextract(
    store: &dyn Store,
    request: &Request<'_>,
    fresh: &Announcement,
    templates: &Templates,
    options: &ComposeOptions,
) -> Result<Reextracted, QueueError> {
    let Request { id, actor, now, .. } = *request;
    let draft = load_seen(store, request)?;
    allow(&draft, Action::Reextract, now)?;
    let recorded = store.announcement_by_id(draft.thread.announcement_id)?;
    if recorded.as_ref().is_some_and(|a| a.announcement == *fresh) {
        store.audit(&AuditNote {
            actor,
            action: "re-extracted",
            thread_id: Some(id),
            details: "the post is unchanged; the draft was left as it is",
        })?;
        return Ok(Reextracted::Unchanged);
    }
    let rules = rules_of(&draft);
    let thread =
        compose::compose(fresh, templates, &rules, options).map_err(|e| QueueError::Compose {
            id,
            reason: e.to_string(),
        })?;
    let posts = planned_posts(&thread);
    if posts.is_empty() {
        return Err(QueueError::Compose {
            id,
            reason: "the composed thread has no posts".into(),
        });
    }
    let plan_json = serde_json::to_string(&posts).unwrap_or_default();
    store.update_announcement(draft.thread.announcement_id, fresh)?;
    let updated = store.replace_posts(
        id,
        draft.version,
        &posts,
        &plan_json,
        &rules,
        &AuditNote {
            actor,
            action: "re-extracted",
            thread_id: Some(id),
            details: &format!(
                "the post changed; composed again: {} posts (was {})",
                posts.len(),
                draft.thread.posts.len()
            ),
        },
    )?;
    Ok(Reextracted::Changed(Box::new(detail(store, &updated)?)))
}

/// A composed thread as posts to record.
pub fn planned_posts(thread: &Thread) -> Vec<PlannedPost> {
    thread
        .posts
        .iter()
        .map(|post| PlannedPost {
            role: serde_json::to_string(&post.role).unwrap_or_default(),
            text: post.text.clone(),
            links: post.links.clone(),
            images: post.images.clone(),
        })
        .collect()
}

/// Whether the publisher should post this draft at `now`: approved, or scheduled and
/// due, or failed with a retry due; never posted, rejected or pending.
pub fn is_due(draft: &DraftRecord, now: DateTime<Utc>) -> bool {
    let decided = match draft.review {
        ReviewState::Approved => true,
        ReviewState::Scheduled => draft.scheduled_at.is_some_and(|at| at <= now),
        ReviewState::Pending | ReviewState::Rejected => false,
    };
    decided
        && match draft.thread.state {
            ThreadState::Planned | ThreadState::Posting => true,
            ThreadState::Failed => draft.next_attempt_at.is_some_and(|at| at <= now),
            ThreadState::Posted => false,
        }
}

/// When the next draft falls due after `now` (a scheduled time or a retry), if any.
pub fn next_due(drafts: &[DraftRecord], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    drafts
        .iter()
        .filter(|d| matches!(d.review, ReviewState::Approved | ReviewState::Scheduled))
        .filter_map(|d| match d.thread.state {
            ThreadState::Posted => None,
            ThreadState::Failed => d.next_attempt_at,
            ThreadState::Planned | ThreadState::Posting => match d.review {
                ReviewState::Scheduled => d.scheduled_at,
                _ => None,
            },
        })
        .filter(|at| *at > now)
        .min()
}

/// The drafts to post at `now`, oldest first.
pub fn due(store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<DraftRecord>, QueueError> {
    let mut drafts: Vec<DraftRecord> = store
        .drafts(DraftFilter::Open)?
        .into_iter()
        .filter(|d| is_due(d, now))
        .collect();
    drafts.reverse();
    Ok(drafts)
}

#[cfg(test)]
mod tests;
