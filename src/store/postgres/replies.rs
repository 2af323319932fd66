//! The reply side of the PostgreSQL store (tables of migration 0003).

use super::{get, now, parse_time, Conn, Params, PostgresStore};
use crate::store::decide;
use crate::store::replies::Raw;
use crate::store::replies::*;
use crate::store::{AnnouncementRecord, RemotePost, ServerStatus, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use tokio_postgres::Row;

const REPLY_COLUMNS: &str = "id, thread_id, account, remote_id, in_reply_to, author_id, \
     author_handle, author_name, author_url, author_avatar, author_bot, url, visibility, \
     created_at, edited_at, content_html, spoiler_text, source, first_seen_at, deleted_at, \
     hidden, hidden_by, hidden_reason, hidden_at, moderated";

fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A reply row as PostgreSQL gives it (flags are 0/1 integers, as in SQLite).
fn from_row(row: &Row) -> Result<Raw, StoreError> {
    let flag = |index: usize| -> Result<bool, StoreError> { Ok(get::<i64>(row, index)? != 0) };
    Ok(Raw {
        id: get(row, 0)?,
        thread_id: get(row, 1)?,
        account: get(row, 2)?,
        remote_id: get(row, 3)?,
        in_reply_to: get(row, 4)?,
        author_id: get(row, 5)?,
        author_handle: get(row, 6)?,
        author_name: get(row, 7)?,
        author_url: get(row, 8)?,
        author_avatar: get(row, 9)?,
        author_bot: flag(10)?,
        url: get(row, 11)?,
        visibility: get(row, 12)?,
        created_at: get(row, 13)?,
        edited_at: get(row, 14)?,
        content_html: get(row, 15)?,
        spoiler_text: get(row, 16)?,
        source: get(row, 17)?,
        first_seen_at: get(row, 18)?,
        deleted_at: get(row, 19)?,
        hidden: flag(20)?,
        hidden_by: get(row, 21)?,
        hidden_reason: get(row, 22)?,
        hidden_at: get(row, 23)?,
        moderated: flag(24)?,
    })
}

impl PostgresStore {
    fn select_replies(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<ReplyRecord>, StoreError> {
        let hidden = Self::hidden_handles(conn)?;
        let rows = conn.rows(
            &format!(
                "SELECT {REPLY_COLUMNS} FROM replies WHERE {where_clause} \
                 ORDER BY created_at, id"
            ),
            args,
        )?;
        rows.iter()
            .map(|row| from_row(row)?.record(&hidden))
            .collect()
    }

    fn hidden_handles(conn: &mut Conn) -> Result<HashSet<String>, StoreError> {
        conn.rows("SELECT handle FROM hidden_authors", &[])?
            .iter()
            .map(|row| get(row, 0))
            .collect()
    }

    fn announcements_where(
        conn: &mut Conn,
        where_clause: &str,
        args: Params<'_>,
    ) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let ids: Vec<i64> = conn
            .rows(
                &format!(
                    "SELECT id FROM announcements WHERE {where_clause} ORDER BY created_at, id"
                ),
                args,
            )?
            .iter()
            .map(|row| get(row, 0))
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .map(|id| Self::load_announcement(conn, id))
            .collect()
    }

    fn hide_by_rule(tx: &mut Conn, id: i64, rule: &str, at: &str) -> Result<(), StoreError> {
        tx.run(
            "UPDATE replies SET hidden = 1, hidden_by = 'rule', hidden_reason = $2, \
             hidden_at = $3 WHERE id = $1",
            &[&id, &rule, &at],
        )?;
        Ok(())
    }
}

impl ReplyStore for PostgresStore {
    fn record_engagement(
        &self,
        thread_id: i64,
        remote_id: &str,
        at: DateTime<Utc>,
        counts: &crate::model::Engagement,
    ) -> Result<bool, StoreError> {
        let as_sql = |n: Option<u64>| n.and_then(|n| i64::try_from(n).ok());
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (replies, reposts, likes, quotes) = (
            as_sql(counts.replies),
            as_sql(counts.reposts),
            as_sql(counts.likes),
            as_sql(counts.quotes),
        );
        // `IS NOT DISTINCT FROM` compares NULLs as equal: an unknown count that stays
        // unknown is no change.
        let added = self.transaction(true, |conn| {
            conn.run(
                "INSERT INTO engagement \
                 (thread_id, remote_id, recorded_at, replies, reposts, likes, quotes) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS ( \
                     SELECT 1 FROM (SELECT replies, reposts, likes, quotes FROM engagement \
                         WHERE thread_id = $1 AND remote_id = $2 ORDER BY id DESC LIMIT 1) \
                         AS latest \
                     WHERE latest.replies IS NOT DISTINCT FROM $4::BIGINT \
                         AND latest.reposts IS NOT DISTINCT FROM $5::BIGINT \
                         AND latest.likes IS NOT DISTINCT FROM $6::BIGINT \
                         AND latest.quotes IS NOT DISTINCT FROM $7::BIGINT)",
                &[
                    &thread_id, &remote_id, &at, &replies, &reposts, &likes, &quotes,
                ],
            )
        })?;
        Ok(added > 0)
    }

    fn engagement_history(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<EngagementRecord>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn.rows(
            "SELECT thread_id, remote_id, recorded_at, replies, reposts, likes, quotes \
             FROM engagement WHERE thread_id IN \
                 (SELECT id FROM threads WHERE announcement_id = ANY($1)) ORDER BY id",
            &[&announcement_ids],
        )?;
        let count = |row: &tokio_postgres::Row, i: usize| -> Result<Option<u64>, StoreError> {
            Ok(get::<Option<i64>>(row, i)?.and_then(|n| u64::try_from(n).ok()))
        };
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            all.push(EngagementRecord {
                thread_id: get(row, 0)?,
                remote_id: get(row, 1)?,
                recorded_at: crate::store::parse_time(&get::<String>(row, 2)?)?,
                counts: crate::model::Engagement {
                    replies: count(row, 3)?,
                    reposts: count(row, 4)?,
                    likes: count(row, 5)?,
                    quotes: count(row, 6)?,
                },
            });
        }
        all.sort_by_key(|r| r.recorded_at);
        Ok(all)
    }

    fn watched_threads(&self, since: DateTime<Utc>) -> Result<Vec<WatchedThread>, StoreError> {
        let mut conn = self.conn()?;
        let rows = conn.rows(
            "SELECT t.id, t.announcement_id, p.sent_at, c.checked_at, c.activity_at \
             FROM threads t \
             JOIN posts p ON p.thread_id = t.id AND p.idx = 0 \
             LEFT JOIN reply_checks c ON c.thread_id = t.id \
             WHERE p.remote_id IS NOT NULL AND p.sent_at IS NOT NULL AND p.sent_at >= $1 \
             ORDER BY p.sent_at, t.id",
            &[&time(since)],
        )?;
        let mut watched = Vec::with_capacity(rows.len());
        for row in rows {
            let thread_id: i64 = get(&row, 0)?;
            let announcement_id: i64 = get(&row, 1)?;
            let sent_at: String = get(&row, 2)?;
            let checked_at: Option<String> = get(&row, 3)?;
            let activity_at: Option<String> = get(&row, 4)?;
            let thread = Self::one_thread(&mut conn, thread_id)?;
            watched.push(WatchedThread {
                announcement: Self::load_announcement(&mut conn, announcement_id)?,
                thread,
                posted_at: parse_time(&sent_at)?,
                checked_at: checked_at.as_deref().map(parse_time).transpose()?,
                activity_at: activity_at.as_deref().map(parse_time).transpose()?,
            });
        }
        Ok(watched)
    }

    fn thread_of_post(&self, account: &str, remote_id: &str) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn()?;
        conn.row(
            "SELECT t.id FROM posts p JOIN threads t ON p.thread_id = t.id \
             WHERE t.account = $1 AND p.remote_id = $2 LIMIT 1",
            &[&account, &remote_id],
        )?
        .map(|row| get(&row, 0))
        .transpose()
    }

    fn thread_replies(&self, thread_id: i64) -> Result<Vec<ReplyRecord>, StoreError> {
        let mut conn = self.conn()?;
        Self::select_replies(&mut conn, "thread_id = $1", &[&thread_id])
    }

    fn announcement_replies(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<ReplyRecord>, StoreError> {
        let mut conn = self.conn()?;
        let mut all = Vec::new();
        for id in announcement_ids {
            all.extend(Self::select_replies(
                &mut conn,
                "thread_id IN (SELECT id FROM threads WHERE announcement_id = $1)",
                &[id],
            )?);
        }
        all.sort_by(|a, b| {
            a.status
                .created_at
                .cmp(&b.status.created_at)
                .then(a.id.cmp(&b.id))
        });
        Ok(all)
    }

    fn reply(&self, id: i64) -> Result<Option<ReplyRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::select_replies(&mut conn, "id = $1", &[&id])?.pop())
    }

    fn reply_by_remote(
        &self,
        account: &str,
        remote_id: &str,
    ) -> Result<Option<ReplyRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::select_replies(
            &mut conn,
            "account = $1 AND remote_id = $2",
            &[&account, &remote_id],
        )?
        .pop())
    }

    fn reply_by_url(&self, url: &str) -> Result<Option<ReplyRecord>, StoreError> {
        let mut conn = self.conn()?;
        Ok(Self::select_replies(&mut conn, "url = $1", &[&url])?.pop())
    }

    fn save_reply(
        &self,
        thread_id: i64,
        account: &str,
        status: &ServerStatus,
        source: ReplySource,
        rule: Option<&str>,
    ) -> Result<Saved, StoreError> {
        let in_reply_to = status
            .in_reply_to
            .as_deref()
            .ok_or_else(|| StoreError::Corrupt(format!("status {} answers nothing", status.id)))?;
        self.transaction(true, |tx| {
            let existing = Self::select_replies(
                tx,
                "account = $1 AND remote_id = $2",
                &[&account, &status.id],
            )?
            .pop();
            let at = now();
            let created_at = time(status.created_at);
            let edited_at = status.edited_at.map(time);
            let bot = i64::from(status.author_bot);
            match existing {
                None => {
                    let update = decide::new_reply(rule);
                    let row = tx
                        .row(
                            "INSERT INTO replies (thread_id, account, remote_id, in_reply_to, \
                             author_id, author_handle, author_name, author_url, author_avatar, \
                             author_bot, url, visibility, created_at, edited_at, content_html, \
                             spoiler_text, source, first_seen_at, updated_at) VALUES \
                             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                             $16, $17, $18, $18) RETURNING id",
                            &[
                                &thread_id,
                                &account,
                                &status.id,
                                &in_reply_to,
                                &status.author_id,
                                &status.author_handle,
                                &status.author_name,
                                &status.author_url,
                                &status.author_avatar,
                                &bot,
                                &status.url,
                                &status.visibility,
                                &created_at,
                                &edited_at,
                                &status.content_html,
                                &status.spoiler_text,
                                &source.as_str(),
                                &at,
                            ],
                        )?
                        .ok_or_else(|| StoreError::Missing("the new reply".into()))?;
                    let id: i64 = get(&row, 0)?;
                    if let Some(rule) = rule.filter(|_| update.hide_by_rule) {
                        Self::hide_by_rule(tx, id, rule, &at)?;
                    }
                    Ok(update.saved)
                }
                Some(old) => {
                    let mut current = status.clone();
                    current.in_reply_to = Some(in_reply_to.to_owned());
                    let update = decide::seen_again(&old, &current, rule);
                    if update.write {
                        tx.run(
                            "UPDATE replies SET in_reply_to = $2, author_id = $3, \
                             author_handle = $4, author_name = $5, author_url = $6, \
                             author_avatar = $7, author_bot = $8, url = $9, visibility = $10, \
                             created_at = $11, edited_at = $12, content_html = $13, \
                             spoiler_text = $14, updated_at = $15, deleted_at = NULL \
                             WHERE id = $1",
                            &[
                                &old.id,
                                &in_reply_to,
                                &status.author_id,
                                &status.author_handle,
                                &status.author_name,
                                &status.author_url,
                                &status.author_avatar,
                                &bot,
                                &status.url,
                                &status.visibility,
                                &created_at,
                                &edited_at,
                                &status.content_html,
                                &status.spoiler_text,
                                &at,
                            ],
                        )?;
                    }
                    if let Some(rule) = rule.filter(|_| update.hide_by_rule) {
                        Self::hide_by_rule(tx, old.id, rule, &at)?;
                    }
                    Ok(update.saved)
                }
            }
        })
    }

    fn mark_reply_deleted(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE replies SET deleted_at = COALESCE(deleted_at, $2), updated_at = $2 \
             WHERE id = $1",
            &[&id, &now()],
        )?;
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("reply {id}")))
        }
    }

    fn set_reply_hidden(
        &self,
        id: i64,
        hidden: bool,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = if hidden {
            conn.run(
                "UPDATE replies SET hidden = 1, hidden_by = $2, hidden_reason = $3, \
                 hidden_at = $4, moderated = 1 WHERE id = $1",
                &[&id, &by, &reason, &now()],
            )?
        } else {
            conn.run(
                "UPDATE replies SET hidden = 0, hidden_by = NULL, hidden_reason = NULL, \
                 hidden_at = NULL, moderated = 1 WHERE id = $1",
                &[&id],
            )?
        };
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("reply {id}")))
        }
    }

    fn hide_author(
        &self,
        handle: &str,
        by: &str,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "INSERT INTO hidden_authors (handle, hidden_by, reason, hidden_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (handle) DO NOTHING",
            &[&canonical_handle(handle), &by, &reason, &now()],
        )?;
        Ok(count == 1)
    }

    fn unhide_author(&self, handle: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "DELETE FROM hidden_authors WHERE handle = $1",
            &[&canonical_handle(handle)],
        )?;
        Ok(count == 1)
    }

    fn hidden_authors(&self) -> Result<Vec<HiddenAuthor>, StoreError> {
        let mut conn = self.conn()?;
        conn.rows(
            "SELECT handle, hidden_by, reason, hidden_at FROM hidden_authors ORDER BY handle",
            &[],
        )?
        .iter()
        .map(|row| {
            let at: String = get(row, 3)?;
            Ok(HiddenAuthor {
                handle: get(row, 0)?,
                by: get(row, 1)?,
                reason: get(row, 2)?,
                at: parse_time(&at)?,
            })
        })
        .collect()
    }

    fn mark_thread_checked(
        &self,
        thread_id: i64,
        at: DateTime<Utc>,
        activity_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "INSERT INTO reply_checks (thread_id, checked_at, activity_at) VALUES ($1, $2, $3) \
             ON CONFLICT (thread_id) DO UPDATE SET checked_at = $2, \
             activity_at = COALESCE($3, reply_checks.activity_at)",
            &[&thread_id, &time(at), &activity_at.map(time)],
        )?;
        Ok(())
    }

    fn mention_cursor(&self, account: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn()?;
        conn.row(
            "SELECT last_id FROM mention_cursors WHERE account = $1",
            &[&account],
        )?
        .map(|row| get(&row, 0))
        .transpose()
    }

    fn set_mention_cursor(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.run(
            "INSERT INTO mention_cursors (account, last_id, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account) DO UPDATE SET last_id = $2, updated_at = $3",
            &[&account, &id, &now()],
        )?;
        Ok(())
    }

    fn begin_answer(&self, reply_id: i64) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "INSERT INTO reply_answers (reply_id, state, created_at) \
             VALUES ($1, 'sending', $2) ON CONFLICT (reply_id) DO NOTHING",
            &[&reply_id, &now()],
        )?;
        Ok(count == 1)
    }

    fn finish_answer(&self, reply_id: i64, remote: &RemotePost) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let count = conn.run(
            "UPDATE reply_answers SET state = 'sent', remote_id = $2, remote_url = $3 \
             WHERE reply_id = $1",
            &[&reply_id, &remote.id, &remote.url],
        )?;
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("answer to reply {reply_id}")))
        }
    }

    fn answer_ids(&self, account: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        conn.rows(
            "SELECT a.remote_id FROM reply_answers a JOIN replies r ON a.reply_id = r.id \
             WHERE r.account = $1 AND a.remote_id IS NOT NULL",
            &[&account],
        )?
        .iter()
        .map(|row| get(row, 0))
        .collect()
    }

    fn answers(&self, announcement_ids: &[i64]) -> Result<Vec<AnswerLink>, StoreError> {
        let mut conn = self.conn()?;
        let mut links = Vec::new();
        for id in announcement_ids {
            let rows = conn.rows(
                "SELECT r.account, a.remote_id, r.remote_id FROM reply_answers a \
                 JOIN replies r ON a.reply_id = r.id JOIN threads t ON r.thread_id = t.id \
                 WHERE t.announcement_id = $1 AND a.remote_id IS NOT NULL ORDER BY a.reply_id",
                &[id],
            )?;
            for row in rows {
                links.push(AnswerLink {
                    account: get(&row, 0)?,
                    remote_id: get(&row, 1)?,
                    in_reply_to: get(&row, 2)?,
                });
            }
        }
        Ok(links)
    }

    fn announcements_of(&self, key: &str) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let mut conn = self.conn()?;
        Self::announcements_where(&mut conn, "url = $1 OR slug = $1", &[&key])
    }

    fn announced_posts(&self) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let mut conn = self.conn()?;
        Self::announcements_where(
            &mut conn,
            "id IN (SELECT MAX(a.id) FROM announcements a \
             JOIN threads t ON t.announcement_id = a.id \
             JOIN posts p ON p.thread_id = t.id AND p.idx = 0 \
             WHERE p.remote_id IS NOT NULL GROUP BY a.url)",
            &[],
        )
    }
}
