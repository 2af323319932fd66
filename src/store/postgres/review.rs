//! The PostgreSQL side of [`ReviewStore`]: feeds, seen entries, drafts and the audit log.

use super::{get, now, parse_time, Conn, Params, PostgresStore};
use crate::model::Announcement;
use crate::model::LengthRules;
use crate::model::{FeedEntry, Validators};
use crate::store::decide;
use crate::store::review::*;
use crate::store::{AnnouncementRecord, PlannedPost, StoreError, ThreadState};
use chrono::{DateTime, Utc};

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

impl PostgresStore {
    fn load_feed_state(conn: &mut Conn, source: &str) -> Result<Option<FeedState>, StoreError> {
        let Some(row) = conn.row(
            "SELECT source, feed_url, etag, last_modified, initialized_at, last_poll_at, \
             last_success_at, consecutive_failures, last_error, next_poll_at \
             FROM feed_state WHERE source = $1",
            &[&source],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(FeedState {
            source: get(&row, 0)?,
            feed_url: get(&row, 1)?,
            validators: Validators {
                etag: get(&row, 2)?,
                last_modified: get(&row, 3)?,
            },
            initialized_at: time(get(&row, 4)?)?,
            last_poll_at: time(get(&row, 5)?)?,
            last_success_at: time(get(&row, 6)?)?,
            consecutive_failures: count(get(&row, 7)?),
            last_error: get(&row, 8)?,
            next_poll_at: time(get(&row, 9)?)?,
        }))
    }

    fn load_entries(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<SeenEntry>, StoreError> {
        conn.rows(
            &format!(
                "SELECT source, entry_id, url, title, outcome, attempts, last_error, \
                 announcement_id FROM feed_entries WHERE {where_clause} ORDER BY id"
            ),
            args,
        )?
        .iter()
        .map(|row| {
            let outcome: String = get(row, 4)?;
            Ok(SeenEntry {
                source: get(row, 0)?,
                entry_id: get(row, 1)?,
                url: get(row, 2)?,
                title: get(row, 3)?,
                outcome: EntryOutcome::parse(&outcome)?,
                attempts: count(get(row, 5)?),
                last_error: get(row, 6)?,
                announcement_id: get(row, 7)?,
            })
        })
        .collect()
    }

    fn load_drafts(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<DraftRecord>, StoreError> {
        let rows = conn.rows(
            &format!(
                "SELECT {DRAFT_COLUMNS} FROM drafts d JOIN threads t ON t.id = d.thread_id \
                 JOIN announcements a ON a.id = t.announcement_id WHERE {where_clause} \
                 ORDER BY d.thread_id DESC"
            ),
            args,
        )?;
        let mut drafts = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = get(&row, 0)?;
            let thread = Self::one_thread(conn, id)?;
            let rules: Option<String> = get(&row, 9)?;
            let rules = rules
                .as_deref()
                .map(serde_json::from_str::<LengthRules>)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("rules of draft {id}: {e}")))?;
            let review: String = get(&row, 3)?;
            let created_at: String = get(&row, 16)?;
            let updated_at: String = get(&row, 17)?;
            drafts.push(DraftRecord {
                id,
                thread,
                post_url: get(&row, 1)?,
                post_title: get(&row, 2)?,
                review: ReviewState::parse(&review)?,
                scheduled_at: time(get(&row, 4)?)?,
                reason: get(&row, 5)?,
                decided_by: get(&row, 6)?,
                decided_at: time(get(&row, 7)?)?,
                origin: get(&row, 8)?,
                rules,
                edits: count(get(&row, 10)?),
                post_attempts: count(get(&row, 11)?),
                next_attempt_at: time(get(&row, 12)?)?,
                lease_owner: get(&row, 13)?,
                lease_until: time(get(&row, 14)?)?,
                version: get(&row, 15)?,
                created_at: parse_time(&created_at)?,
                updated_at: parse_time(&updated_at)?,
            });
        }
        Ok(drafts)
    }

    fn load_draft(conn: &mut Conn, id: i64) -> Result<DraftRecord, StoreError> {
        Self::load_drafts(conn, "d.thread_id = $1", &[&id])?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("draft {id}")))
    }

    fn insert_audit(conn: &mut Conn, note: &AuditNote<'_>) -> Result<(), StoreError> {
        conn.run(
            "INSERT INTO audit_log (at, actor, action, thread_id, details) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &now(),
                &note.actor,
                &note.action,
                &note.thread_id,
                &note.details,
            ],
        )?;
        Ok(())
    }

    /// Bumps a draft's version if it is still `version`; a conflict otherwise.
    fn bump(conn: &mut Conn, id: i64, version: i64) -> Result<(), StoreError> {
        let changed = conn.run(
            "UPDATE drafts SET version = version + 1, updated_at = $3 \
             WHERE thread_id = $1 AND version = $2",
            &[&id, &version, &now()],
        )?;
        if changed == 1 {
            return Ok(());
        }
        let exists = conn.row("SELECT version FROM drafts WHERE thread_id = $1", &[&id])?;
        match exists {
            None => Err(StoreError::Missing(format!("draft {id}"))),
            Some(_) => Err(StoreError::Conflict(format!(
                "draft {id} was changed by someone else meanwhile; look at it again and retry"
            ))),
        }
    }

    /// Refuses a change of posts once any post of the thread is sent or being sent.
    fn require_unsent(conn: &mut Conn, id: i64) -> Result<(), StoreError> {
        let started: i64 = conn
            .row(
                "SELECT COUNT(*) FROM posts WHERE thread_id = $1 AND state != 'pending'",
                &[&id],
            )?
            .map(|row| get(&row, 0))
            .transpose()?
            .unwrap_or(0);
        if started > 0 {
            return Err(StoreError::Conflict(format!(
                "draft {id}: posting has started ({started} post(s) sent or being sent); \
                 its posts can no longer change"
            )));
        }
        Ok(())
    }
}

