//! The SQLite side of [`ReviewStore`]: feeds, seen entries, drafts and the audit log.

use super::{now, parse_time, Cached, SqliteStore};
use crate::model::Announcement;
use crate::model::LengthRules;
use crate::model::{FeedEntry, Validators};
use crate::store::decide;
use crate::store::review::*;
use crate::store::{AnnouncementRecord, PlannedPost, StoreError, ThreadState};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

const DRAFT_COLUMNS: &str = "d.thread_id, a.url, a.title, d.review, d.scheduled_at, d.reason, \
     d.decided_by, d.decided_at, d.origin, d.rules_json, d.edits, d.post_attempts, \
     d.next_attempt_at, d.lease_owner, d.lease_until, d.version, d.created_at, d.updated_at";

fn time(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.as_deref().map(parse_time).transpose()
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl SqliteStore {
    fn load_feed_state(
        connection: &Connection,
        source: &str,
    ) -> Result<Option<FeedState>, StoreError> {
        let row = connection
            .row(
                "SELECT source, feed_url, etag, last_modified, initialized_at, last_poll_at, \
                 last_success_at, consecutive_failures, last_error, next_poll_at \
                 FROM feed_state WHERE source = ?1",
                [source],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<String>>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, Option<String>>(8)?,
                        row.get::<_, Option<String>>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            source,
            feed_url,
            etag,
            last_modified,
            init,
            poll,
            success,
            failures,
            error,
            next,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(FeedState {
            source,
            feed_url,
            validators: Validators {
                etag,
                last_modified,
            },
            initialized_at: time(init)?,
            last_poll_at: time(poll)?,
            last_success_at: time(success)?,
            consecutive_failures: count(failures),
            last_error: error,
            next_poll_at: time(next)?,
        }))
    }

    fn load_entries(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<SeenEntry>, StoreError> {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT source, entry_id, url, title, outcome, attempts, last_error, \
             announcement_id FROM feed_entries WHERE {where_clause} ORDER BY id"
        ))?;
        let rows = statement
            .query_map(args, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, Option<i64>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(source, entry_id, url, title, outcome, attempts, last_error, announcement_id)| {
                    Ok(SeenEntry {
                        source,
                        entry_id,
                        url,
                        title,
                        outcome: EntryOutcome::parse(&outcome)?,
                        attempts: count(attempts),
                        last_error,
                        announcement_id,
                    })
                },
            )
            .collect()
    }

    fn load_drafts(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<DraftRecord>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            i64,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            String,
            String,
        );
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts d JOIN threads t ON t.id = d.thread_id \
             JOIN announcements a ON a.id = t.announcement_id WHERE {where_clause} \
             ORDER BY d.thread_id DESC"
        ))?;
        let rows: Vec<Row> = statement
            .query_map(args, |row| {
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
                    row.get(11)?,
                    row.get(12)?,
                    row.get(13)?,
                    row.get(14)?,
                    row.get(15)?,
                    row.get(16)?,
                    row.get(17)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut drafts = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, post_url, post_title, review, scheduled_at, reason, decided_by, decided_at) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
            let thread = Self::load_thread(connection, "id = ?1", [id])?
                .pop()
                .ok_or_else(|| StoreError::Missing(format!("thread {id}")))?;
            let rules = row
                .9
                .as_deref()
                .map(serde_json::from_str::<LengthRules>)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("rules of draft {id}: {e}")))?;
            drafts.push(DraftRecord {
                id,
                thread,
                post_url,
                post_title,
                review: ReviewState::parse(&review)?,
                scheduled_at: time(scheduled_at)?,
                reason,
                decided_by,
                decided_at: time(decided_at)?,
                origin: row.8,
                rules,
                edits: count(row.10),
                post_attempts: count(row.11),
                next_attempt_at: time(row.12)?,
                lease_owner: row.13,
                lease_until: time(row.14)?,
                version: row.15,
                created_at: parse_time(&row.16)?,
                updated_at: parse_time(&row.17)?,
            });
        }
        Ok(drafts)
    }

    fn load_draft(connection: &Connection, id: i64) -> Result<DraftRecord, StoreError> {
        Self::load_drafts(connection, "d.thread_id = ?1", [id])?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("draft {id}")))
    }

    fn insert_audit(connection: &Connection, note: &AuditNote<'_>) -> Result<(), StoreError> {
        connection.run(
            "INSERT INTO audit_log (at, actor, action, thread_id, details) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), note.actor, note.action, note.thread_id, note.details],
        )?;
        Ok(())
    }

    /// Bumps a draft's version if it is still `version`; a conflict otherwise.
    fn bump(connection: &Connection, id: i64, version: i64) -> Result<(), StoreError> {
        let changed = connection.run(
            "UPDATE drafts SET version = version + 1, updated_at = ?3 \
             WHERE thread_id = ?1 AND version = ?2",
            params![id, version, now()],
        )?;
        if changed == 1 {
            return Ok(());
        }
        let exists: Option<i64> = connection
            .row(
                "SELECT version FROM drafts WHERE thread_id = ?1",
                [id],
                |row| row.get(0),
            )
            .optional()?;
        match exists {
            None => Err(StoreError::Missing(format!("draft {id}"))),
            Some(_) => Err(StoreError::Conflict(format!(
                "draft {id} was changed by someone else meanwhile; look at it again and retry"
            ))),
        }
    }

    /// Refuses a change of posts once any post of the thread is sent or being sent.
    fn require_unsent(connection: &Connection, id: i64) -> Result<(), StoreError> {
        let started: i64 = connection.row(
            "SELECT COUNT(*) FROM posts WHERE thread_id = ?1 AND state != 'pending'",
            [id],
            |row| row.get(0),
        )?;
        if started > 0 {
            return Err(StoreError::Conflict(format!(
                "draft {id}: posting has started ({started} post(s) sent or being sent); \
                 its posts can no longer change"
            )));
        }
        Ok(())
    }
}

