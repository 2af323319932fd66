//! What the store keeps of notifications: each event queued once per target, its
//! delivery attempts, and whether it was delivered.

use super::StoreError;
use chrono::{DateTime, Utc};

/// An event to queue for one target.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// Names the event and the target; a second queueing of the same key is ignored.
    pub key: &'a str,
    pub target: &'a str,
    pub event: &'a str,
    /// The event as JSON: what the message is made from.
    pub payload: &'a str,
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: i64,
    pub key: String,
    pub target: String,
    pub event: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub gave_up_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The notification outbox. Every method is one transaction.
pub trait NotifyStore: Send + Sync {
    /// Queues each notification whose key is new, due now; how many were new.
    fn queue_notifications(&self, items: &[NewNotification<'_>]) -> Result<usize, StoreError>;

    /// Takes the undelivered notifications due at `now`, oldest first, at most `limit`,
    /// and holds them until `hold_until`: no other sender (another instance) takes
    /// them meanwhile, and one that dies mid-delivery leaves them due again then.
    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Records a delivery.
    fn notification_delivered(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed attempt: tried again at `retry_at`, or given up when `None`.
    fn notification_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every notification, newest first, at most `limit`.
    fn notifications(&self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError>;
}
