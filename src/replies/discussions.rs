//! The recorded replies as discussions: one blog post's [`Discussion`] from the store,
//! the moderators' list of replies, and the static export.

use crate::discuss::{self, CollectedReply, Discussion, PostedPost, Subject};
use crate::store::{AnnouncementRecord, ReplyRecord, ReplyStore, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DiscussionError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("rendering the discussion of {url}: {reason}")]
    Render { url: String, reason: String },
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
}

/// A post's threads and replies as recorded: what a discussion is built from.
struct Recorded {
    latest: AnnouncementRecord,
    posts: Vec<PostedPost>,
    replies: Vec<(ReplyRecord, CollectedReply)>,
    /// papercast's answers: never shown, but replies to them hang from the thread
    /// through them.
    answers: Vec<CollectedReply>,
}

impl Recorded {
    /// The replies and the answers, as the discussion's chains see them.
    fn chains(&self) -> Vec<CollectedReply> {
        self.replies
            .iter()
            .map(|(_, c)| c.clone())
            .chain(self.answers.iter().cloned())
            .collect()
    }
}

fn recorded(store: &dyn ReplyStore, key: &str) -> Result<Option<Recorded>, StoreError> {
    let announcements = store.announcements_of(key)?;
    let Some(latest) = announcements.last().cloned() else {
        return Ok(None);
    };
    let mut posts = Vec::new();
    for announcement in &announcements {
        for thread in store.threads(announcement.id)? {
            posts.extend(super::posted_posts(&thread));
        }
    }
    if posts.is_empty() {
        return Ok(None);
    }
    let ids: Vec<i64> = announcements.iter().map(|a| a.id).collect();
    let replies = store
        .announcement_replies(&ids)?
        .into_iter()
        .map(|record| {
            let collected = collected(&record);
            (record, collected)
        })
        .collect();
    let answers = store
        .answers(&ids)?
        .into_iter()
        .map(|link| CollectedReply {
            account: link.account,
            remote_id: link.remote_id,
            in_reply_to: link.in_reply_to,
            author_name: String::new(),
            author_handle: String::new(),
            author_url: String::new(),
            avatar: None,
            url: String::new(),
            created_at: String::new(),
            edited_at: None,
            content_html: String::new(),
            spoiler_text: String::new(),
            hidden: false,
            deleted: true,
        })
        .collect();
    Ok(Some(Recorded {
        latest,
        posts,
        replies,
        answers,
    }))
}

fn collected(record: &ReplyRecord) -> CollectedReply {
    let status = &record.status;
    CollectedReply {
        account: record.account.clone(),
        remote_id: status.id.clone(),
        in_reply_to: status.in_reply_to.clone().unwrap_or_default(),
        author_name: status.author_name.clone(),
        author_handle: status.author_handle.clone(),
        author_url: status.author_url.clone(),
        avatar: status.author_avatar.clone(),
        url: status.url.clone(),
        created_at: status
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        edited_at: status
            .edited_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        content_html: status.content_html.clone(),
        spoiler_text: status.spoiler_text.clone(),
        hidden: record.is_hidden(),
        deleted: record.deleted_at.is_some(),
    }
}

/// The published discussion of the post whose URL or slug is `key`; `None` when no
/// thread of it was posted.
pub fn discussion(store: &dyn ReplyStore, key: &str) -> Result<Option<Discussion>, StoreError> {
    let Some(recorded) = recorded(store, key)? else {
        return Ok(None);
    };
    Ok(Some(discuss::build(
        &recorded.latest.announcement,
        &recorded.posts,
        &recorded.chains(),
    )))
}

/// A discussion as pretty JSON (what the CLI prints and the web server serves).
pub fn to_json(discussion: &Discussion) -> String {
    // A struct of strings, vectors and options always serialises.
    serde_json::to_string_pretty(discussion).unwrap_or_default() + "\n"
}

/// A discussion as the embeddable HTML fragment.
pub fn to_html(discussion: &Discussion) -> Result<String, DiscussionError> {
    discuss::render_html(discussion).map_err(|e| DiscussionError::Render {
        url: discussion.post_url.clone(),
        reason: format!("{e:#}"),
    })
}

/// Where a reply stands, for moderators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyState {
    /// In the published discussion.
    Published,
    /// Hidden, or its author is.
    Hidden,
    /// Answers a hidden reply, so not published.
    UnderHidden,
    /// Gone from its server.
    Deleted,
    /// Its chain does not reach a thread post (a parent is missing), or its link is
    /// not http(s).
    Unattached,
}

impl ReplyState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyState::Published => "published",
            ReplyState::Hidden => "hidden",
            ReplyState::UnderHidden => "under a hidden reply",
            ReplyState::Deleted => "deleted",
            ReplyState::Unattached => "unattached",
        }
    }
}

