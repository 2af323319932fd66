//! Telling moderators what needs them: events (a draft waits, a thread went out or
//! failed, an account stopped, a reminder) queued in the store once per target, and
//! delivered by `papercast run` with retries, apart from posting.
//!
//! Raising an event only writes to the store, so it never holds up posting; the
//! delivery loop sends what is due. A notification is recorded as delivered as soon as
//! the receiver accepts it, so a restart neither loses nor repeats one that was
//! answered; one cut off mid-delivery by a crash is sent again with the same
//! `X-Papercast-Delivery` id (the email's Message-ID), by which a receiver can drop it.

pub mod deliver;
pub mod message;

use crate::config::{NotifyConfig, NotifyEvent};
use crate::store::{DraftFilter, NewNotification, NotifyStore, ReviewState, ReviewStore};
use chrono::{DateTime, Utc};
pub use deliver::Deliverer;
pub use message::{DraftRef, Event, PostRef};
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Notify;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("notify target `{target}`: {reason}")]
    Delivery { target: String, reason: String },
    #[error("notifications: {0}")]
    Setup(String),
    #[error("notifications: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// How many due notifications one round sends at most (the rest wait for the next).
const ROUND: usize = 50;

/// The configured targets, the outbox and the sender.
pub struct Notifier {
    targets: Vec<NotifyConfig>,
    store: Arc<dyn NotifyStore>,
    deliverer: Deliverer,
    /// Wakes the delivery loop when something is queued.
    pub wake: Arc<Notify>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub failed: usize,
}

impl Notifier {
    pub fn new(
        targets: Vec<NotifyConfig>,
        store: Arc<dyn NotifyStore>,
        deliverer: Deliverer,
    ) -> Self {
        Notifier {
            targets,
            store,
            deliverer,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn targets(&self) -> &[NotifyConfig] {
        &self.targets
    }

    /// Queues `event` for every target that takes it, under `key` (the same key is
    /// queued once). A failure is logged and otherwise ignored: a notification is
    /// never a reason not to post.
    pub fn raise(&self, key: &str, event: &Event) {
        let payload = match serde_json::to_string(event) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!("notification {key}: {error}");
                return;
            }
        };
        let keys: Vec<(String, &str)> = self
            .targets
            .iter()
            .filter(|t| t.wants(event.event))
            .map(|t| (format!("{key}@{}", t.name), t.name.as_str()))
            .collect();
        if keys.is_empty() {
            return;
        }
        let items: Vec<NewNotification<'_>> = keys
            .iter()
            .map(|(key, target)| NewNotification {
                key,
                target,
                event: event.event.as_str(),
                payload: &payload,
            })
            .collect();
        match self.store.queue_notifications(&items) {
            Ok(0) => {}
            Ok(_) => self.wake.notify_one(),
            Err(error) => tracing::warn!("queueing notification {key}: {error}"),
        }
    }

