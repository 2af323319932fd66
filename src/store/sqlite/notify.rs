//! The SQLite side of the notification outbox.

use super::{now, parse_time, Cached, SqliteStore};
use crate::store::notify::{NewNotification, NotificationRecord, NotifyStore};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use rusqlite::{params, Row};

const COLUMNS: &str = "id, key, target, event, payload, created_at, attempts, \
                       next_attempt_at, delivered_at, gave_up_at, last_error";

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

type RawRecord = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn record(raw: RawRecord) -> Result<NotificationRecord, StoreError> {
    let (id, key, target, event, payload, created, attempts, next, delivered, gave_up, error) = raw;
    Ok(NotificationRecord {
        id,
        key,
        target,
        event,
        payload,
        created_at: parse_time(&created)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: parse_time(&next)?,
        delivered_at: delivered.as_deref().map(parse_time).transpose()?,
        gave_up_at: gave_up.as_deref().map(parse_time).transpose()?,
        last_error: error,
    })
}

impl NotifyStore for SqliteStore {
    fn queue_notifications(&self, items: &[NewNotification<'_>]) -> Result<usize, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let at = now();
        let mut new = 0;
        for item in items {
            new += tx.run(
                "INSERT OR IGNORE INTO notifications \
                 (key, target, event, payload, created_at, next_attempt_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![item.key, item.target, item.event, item.payload, at],
            )?;
        }
        tx.commit()?;
        Ok(new)
    }

    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = {
            let mut statement = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM notifications \
                 WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?1 \
                 ORDER BY next_attempt_at, id LIMIT ?2"
            ))?;
            let rows = statement
                .query_map(
                    params![stamp(now), i64::try_from(limit).unwrap_or(i64::MAX)],
                    raw,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        for row in &rows {
            tx.run(
                "UPDATE notifications SET next_attempt_at = ?2 WHERE id = ?1",
                params![row.0, stamp(hold_until)],
            )?;
        }
        tx.commit()?;
        rows.into_iter().map(record).collect()
    }

    fn notification_delivered(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let connection = self.lock()?;
        // Durable: a delivery forgotten in a power cut would be sent again.
        Self::durably(&connection, |c| {
            c.run(
                "UPDATE notifications SET delivered_at = ?2, attempts = attempts + 1, \
                 last_error = NULL WHERE id = ?1",
                params![id, stamp(at)],
            )?;
            Ok(())
        })
    }

    fn notification_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "UPDATE notifications SET attempts = attempts + 1, last_error = ?2, \
             next_attempt_at = COALESCE(?3, next_attempt_at), \
             gave_up_at = CASE WHEN ?3 IS NULL THEN ?4 END WHERE id = ?1",
            params![id, error, retry_at.map(stamp), stamp(now)],
        )?;
        Ok(())
    }

    fn notifications(&self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM notifications ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], raw)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(record).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(key: &'a str) -> NewNotification<'a> {
        NewNotification {
            key,
            target: "team",
            event: "draft_waiting",
            payload: "{}",
        }
    }

    #[test]
    fn an_event_is_queued_once_and_leaves_the_queue_when_delivered_or_given_up() {
        let store = SqliteStore::in_memory().unwrap();
        assert_eq!(
            store.queue_notifications(&[item("a"), item("b")]).unwrap(),
            2
        );
        assert_eq!(store.queue_notifications(&[item("a")]).unwrap(), 0);
        let later = Utc::now() + chrono::Duration::seconds(1);
        let hold = later + chrono::Duration::seconds(30);
        let due = store.claim_notifications(later, hold, 10).unwrap();
        assert_eq!(due.len(), 2);
        // Held: another sender takes nothing until the hold ends.
        assert!(store
            .claim_notifications(later, hold, 10)
            .unwrap()
            .is_empty());
        store.notification_delivered(due[0].id, later).unwrap();
        let retry = later + chrono::Duration::seconds(60);
        store
            .notification_failed(due[1].id, "500", Some(retry), later)
            .unwrap();
        assert!(store
            .claim_notifications(later, hold, 10)
            .unwrap()
            .is_empty());
        let again = store.claim_notifications(retry, retry, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error.as_deref(), Some("500"));
        store
            .notification_failed(again[0].id, "timeout", None, retry)
            .unwrap();
        let tomorrow = retry + chrono::Duration::days(1);
        assert!(store
            .claim_notifications(tomorrow, tomorrow, 10)
            .unwrap()
            .is_empty());
        let all = store.notifications(10).unwrap();
        assert!(all.iter().any(|n| n.gave_up_at.is_some()));
        assert!(all.iter().any(|n| n.delivered_at.is_some()));
    }
}