/// One reply in the moderators' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedReply {
    /// papercast's id, for `replies hide ID`.
    pub id: i64,
    pub account: String,
    pub state: ReplyState,
    /// `post`, or the anchor of the paper it is about.
    pub about: String,
    pub author: String,
    pub handle: String,
    pub url: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub text: String,
    pub hidden_by: Option<String>,
    pub hidden_reason: Option<String>,
    pub author_hidden: bool,
    pub bot: bool,
}

/// The replies of one blog post, for moderators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedPost {
    pub post_url: String,
    pub slug: String,
    pub title: String,
    pub replies: Vec<ListedReply>,
}

/// The replies of the post whose URL or slug is `key`, or of every announced post.
pub fn list(store: &dyn ReplyStore, key: Option<&str>) -> Result<Vec<ListedPost>, StoreError> {
    let keys: Vec<String> = match key {
        Some(key) => vec![key.to_owned()],
        None => store
            .announced_posts()?
            .into_iter()
            .map(|a| a.url)
            .collect(),
    };
    let mut posts = Vec::new();
    for key in keys {
        let Some(recorded) = recorded(store, &key)? else {
            continue;
        };
        let chains = recorded.chains();
        let attributed = discuss::attribute(&recorded.posts, &chains);
        let published = discuss::published(&recorded.posts, &chains);
        let anchors: HashMap<usize, &str> = recorded
            .latest
            .announcement
            .papers
            .iter()
            .map(|p| (p.position, p.anchor.as_str()))
            .collect();
        let replies = recorded
            .replies
            .iter()
            .map(|(record, collected)| {
                let key = (collected.account.clone(), collected.remote_id.clone());
                let state = if record.deleted_at.is_some() {
                    ReplyState::Deleted
                } else if record.is_hidden() {
                    ReplyState::Hidden
                } else if published.contains_key(&key) {
                    ReplyState::Published
                } else if attributed.contains_key(&key) {
                    ReplyState::UnderHidden
                } else {
                    ReplyState::Unattached
                };
                let about = match attributed.get(&key) {
                    Some(Subject::Paper(position)) => anchors
                        .get(position)
                        .map_or_else(|| format!("paper {}", position + 1), |a| (*a).to_owned()),
                    Some(Subject::Post) => "post".to_owned(),
                    None => "?".to_owned(),
                };
                let status = &record.status;
                ListedReply {
                    id: record.id,
                    account: record.account.clone(),
                    state,
                    about,
                    author: status.author_name.clone(),
                    handle: status.author_handle.clone(),
                    url: status.url.clone(),
                    created_at: collected.created_at.clone(),
                    edited_at: collected.edited_at.clone(),
                    text: discuss::plain_text(&status.content_html),
                    hidden_by: record.hidden.as_ref().map(|h| h.by.clone()),
                    hidden_reason: record.hidden.as_ref().and_then(|h| h.reason.clone()),
                    author_hidden: record.author_hidden,
                    bot: status.author_bot,
                }
            })
            .collect();
        posts.push(ListedPost {
            post_url: recorded.latest.url.clone(),
            slug: recorded.latest.slug.clone(),
            title: recorded.latest.title.clone(),
            replies,
        });
    }
    Ok(posts)
}

/// A slug as a file name and URL path segment: letters, digits, `-`, `_` and `.`.
pub fn file_slug(slug: &str) -> String {
    let safe: String = slug
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_matches('.').to_owned();
    if safe.is_empty() {
        "post".into()
    } else {
        safe
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Files written because they were new or changed.
    pub written: Vec<PathBuf>,
    /// Files already up to date (left untouched, so that their times do not change).
    pub unchanged: usize,
}

/// Writes `<slug>.json` and `<slug>.html` for every announced post into `dir`.
pub fn export(store: &dyn ReplyStore, dir: &Path) -> Result<ExportReport, DiscussionError> {
    let write_error = |path: &Path, e: std::io::Error| DiscussionError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let mut report = ExportReport::default();
    for post in store.announced_posts()? {
        let Some(discussion) = discussion(store, &post.url)? else {
            continue;
        };
        let slug = file_slug(&post.slug);
        for (extension, body) in [
            ("json", to_json(&discussion)),
            ("html", to_html(&discussion)?),
        ] {
            let path = dir.join(format!("{slug}.{extension}"));
            if std::fs::read(&path).is_ok_and(|old| old == body.as_bytes()) {
                report.unchanged += 1;
                continue;
            }
            // Written beside and renamed, so that a web server never serves half a file.
            let partial = dir.join(format!(".{slug}.{extension}.partial"));
            std::fs::write(&partial, &body).map_err(|e| write_error(&partial, e))?;
            std::fs::rename(&partial, &path).map_err(|e| write_error(&path, e))?;
            report.written.push(path);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_become_safe_file_names() {
        assert_eq!(file_slug("2025-10-07-potm"), "2025-10-07-potm");
        assert_eq!(file_slug("../etc/passwd"), "_etc_passwd");
        assert_eq!(file_slug("a b/c"), "a_b_c");
        assert_eq!(file_slug(".."), "post");
    }
}