impl ReviewStore for PostgresStore {
    fn feed_state(&self, source: &str) -> Result<Option<FeedState>, StoreError> {
        let mut conn = self.conn()?;
        Self::load_feed_state(&mut conn, source)
    }

    fn record_poll(
        &self,
        source: &str,
        feed_url: &str,
        result: PollRecord<'_>,
        next_poll_at: DateTime<Utc>,
    ) -> Result<FeedState, StoreError> {
        self.transaction(true, |tx| {
            let time = now();
            tx.run(
                "INSERT INTO feed_state (source, feed_url) VALUES ($1, $2) \
                 ON CONFLICT (source) DO UPDATE SET feed_url = excluded.feed_url",
                &[&source, &feed_url],
            )?;
            let next = stamp(next_poll_at);
            match result {
                PollRecord::NotModified => {
                    tx.run(
                        "UPDATE feed_state SET last_poll_at = $2, last_success_at = $2, \
                         consecutive_failures = 0, last_error = NULL, next_poll_at = $3 \
                         WHERE source = $1",
                        &[&source, &time, &next],
                    )?;
                }
                PollRecord::Fetched { validators } => {
                    tx.run(
                        "UPDATE feed_state SET etag = $2, last_modified = $3, \
                         initialized_at = COALESCE(initialized_at, $4), last_poll_at = $4, \
                         last_success_at = $4, consecutive_failures = 0, last_error = NULL, \
                         next_poll_at = $5 WHERE source = $1",
                        &[
                            &source,
                            &validators.etag,
                            &validators.last_modified,
                            &time,
                            &next,
                        ],
                    )?;
                }
                PollRecord::Failed { error } => {
                    tx.run(
                        "UPDATE feed_state SET last_poll_at = $2, \
                         consecutive_failures = consecutive_failures + 1, last_error = $3, \
                         next_poll_at = $4 WHERE source = $1",
                        &[&source, &time, &error, &next],
                    )?;
                }
            }
            Self::load_feed_state(tx, source)?
                .ok_or_else(|| StoreError::Missing(format!("feed state of {source}")))
        })
    }