    /// Sends every notification that is due, one after another; a failed one is tried
    /// again later (10 s, doubling to an hour) and given up after
    /// [`message::MAX_ATTEMPTS`].
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<Round, NotifyError> {
        let mut round = Round::default();
        for _ in 0..ROUND {
            // One at a time, held while it is sent: long enough for the delivery to time
            // out, after which one whose sender died is due again.
            let now = now.max(Utc::now());
            let hold = now
                + chrono::Duration::from_std(self.deliverer.longest_delivery()).unwrap_or_default();
            let Some(item) = self.store.claim_notifications(now, hold, 1)?.pop() else {
                break;
            };
            let Some(target) = self.targets.iter().find(|t| t.name == item.target) else {
                // A target removed from the config: nothing can be sent there.
                self.store.notification_failed(
                    item.id,
                    "the target is no longer configured",
                    None,
                    Utc::now(),
                )?;
                continue;
            };
            let event: Event = match serde_json::from_str(&item.payload) {
                Ok(event) => event,
                Err(error) => {
                    self.store.notification_failed(
                        item.id,
                        &format!("unreadable event: {error}"),
                        None,
                        Utc::now(),
                    )?;
                    continue;
                }
            };
            match self.deliverer.deliver(target, &event, &item.key).await {
                Ok(()) => {
                    self.store.notification_delivered(item.id, Utc::now())?;
                    tracing::info!("notification {}: delivered", item.key);
                    round.delivered += 1;
                }
                Err(error) => {
                    let attempts = item.attempts + 1;
                    let retry = message::retry_delay(attempts).map(|wait| {
                        Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                    });
                    match retry {
                        Some(at) => tracing::warn!(
                            "notification {}: {error}; tried again at {}",
                            item.key,
                            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ),
                        None => tracing::error!(
                            "notification {}: {error}; given up after {attempts} attempts",
                            item.key
                        ),
                    }
                    self.store.notification_failed(
                        item.id,
                        &error.to_string(),
                        retry,
                        Utc::now(),
                    )?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    /// Queues a reminder for each draft that has waited longer than a target's
    /// `remind_after`, once per interval.
    pub fn queue_reminders<S: ReviewStore + ?Sized>(
        &self,
        review: &S,
        draft_link: impl Fn(i64) -> String,
        now: DateTime<Utc>,
    ) -> Result<(), NotifyError> {
        let reminding: Vec<&NotifyConfig> = self
            .targets
            .iter()
            .filter(|t| t.remind_after.is_some() && t.wants(NotifyEvent::Reminder))
            .collect();
        if reminding.is_empty() {
            return Ok(());
        }
        for draft in review.drafts(DraftFilter::Open)? {
            if draft.review != ReviewState::Pending {
                continue;
            }
            for target in &reminding {
                let Some(every) = target.remind_after else {
                    continue;
                };
                let Some(n) = message::reminder_number(draft.created_at, now, every) else {
                    continue;
                };
                let waited = (now - draft.created_at).to_std().unwrap_or_default();
                let event = Event {
                    event: NotifyEvent::Reminder,
                    post: PostRef {
                        title: draft.post_title.clone(),
                        url: draft.post_url.clone(),
                    },
                    account: draft.thread.account.clone(),
                    draft: Some(DraftRef {
                        id: draft.id,
                        link: draft_link(draft.id),
                    }),
                    at: now,
                    thread_link: None,
                    problem: None,
                    fix: None,
                    waited: Some(message::waited_for(waited)),
                    posts: draft.thread.posts.iter().map(|p| p.text.clone()).collect(),
                };
                let payload =
                    serde_json::to_string(&event).map_err(|e| NotifyError::Setup(e.to_string()))?;
                let key = format!("reminder:{}:{n}@{}", draft.id, target.name);
                let new = self.store.queue_notifications(&[NewNotification {
                    key: &key,
                    target: &target.name,
                    event: NotifyEvent::Reminder.as_str(),
                    payload: &payload,
                }])?;
                if new > 0 {
                    self.wake.notify_one();
                }
            }
        }
        Ok(())
    }

    /// Sends a test event to every target now (not through the outbox).
    pub async fn send_test(&self, account: &str) -> Vec<(String, Result<(), NotifyError>)> {
        let event = Event {
            event: NotifyEvent::Test,
            post: PostRef {
                title: "papercast test".into(),
                url: String::new(),
            },
            account: account.to_owned(),
            draft: None,
            at: Utc::now(),
            thread_link: None,
            problem: None,
            fix: None,
            waited: None,
            posts: vec!["This is a test of papercast's notifications; nothing was posted.".into()],
        };
        let delivery = format!("test-{}", Utc::now().timestamp_millis());
        let mut results = Vec::new();
        for target in &self.targets {
            let result = self.deliverer.deliver(target, &event, &delivery).await;
            results.push((target.name.clone(), result));
        }
        results
    }
}
