//! A notification's content (pure): the event as a JSON document, as a Slack-style
//! `text`, as an email; its signature; when a failed delivery is tried again; which
//! waiting drafts are due a reminder.

use crate::config::NotifyEvent;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What happened, with everything a message about it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event: NotifyEvent,
    pub post: PostRef,
    pub account: String,
    pub draft: Option<DraftRef>,
    pub at: DateTime<Utc>,
    /// The thread on the network (posted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thread_link: Option<String>,
    /// What went wrong (failed, stopped).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub problem: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fix: Option<String>,
    /// How long the draft has waited (reminder), e.g. "1 day".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub waited: Option<String>,
    /// The posts as they will look (or looked), in thread order.
    #[serde(default)]
    pub posts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRef {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftRef {
    pub id: i64,
    /// The draft's page on the moderators' site.
    pub link: String,
}

impl Event {
    /// One line saying what happened.
    pub fn headline(&self) -> String {
        let draft = self
            .draft
            .as_ref()
            .map(|d| format!("draft {}", d.id))
            .unwrap_or_else(|| "a draft".into());
        let title = &self.post.title;
        let account = &self.account;
        match self.event {
            NotifyEvent::DraftWaiting => {
                format!("New {draft} waits for review: “{title}” for {account}")
            }
            NotifyEvent::Reminder => format!(
                "Still waiting for review{}: {draft}, “{title}” for {account}",
                self.waited
                    .as_deref()
                    .map(|w| format!(" after {w}"))
                    .unwrap_or_default()
            ),
            NotifyEvent::ThreadPosted => format!("Posted: “{title}” on {account}"),
            NotifyEvent::ThreadFailed => {
                format!("Posting failed: {draft}, “{title}” for {account}")
            }
            NotifyEvent::AccountStopped => {
                format!("Account {account} stopped: its token was refused ({draft}, “{title}”)")
            }
            NotifyEvent::Test => format!("Test notification from papercast ({account})"),
        }
    }

    /// The lines after the headline: the problem, the fix, the links.
    fn details(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(problem) = &self.problem {
            lines.push(format!("What happened: {problem}"));
        }
        if let Some(fix) = &self.fix {
            lines.push(format!("What to do: {fix}"));
        }
        if let Some(link) = &self.thread_link {
            lines.push(format!("Thread: {link}"));
        }
        if let Some(draft) = &self.draft {
            lines.push(format!("Draft: {}", draft.link));
        }
        if !self.post.url.is_empty() {
            lines.push(format!("Blog post: {}", self.post.url));
        }
        lines
    }

    /// The body of a `format = "slack"` webhook: `{"text": …}`, with `<url|label>` links
    /// and the characters Slack reads as markup escaped.
    pub fn slack_payload(&self) -> serde_json::Value {
        let mut text = slack_escape(&self.headline());
        if let Some(problem) = &self.problem {
            text.push_str(&format!("\n*What happened:* {}", slack_escape(problem)));
        }
        if let Some(fix) = &self.fix {
            text.push_str(&format!("\n*What to do:* {}", slack_escape(fix)));
        }
        let mut links = Vec::new();
        if let Some(link) = &self.thread_link {
            links.push(format!("<{link}|the thread>"));
        }
        if let Some(draft) = &self.draft {
            links.push(format!("<{}|open draft {}>", draft.link, draft.id));
        }
        if !self.post.url.is_empty() {
            links.push(format!("<{}|the blog post>", self.post.url));
        }
        if !links.is_empty() {
            text.push('\n');
            text.push_str(&links.join(" · "));
        }
        serde_json::json!({ "text": text })
    }

    /// The subject of an email.
    pub fn subject(&self) -> String {
        format!("[papercast] {}", self.headline())
    }

    /// The plain-text body of an email: what happened, what to do, the links, and the
    /// posts as readers will see them.
    pub fn email_body(&self) -> String {
        let mut body = self.headline();
        body.push_str("\n\n");
        for line in self.details() {
            body.push_str(&line);
            body.push('\n');
        }
        if !self.posts.is_empty() {
            let total = self.posts.len();
            body.push_str(&format!(
                "\nThe thread ({total} post{}):\n",
                if total == 1 { "" } else { "s" }
            ));
            for (i, post) in self.posts.iter().enumerate() {
                body.push_str(&format!("\n--- {}/{total} ---\n{post}\n", i + 1));
            }
        }
        body
    }
}

fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `X-Papercast-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the body, as
/// GitHub signs its webhooks, so that receivers can reuse their checks.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// After how many failed attempts a notification is given up.
pub const MAX_ATTEMPTS: u32 = 12;

/// When a notification that failed its `attempts`th time is tried again: 10 s,
/// doubling to at most an hour; `None` after [`MAX_ATTEMPTS`] (about 3.5 hours in
/// all: a receiver down for an afternoon still gets the event).
pub fn retry_delay(attempts: u32) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let doubled = 10u64.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    Some(Duration::from_secs(doubled.min(3_600)))
}

/// Which reminder a draft created at `created` is due at `now` with one every `every`:
/// `Some(n)` once it has waited n intervals (n ≥ 1). The key made from n makes each
/// reminder go out once per interval.
pub fn reminder_number(created: DateTime<Utc>, now: DateTime<Utc>, every: Duration) -> Option<u64> {
    let waited = (now - created).to_std().ok()?;
    let every = every.as_secs().max(1);
    let n = waited.as_secs() / every;
    (n >= 1).then_some(n)
}

/// "3 hours", "2 days": how long a draft has waited, roughly.
pub fn waited_for(waited: Duration) -> String {
    let hours = waited.as_secs() / 3_600;
    let (n, unit) = if hours >= 48 {
        (hours / 24, "day")
    } else if hours >= 1 {
        (hours, "hour")
    } else {
        (waited.as_secs() / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: NotifyEvent) -> Event {
        Event {
            event: kind,
            post: PostRef {
                title: "Papers of the Month <b>".into(),
                url: "https://graphcore-research.github.io/posts/2024-05-30-potm/".into(),
            },
            account: "gc-mastodon".into(),
            draft: Some(DraftRef {
                id: 7,
                link: "https://papercast.example/drafts/7".into(),
            }),
            at: Utc::now(),
            thread_link: None,
            problem: None,
            fix: None,
            waited: None,
            posts: vec!["Head post".into(), "Paper one".into()],
        }
    }

    #[test]
    fn the_signature_is_githubs_format_and_changes_with_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(signature(b"k", b"a"), signature(b"k", b"b"));
    }

    #[test]
    fn a_slack_text_escapes_markup_and_links_the_draft() {
        let text = event(NotifyEvent::DraftWaiting).slack_payload()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(text.contains("&lt;b&gt;"), "{text}");
        assert!(
            text.contains("<https://papercast.example/drafts/7|open draft 7>"),
            "{text}"
        );
    }

    #[test]
    fn an_email_shows_the_fix_and_every_post_in_order() {
        let mut stopped = event(NotifyEvent::AccountStopped);
        stopped.problem = Some("the server answered 401".into());
        stopped.fix = Some("run `papercast accounts login gc-mastodon`".into());
        let body = stopped.email_body();
        assert!(stopped
            .subject()
            .starts_with("[papercast] Account gc-mastodon stopped"));
        let fix = body
            .find("What to do: run `papercast accounts login")
            .unwrap();
        let first = body.find("--- 1/2 ---\nHead post").unwrap();
        let second = body.find("--- 2/2 ---\nPaper one").unwrap();
        assert!(fix < first && first < second, "{body}");
    }

    #[test]
    fn retries_back_off_to_an_hour_then_give_up() {
        assert_eq!(retry_delay(1), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(2), Some(Duration::from_secs(20)));
        assert_eq!(retry_delay(11), Some(Duration::from_secs(3_600)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn a_reminder_is_due_once_per_interval_waited() {
        let created = Utc::now() - chrono::Duration::hours(50);
        let day = Duration::from_secs(86_400);
        assert_eq!(
            reminder_number(created, created + chrono::Duration::hours(23), day),
            None
        );
        assert_eq!(
            reminder_number(created, created + chrono::Duration::hours(25), day),
            Some(1)
        );
        assert_eq!(
            reminder_number(created, created + chrono::Duration::hours(49), day),
            Some(2)
        );
        assert_eq!(waited_for(Duration::from_secs(50 * 3_600)), "2 days");
        assert_eq!(waited_for(Duration::from_secs(3_600)), "1 hour");
    }
}