    fn seen_entries(&self, source: &str) -> Result<Vec<SeenEntry>, StoreError> {
        let mut conn = self.conn()?;
        Self::load_entries(&mut conn, "source = $1", &[&source])
    }

    fn record_entries(&self, source: &str, entries: &[FeedEntry]) -> Result<(), StoreError> {
        self.transaction(true, |tx| {
            let time = now();
            for entry in entries {
                tx.run(
                    "INSERT INTO feed_entries (source, entry_id, url, title, outcome, attempts, \
                     first_seen_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6) \
                     ON CONFLICT (source, entry_id) DO UPDATE SET outcome = excluded.outcome, \
                     last_error = NULL, updated_at = excluded.updated_at",
                    &[
                        &source,
                        &entry.id,
                        &entry.url,
                        &entry.title,
                        &EntryOutcome::Recorded.as_str(),
                        &time,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn record_entry(
        &self,
        source: &str,
        entry: &FeedEntry,
        outcome: EntryOutcome,
        error: Option<&str>,
        announcement_id: Option<i64>,
    ) -> Result<SeenEntry, StoreError> {
        self.transaction(true, |tx| {
            let attempt = i64::from(matches!(
                outcome,
                EntryOutcome::Failed | EntryOutcome::GaveUp | EntryOutcome::Drafted
            ));
            tx.run(
                "INSERT INTO feed_entries (source, entry_id, url, title, outcome, attempts, \
                 last_error, announcement_id, first_seen_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (source, entry_id) DO UPDATE SET outcome = excluded.outcome, \
                 attempts = feed_entries.attempts + excluded.attempts, \
                 last_error = excluded.last_error, \
                 announcement_id = COALESCE(excluded.announcement_id, feed_entries.announcement_id), \
                 updated_at = excluded.updated_at",
                &[
                    &source,
                    &entry.id,
                    &entry.url,
                    &entry.title,
                    &outcome.as_str(),
                    &attempt,
                    &error,
                    &announcement_id,
                    &now(),
                ],
            )?;
            Self::load_entries(
                tx,
                "source = $1 AND entry_id = $2",
                &[&source, &entry.id],
            )?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("feed entry {}", entry.id)))
        })
    }

    fn create_draft(
        &self,
        announcement: &AnnouncementRecord,
        draft: &NewDraft<'_>,
    ) -> Result<(DraftRecord, bool), StoreError> {
        self.transaction(true, |tx| {
            // Two instances drafting one entry: the unique key on (announcement,
            // account) makes one thread, and the other gets it back.
            let inserted = Self::insert_thread(
                tx,
                announcement,
                draft.account,
                draft.platform,
                draft.posts,
                draft.plan_json,
            )?;
            let Some(id) = inserted else {
                let row = tx
                    .row(
                        "SELECT id FROM threads WHERE announcement_id = $1 AND account = $2",
                        &[&announcement.id, &draft.account],
                    )?
                    .ok_or_else(|| StoreError::Missing(format!("thread of {}", draft.account)))?;
                let id: i64 = get(&row, 0)?;
                return Ok((Self::load_draft(tx, id)?, false));
            };
            let rules = serde_json::to_string(draft.rules)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let time = now();
            let decided = (draft.review != ReviewState::Pending).then_some(draft.actor);
            tx.run(
                "INSERT INTO drafts (thread_id, review, decided_by, decided_at, origin, \
                 rules_json, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                &[
                    &id,
                    &draft.review.as_str(),
                    &decided,
                    &decided.map(|_| time.clone()),
                    &draft.origin,
                    &rules,
                    &time,
                ],
            )?;
            Self::insert_audit(
                tx,
                &AuditNote {
                    actor: draft.actor,
                    action: "drafted",
                    thread_id: Some(id),
                    details: draft.details,
                },
            )?;
            Ok((Self::load_draft(tx, id)?, true))
        })
    }

    fn draft(&self, id: i64) -> Result<Option<DraftRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::load_drafts(&mut conn, "d.thread_id = $1", &[&id])?.pop())
    }

    fn drafts(&self, filter: DraftFilter) -> Result<Vec<DraftRecord>, StoreError> {
        let mut conn = self.conn()?;
        let clause = match filter {
            DraftFilter::All => "1 = 1",
            DraftFilter::Open => "t.state != 'posted' AND d.review != 'rejected'",
        };
        Self::load_drafts(&mut conn, clause, &[])
    }

    fn announcement_by_id(&self, id: i64) -> Result<Option<AnnouncementRecord>, StoreError> {
        let mut conn = self.conn()?;
        match Self::load_announcement(&mut conn, id) {
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
        self.transaction(true, |tx| {
            Self::bump(tx, id, version)?;
            tx.run(
                "UPDATE drafts SET review = $2, scheduled_at = $3, reason = $4, \
                 decided_by = $5, decided_at = $6 WHERE thread_id = $1",
                &[
                    &id,
                    &change.review.as_str(),
                    &change.scheduled_at.map(stamp),
                    &change.reason,
                    &change.decided_by,
                    &now(),
                ],
            )?;
            if change.retry {
                tx.run(
                    "UPDATE drafts SET post_attempts = 0, next_attempt_at = NULL \
                     WHERE thread_id = $1",
                    &[&id],
                )?;
                // Where its posts stand: any sent (or maybe sent) means half-posted.
                tx.run(
                    "UPDATE threads SET state = CASE WHEN EXISTS (SELECT 1 FROM posts \
                     WHERE thread_id = $1 AND state != 'pending') THEN $2 ELSE $3 END, \
                     last_error = NULL, updated_at = $4 WHERE id = $1 AND state = $5",
                    &[
                        &id,
                        &ThreadState::Posting.as_str(),
                        &ThreadState::Planned.as_str(),
                        &now(),
                        &ThreadState::Failed.as_str(),
                    ],
                )?;
            }
            Self::insert_audit(tx, audit)?;
            Self::load_draft(tx, id)
        })
    }

    fn edit_texts(
        &self,
        id: i64,
        version: i64,
        texts: &[(usize, String)],
        audit: &AuditNote<'_>,
    ) -> Result<DraftRecord, StoreError> {
        self.transaction(true, |tx| {
            Self::bump(tx, id, version)?;
            Self::require_unsent(tx, id)?;
            for (index, text) in texts {
                let changed = tx.run(
                    "UPDATE posts SET text = $3 WHERE thread_id = $1 AND idx = $2",
                    &[&id, &(*index as i64), text],
                )?;
                if changed != 1 {
                    return Err(StoreError::Missing(format!(
                        "post {} of draft {id}",
                        index + 1
                    )));
                }
            }
            tx.run(
                "UPDATE drafts SET edits = edits + 1 WHERE thread_id = $1",
                &[&id],
            )?;
            Self::insert_audit(tx, audit)?;
            Self::load_draft(tx, id)
        })
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
        self.transaction(true, |tx| {
            Self::bump(tx, id, version)?;
            Self::require_unsent(tx, id)?;
            // Never sent, so their keys were never used on a server and can be used again.
            let first_key: String = tx
                .row(
                    "SELECT key FROM posts WHERE thread_id = $1 ORDER BY idx LIMIT 1",
                    &[&id],
                )?
                .map(|row| get(&row, 0))
                .transpose()?
                .ok_or_else(|| StoreError::Missing(format!("posts of draft {id}")))?;
            let key_base = decide::key_base(&first_key)?.to_owned();
            tx.run("DELETE FROM posts WHERE thread_id = $1", &[&id])?;
            for (index, post) in posts.iter().enumerate() {
                Self::insert_post(tx, id, index, &decide::key_at(&key_base, index), post)?;
            }
            let rules =
                serde_json::to_string(rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.run(
                "UPDATE threads SET plan_json = $2, updated_at = $3 WHERE id = $1",
                &[&id, &plan_json, &now()],
            )?;
            tx.run(
                "UPDATE drafts SET rules_json = $2, edits = 0 WHERE thread_id = $1",
                &[&id, &rules],
            )?;
            Self::insert_audit(tx, audit)?;
            Self::load_draft(tx, id)
        })
    }

    fn update_announcement(
        &self,
        announcement_id: i64,
        announcement: &Announcement,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let json =
            serde_json::to_string(announcement).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let changed = conn.run(
            "UPDATE announcements SET title = $2, announcement_json = $3 WHERE id = $1",
            &[&announcement_id, &announcement.title, &json],
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
        let mut conn = self.conn()?;
        // Read the claim, decide, and write only if it is still what was read: a
        // conditional update, so that of two instances claiming at once one wins.
        loop {
            let row = conn
                .row(
                    "SELECT lease_owner, lease_until FROM drafts WHERE thread_id = $1",
                    &[&id],
                )?
                .ok_or_else(|| StoreError::Missing(format!("draft {id}")))?;
            let holder: Option<String> = get(&row, 0)?;
            let held_until: Option<String> = get(&row, 1)?;
            let decision = decide::claim(
                holder.as_deref(),
                time(held_until.clone())?,
                owner,
                now_,
                take_over,
            );
            if decision != Claim::Claimed {
                return Ok(decision);
            }
            let changed = conn.run(
                "UPDATE drafts SET lease_owner = $2, lease_until = $3 WHERE thread_id = $1 \
                 AND lease_owner IS NOT DISTINCT FROM $4 \
                 AND lease_until IS NOT DISTINCT FROM $5",
                &[&id, &owner, &stamp(until), &holder, &held_until],
            )?;
            if changed == 1 {
                return Ok(Claim::Claimed);
            }
            // Someone else changed the claim in between: decide again on what it is now.
        }
    }

    fn release_draft(&self, id: i64, owner: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "UPDATE drafts SET lease_owner = NULL, lease_until = NULL \
             WHERE thread_id = $1 AND lease_owner = $2",
            &[&id, &owner],
        )?;
        Ok(())
    }

    fn release_leases(&self, owner: &str) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE drafts SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
            &[&owner],
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    fn record_post_attempt(
        &self,
        id: i64,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "UPDATE drafts SET post_attempts = post_attempts + 1, next_attempt_at = $2, \
             updated_at = $3 WHERE thread_id = $1",
            &[&id, &next_attempt_at.map(stamp), &now()],
        )?;
        Ok(())
    }

    fn audit(&self, note: &AuditNote<'_>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        Self::insert_audit(&mut conn, note)
    }

    fn last_action_at(
        &self,
        actor: &str,
        action: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut conn = self.conn()?;
        let at: Option<String> = conn
            .row(
                "SELECT MAX(at) FROM audit_log WHERE actor = $1 AND action = $2",
                &[&actor, &action],
            )?
            .map(|row| get(&row, 0))
            .transpose()?
            .flatten();
        time(at)
    }

    fn audit_log(&self, draft: Option<i64>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conn = self.conn()?;
        conn.rows(
            "SELECT id, at, actor, action, thread_id, details FROM audit_log \
             WHERE $1::BIGINT IS NULL OR thread_id = $1 ORDER BY id",
            &[&draft],
        )?
        .iter()
        .map(|row| {
            let at: String = get(row, 1)?;
            Ok(AuditEntry {
                id: get(row, 0)?,
                at: parse_time(&at)?,
                actor: get(row, 2)?,
                action: get(row, 3)?,
                draft: get(row, 4)?,
                details: get(row, 5)?,
            })
        })
        .collect()
    }
}
