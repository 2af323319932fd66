//! The events the pipeline raises for moderators: what each says, and the key that
//! makes it go out once.

use super::App;
use crate::config::NotifyEvent;
use crate::notify::{DraftRef, Event, PostRef};
use crate::platform::PlatformError;
use crate::publish::PublishError;
use crate::store::DraftRecord;
use chrono::{DateTime, Utc};

impl App {
    fn event(&self, kind: NotifyEvent, draft: &DraftRecord, posts: Vec<String>) -> Event {
        Event {
            event: kind,
            post: PostRef {
                title: draft.post_title.clone(),
                url: draft.post_url.clone(),
            },
            account: draft.thread.account.clone(),
            draft: Some(DraftRef {
                id: draft.id,
                link: self.config.web.draft_link(draft.id),
            }),
            at: Utc::now(),
            thread_link: None,
            problem: None,
            fix: None,
            waited: None,
            posts,
        }
    }

    /// A new draft waits for a moderator.
    pub(super) fn notify_waiting(&self, draft: &DraftRecord, posts: Vec<String>) {
        let event = self.event(NotifyEvent::DraftWaiting, draft, posts);
        self.notifier
            .raise(&format!("draft_waiting:{}", draft.id), &event);
    }

    /// A thread is complete on its network.
    pub(super) fn notify_posted(&self, draft: &DraftRecord, link: Option<&str>) {
        let mut event = self.event(NotifyEvent::ThreadPosted, draft, Vec::new());
        event.thread_link = link.map(str::to_owned);
        self.notifier
            .raise(&format!("thread_posted:{}", draft.id), &event);
    }

    /// A post failed: an account whose token the network refused is reported at once
    /// (nothing of it posts until someone fixes it), any other failure once the
    /// retries are used up (`retry_at` is `None`).
    pub(super) fn notify_failed(
        &self,
        draft: &DraftRecord,
        error: &PublishError,
        retry_at: Option<DateTime<Utc>>,
    ) {
        let id = draft.id;
        let account = &draft.thread.account;
        let stopped = matches!(
            error,
            PublishError::Platform(
                PlatformError::Unauthorized { .. } | PlatformError::Token { .. }
            )
        );
        let then = match retry_at {
            Some(at) => format!(
                "papercast tries the draft again at {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => format!(
                "then approve draft {id} again on its page (or `papercast queue approve {id}`) \
                 to post the rest"
            ),
        };
        let posts = draft.thread.posts.iter().map(|p| p.text.clone()).collect();
        // One notice per approval: approving the draft again after a fix starts afresh.
        let approval = draft
            .decided_at
            .map(|at| at.timestamp_millis())
            .unwrap_or_default();
        let (kind, key, fix) = if stopped {
            (
                NotifyEvent::AccountStopped,
                format!("account_stopped:{id}:{approval}"),
                format!(
                    "fix the token of account {account} (`papercast accounts check {account}` \
                     shows what the server says; `papercast accounts login {account}` gets a \
                     new one); {then}"
                ),
            )
        } else if retry_at.is_none() {
            (
                NotifyEvent::ThreadFailed,
                format!("thread_failed:{id}:{approval}"),
                format!("check the server and papercast's log; {then}"),
            )
        } else {
            return;
        };
        let mut event = self.event(kind, draft, posts);
        event.problem = Some(error.to_string());
        event.fix = Some(fix);
        self.notifier.raise(&key, &event);
    }
}