impl ReviewStore for SqliteStore {
    fn feed_state(&self, source: &str) -> Result<Option<FeedState>, StoreError> {
        let connection = self.lock()?;
        Self::load_feed_state(&connection, source)
    }

    fn record_poll(
        &self,
        source: &str,
        feed_url: &str,
        result: PollRecord<'_>,
        next_poll_at: DateTime<Utc>,
    ) -> Result<FeedState, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let time = now();
        tx.run(
            "INSERT INTO feed_state (source, feed_url) VALUES (?1, ?2) \
             ON CONFLICT (source) DO UPDATE SET feed_url = excluded.feed_url",
            params![source, feed_url],
        )?;
        let next = stamp(next_poll_at);
        match result {
            PollRecord::NotModified => {
                tx.run(
                    "UPDATE feed_state SET last_poll_at = ?2, last_success_at = ?2, \
                     consecutive_failures = 0, last_error = NULL, next_poll_at = ?3 \
                     WHERE source = ?1",
                    params![source, time, next],
                )?;
            }
            PollRecord::Fetched { validators } => {
                tx.run(
                    "UPDATE feed_state SET etag = ?2, last_modified = ?3, \
                     initialized_at = COALESCE(initialized_at, ?4), last_poll_at = ?4, \
                     last_success_at = ?4, consecutive_failures = 0, last_error = NULL, \
                     next_poll_at = ?5 WHERE source = ?1",
                    params![
                        source,
                        validators.etag,
                        validators.last_modified,
                        time,
                        next
                    ],
                )?;
            }
            PollRecord::Failed { error } => {
                tx.run(
                    "UPDATE feed_state SET last_poll_at = ?2, \
                     consecutive_failures = consecutive_failures + 1, last_error = ?3, \
                     next_poll_at = ?4 WHERE source = ?1",
                    params![source, time, error, next],
                )?;
            }
        }
        let state = Self::load_feed_state(&tx, source)?
            .ok_or_else(|| StoreError::Missing(format!("feed state of {source}")))?;
        tx.commit()?;
        Ok(state)
    }

    fn seen_entries(&self, source: &str) -> Result<Vec<SeenEntry>, StoreError> {
        let connection = self.lock()?;
        Self::load_entries(&connection, "source = ?1", [source])
    }

    fn record_entries(&self, source: &str, entries: &[FeedEntry]) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let time = now();
        for entry in entries {
            tx.run(
                "INSERT INTO feed_entries (source, entry_id, url, title, outcome, attempts, \
                 first_seen_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6) \
                 ON CONFLICT (source, entry_id) DO UPDATE SET outcome = excluded.outcome, \
                 last_error = NULL, updated_at = excluded.updated_at",
                params![
                    source,
                    entry.id,
                    entry.url,
                    entry.title,
                    EntryOutcome::Recorded.as_str(),
                    time
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn record_entry(
        &self,
        source: &str,
        entry: &FeedEntry,
        outcome: EntryOutcome,
        error: Option<&str>,
        announcement_id: Option<i64>,
    ) -> Result<SeenEntry, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let attempt = i64::from(matches!(
            outcome,
            EntryOutcome::Failed | EntryOutcome::GaveUp | EntryOutcome::Drafted
        ));
        let time = now();
        tx.run(
            "INSERT INTO feed_entries (source, entry_id, url, title, outcome, attempts, \
             last_error, announcement_id, first_seen_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (source, entry_id) DO UPDATE SET outcome = excluded.outcome, \
             attempts = attempts + excluded.attempts, last_error = excluded.last_error, \
             announcement_id = COALESCE(excluded.announcement_id, announcement_id), \
             updated_at = excluded.updated_at",
            params![
                source,
                entry.id,
                entry.url,
                entry.title,
                outcome.as_str(),
                attempt,
                error,
                announcement_id,
                time
            ],
        )?;
        let entry = Self::load_entries(
            &tx,
            "source = ?1 AND entry_id = ?2",
            params![source, entry.id],
        )?
        .pop()
        .ok_or_else(|| StoreError::Missing(format!("feed entry {}", entry.id)))?;
        tx.commit()?;
        Ok(entry)
    }

    fn create_draft(
        &self,
        announcement: &AnnouncementRecord,
        draft: &NewDraft<'_>,
    ) -> Result<(DraftRecord, bool), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<i64> = tx
            .row(
                "SELECT id FROM threads WHERE announcement_id = ?1 AND account = ?2",
                params![announcement.id, draft.account],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            let record = Self::load_draft(&tx, id)?;
            return Ok((record, false));
        }
        let id = Self::insert_thread(
            &tx,
            announcement,
            draft.account,
            draft.platform,
            draft.posts,
            draft.plan_json,
        )?;
        let rules =
            serde_json::to_string(draft.rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let time = now();
        let decided = (draft.review != ReviewState::Pending).then_some(draft.actor);
        tx.run(
            "INSERT INTO drafts (thread_id, review, decided_by, decided_at, origin, rules_json, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![
                id,
                draft.review.as_str(),
                decided,
                decided.map(|_| time.clone()),
                draft.origin,
                rules,
                time
            ],
        )?;
        Self::insert_audit(
            &tx,
            &AuditNote {
                actor: draft.actor,
                action: "drafted",
                thread_id: Some(id),
                details: draft.details,
            },
        )?;
        let record = Self::load_draft(&tx, id)?;
        tx.commit()?;
        Ok((record, true))
    }

    fn draft(&self, id: i64) -> Result<Option<DraftRecord>, StoreError> {
        let connection = self.lock()?;
        Ok(Self::load_drafts(&connection, "d.thread_id = ?1", [id])?.pop())
    }

    fn drafts(&self, filter: DraftFilter) -> Result<Vec<DraftRecord>, StoreError> {
        let connection = self.lock()?;
        let clause = match filter {
            DraftFilter::All => "1 = 1",
            DraftFilter::Open => "t.state != 'posted' AND d.review != 'rejected'",
        };
        Self::load_drafts(&connection, clause, [])
    }

    fn announcement_by_id(&self, id: i64) -> Result<Option<AnnouncementRecord>, StoreError> {
        let connection = self.lock()?;
        match Self::load_announcement(&connection, id) {
            Ok(record) => Ok(Some(record)),
            Err(StoreError::Missing(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn update_review(
        &self,
        id: i64,
        version: i64,
        change: &ReviewChange<'_>,
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Self::bump(&tx, id, version)?;
        tx.run(
            "UPDATE drafts SET review = ?2, scheduled_at = ?3, reason = ?4, decided_by = ?5, \
             decided_at = ?6 WHERE thread_id = ?1",
            params![
                id,
                change.review.as_str(),
                change.scheduled_at.map(stamp),
                change.reason,
                change.decided_by,
                now()
            ],
        )?;
        if change.retry {
            tx.run(
                "UPDATE drafts SET post_attempts = 0, next_attempt_at = NULL \
                 WHERE thread_id = ?1",
                [id],
            )?;
            // Where its posts stand: any sent (or maybe sent) means half-posted.
            tx.run(
                "UPDATE threads SET state = CASE WHEN EXISTS (SELECT 1 FROM posts \
                 WHERE thread_id = ?1 AND state != 'pending') THEN ?2 ELSE ?3 END, \
                 last_error = NULL, updated_at = ?4 WHERE id = ?1 AND state = ?5",
                params![
                    id,
                    ThreadState::Posting.as_str(),
                    ThreadState::Planned.as_str(),
                    now(),
                    ThreadState::Failed.as_str()
                ],
            )?;
        }
        Self::insert_audit(&tx, audit)?;
        let record = Self::load_draft(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }

    fn edit_texts(
        &self,
        id: i64,
        version: i64,
        texts: &[(usize, String)],
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Self::bump(&tx, id, version)?;
        Self::require_unsent(&tx, id)?;
        for (index, text) in texts {
            let changed = tx.run(
                "UPDATE posts SET text = ?3 WHERE thread_id = ?1 AND idx = ?2",
                params![id, *index as i64, text],
            )?;
            if changed != 1 {
                return Err(StoreError::Missing(format!(
                    "post {} of draft {id}",
                    index + 1
                )));
            }
        }
        tx.run(
            "UPDATE drafts SET edits = edits + 1 WHERE thread_id = ?1",
            [id],
        )?;
        Self::insert_audit(&tx, audit)?;
        let record = Self::load_draft(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }

    fn replace_posts(
        &self,
        id: i64,
        version: i64,
        posts: &[PlannedPost],
        plan_json: &str,
        rules: &LengthRules,
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Self::bump(&tx, id, version)?;
        Self::require_unsent(&tx, id)?;
        // Never sent, so their keys were never used on a server and can be used again.
        let first_key: String = tx
            .row(
                "SELECT key FROM posts WHERE thread_id = ?1 ORDER BY idx LIMIT 1",
                [id],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::Missing(format!("posts of draft {id}")))?;
        let key_base = decide::key_base(&first_key)?;
        tx.run("DELETE FROM posts WHERE thread_id = ?1", [id])?;
        for (index, post) in posts.iter().enumerate() {
            let images = serde_json::to_string(&post.images)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let links = serde_json::to_string(&post.links)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.run(
                "INSERT INTO posts (thread_id, idx, key, role_json, text, images_json, state, \
                 links_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
                params![
                    id,
                    index as i64,
                    decide::key_at(key_base, index),
                    post.role,
                    post.text,
                    images,
                    links
                ],
            )?;
        }
        let rules = serde_json::to_string(rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.run(
            "UPDATE threads SET plan_json = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, plan_json, now()],
        )?;
        tx.run(
            "UPDATE drafts SET rules_json = ?2, edits = 0 WHERE thread_id = ?1",
            params![id, rules],
        )?;
        Self::insert_audit(&tx, audit)?;
        let record = Self::load_draft(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }

    fn update_announcement(
        &self,
        announcement_id: i64,
        announcement: &Announcement,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let json =
            serde_json::to_string(announcement).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let changed = connection.run(
            "UPDATE announcements SET title = ?2, announcement_json = ?3 WHERE id = ?1",
            params![announcement_id, announcement.title, json],
        )?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!(
                "announcement {announcement_id}"
            )))
        }
    }

    fn claim_draft(
        &self,
        id: i64,
        owner: &str,
        until: DateTime<Utc>,
        now_: DateTime<Utc>,
        take_over: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let holder: Option<(Option<String>, Option<String>)> = tx
            .row(
                "SELECT lease_owner, lease_until FROM drafts WHERE thread_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((holder, held_until)) = holder else {
            return Err(StoreError::Missing(format!("draft {id}")));
        };
        let decision = decide::claim(holder.as_deref(), time(held_until)?, owner, now_, take_over);
        if decision != Claim::Claimed {
            return Ok(decision);
        }
        tx.run(
            "UPDATE drafts SET lease_owner = ?2, lease_until = ?3 WHERE thread_id = ?1",
            params![id, owner, stamp(until)],
        )?;
        tx.commit()?;
        Ok(Claim::Claimed)
    }

    fn release_draft(&self, id: i64, owner: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "UPDATE drafts SET lease_owner = NULL, lease_until = NULL \
             WHERE thread_id = ?1 AND lease_owner = ?2",
            params![id, owner],
        )?;
        Ok(())
    }

    fn release_leases(&self, owner: &str) -> Result<usize, StoreError> {
        let connection = self.lock()?;
        Ok(connection.run(
            "UPDATE drafts SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
            [owner],
        )?)
    }

    fn record_post_attempt(
        &self,
        id: i64,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "UPDATE drafts SET post_attempts = post_attempts + 1, next_attempt_at = ?2, \
             updated_at = ?3 WHERE thread_id = ?1",
            params![id, next_attempt_at.map(stamp), now()],
        )?;
        Ok(())
    }

    fn audit(&self, note: &AuditNote<'_>) -> Result<(), StoreError> {
        let connection = self.lock()?;
        Self::insert_audit(&connection, note)
    }

    fn last_action_at(
        &self,
        actor: &str,
        action: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let connection = self.lock()?;
        let at: Option<String> = connection.row(
            "SELECT MAX(at) FROM audit_log WHERE actor = ?1 AND action = ?2",
            params![actor, action],
            |row| row.get(0),
        )?;
        time(at)
    }

    fn audit_log(&self, draft: Option<i64>) -> Result<Vec<AuditEntry>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT id, at, actor, action, thread_id, details FROM audit_log \
             WHERE ?1 IS NULL OR thread_id = ?1 ORDER BY id",
        )?;
        let rows = statement
            .query_map([draft], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, at, actor, action, draft, details)| {
                Ok(AuditEntry {
                    id,
                    at: parse_time(&at)?,
                    actor,
                    action,
                    draft,
                    details,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::MIGRATIONS;
    use super::*;

    #[test]
    fn threads_from_before_review_become_approved_drafts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        let review = MIGRATIONS
            .iter()
            .position(|sql| sql.contains("CREATE TABLE drafts"))
            .expect("the review migration");
        {
            let connection = Connection::open(&path).expect("raw open");
            connection
                .execute_batch(
                    "CREATE TABLE schema_migrations (
                     version INTEGER PRIMARY KEY, sql TEXT NOT NULL, applied_at TEXT NOT NULL)",
                )
                .expect("table");
            for (index, sql) in MIGRATIONS[..review].iter().enumerate() {
                connection.execute_batch(sql).expect("migration");
                connection
                    .execute(
                        "INSERT INTO schema_migrations VALUES (?1, ?2, '2026-11-28T00:00:00Z')",
                        params![(index + 1) as i64, sql],
                    )
                    .expect("record");
            }
            connection
                .execute_batch(
                    "INSERT INTO announcements (id, url, slug, title, announcement_json, created_at) \
                     VALUES (1, 'https://blog.example/p/', 'p', 'P', '{}', '2026-11-01T00:00:00Z');
                     INSERT INTO threads (id, announcement_id, account, platform, state, plan_json, \
                     created_at, updated_at) VALUES (7, 1, 'gc', 'mastodon', 'posted', '[]', \
                     '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z');",
                )
                .expect("an old thread");
        }
        let store = SqliteStore::open(&path).expect("migrated");
        let connection = store.lock().expect("lock");
        let draft: (String, String, String) = connection
            .query_row(
                "SELECT review, origin, decided_by FROM drafts WHERE thread_id = 7",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("a draft for the old thread");
        assert_eq!(
            draft,
            (
                "approved".into(),
                "migrated".into(),
                "papercast announce".into()
            )
        );
    }
}
