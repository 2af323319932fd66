//! The PostgreSQL side of the notification outbox: the same rows as SQLite's; a claim
//! takes one due row that no other instance holds (`FOR UPDATE SKIP LOCKED`).

use super::{get, PostgresStore};
use crate::store::notify::{NewNotification, NotificationRecord, NotifyStore};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

const COLUMNS: &str = "id, key, target, event, payload, created_at, attempts, \
                       next_attempt_at, delivered_at, gave_up_at, last_error";

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time `{text}`: {e}")))
}

fn record(row: &Row) -> Result<NotificationRecord, StoreError> {
    let optional = |index| -> Result<Option<DateTime<Utc>>, StoreError> {
        get::<Option<String>>(row, index)?
            .as_deref()
            .map(time)
            .transpose()
    };
    Ok(NotificationRecord {
        id: get(row, 0)?,
        key: get(row, 1)?,
        target: get(row, 2)?,
        event: get(row, 3)?,
        payload: get(row, 4)?,
        created_at: time(&get::<String>(row, 5)?)?,
        attempts: u32::try_from(get::<i64>(row, 6)?).unwrap_or(u32::MAX),
        next_attempt_at: time(&get::<String>(row, 7)?)?,
        delivered_at: optional(8)?,
        gave_up_at: optional(9)?,
        last_error: get(row, 10)?,
    })
}

impl NotifyStore for PostgresStore {
    fn queue_notifications(&self, items: &[NewNotification<'_>]) -> Result<usize, StoreError> {
        let at = stamp(Utc::now());
        self.transaction(false, |conn| {
            let mut new = 0;
            for item in items {
                new += conn.run(
                    "INSERT INTO notifications \
                     (key, target, event, payload, created_at, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (key) DO NOTHING",
                    &[&item.key, &item.target, &item.event, &item.payload, &at],
                )?;
            }
            Ok(usize::try_from(new).unwrap_or(usize::MAX))
        })
    }

    fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.conn()?;
        let rows = conn.rows(
            &format!(
                "UPDATE notifications SET next_attempt_at = $2 WHERE id IN (\
                 SELECT id FROM notifications WHERE delivered_at IS NULL \
                 AND gave_up_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING {COLUMNS}"
            ),
            &[&stamp(now), &stamp(hold_until), &limit],
        )?;
        let mut records = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    fn notification_delivered(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "UPDATE notifications SET delivered_at = $2, attempts = attempts + 1, \
             last_error = NULL WHERE id = $1",
            &[&id, &stamp(at)],
        )?;
        Ok(())
    }

    fn notification_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let retry = retry_at.map(stamp);
        conn.run(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), \
             gave_up_at = CASE WHEN $3::TEXT IS NULL THEN $4 END WHERE id = $1",
            &[&id, &error, &retry, &stamp(now)],
        )?;
        Ok(())
    }

    fn notifications(&self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.conn()?;
        conn.rows(
            &format!("SELECT {COLUMNS} FROM notifications ORDER BY id DESC LIMIT $1"),
            &[&limit],
        )?
        .iter()
        .map(record)
        .collect()
    }
}
