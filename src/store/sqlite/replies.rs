//! The reply side of the SQLite store (tables of migration 0003).

use super::{now, parse_time, Cached, SqliteStore};
use crate::model::Engagement;
use crate::store::decide;
use crate::store::replies::Raw;
use crate::store::replies::*;
use crate::store::{AnnouncementRecord, RemotePost, ServerStatus, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashSet;

const REPLY_COLUMNS: &str = "id, thread_id, account, remote_id, in_reply_to, author_id, \
     author_handle, author_name, author_url, author_avatar, author_bot, url, visibility, \
     created_at, edited_at, content_html, spoiler_text, source, first_seen_at, deleted_at, \
     hidden, hidden_by, hidden_reason, hidden_at, moderated";

fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A reply row as SQLite gives it.
fn from_row(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        id: row.get(0)?,
        thread_id: row.get(1)?,
        account: row.get(2)?,
        remote_id: row.get(3)?,
        in_reply_to: row.get(4)?,
        author_id: row.get(5)?,
        author_handle: row.get(6)?,
        author_name: row.get(7)?,
        author_url: row.get(8)?,
        author_avatar: row.get(9)?,
        author_bot: row.get(10)?,
        url: row.get(11)?,
        visibility: row.get(12)?,
        created_at: row.get(13)?,
        edited_at: row.get(14)?,
        content_html: row.get(15)?,
        spoiler_text: row.get(16)?,
        source: row.get(17)?,
        first_seen_at: row.get(18)?,
        deleted_at: row.get(19)?,
        hidden: row.get(20)?,
        hidden_by: row.get(21)?,
        hidden_reason: row.get(22)?,
        hidden_at: row.get(23)?,
        moderated: row.get(24)?,
    })
}

impl SqliteStore {
    fn select_replies(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ReplyRecord>, StoreError> {
        let hidden = Self::hidden_handles(connection)?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {REPLY_COLUMNS} FROM replies WHERE {where_clause} ORDER BY created_at, id"
        ))?;
        let raws = statement
            .query_map(args, from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(|raw| raw.record(&hidden)).collect()
    }

    fn hidden_handles(connection: &Connection) -> Result<HashSet<String>, StoreError> {
        let mut statement = connection.prepare_cached("SELECT handle FROM hidden_authors")?;
        let handles = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        Ok(handles)
    }

    fn announcements_where(
        connection: &Connection,
        where_clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT id FROM announcements WHERE {where_clause} ORDER BY created_at, id"
        ))?;
        let ids: Vec<i64> = statement
            .query_map(args, |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .map(|id| Self::load_announcement(connection, id))
            .collect()
    }
}

impl ReplyStore for SqliteStore {
    fn watched_threads(&self, since: DateTime<Utc>) -> Result<Vec<WatchedThread>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT t.id, t.announcement_id, p.sent_at, c.checked_at, c.activity_at \
             FROM threads t \
             JOIN posts p ON p.thread_id = t.id AND p.idx = 0 \
             LEFT JOIN reply_checks c ON c.thread_id = t.id \
             WHERE p.remote_id IS NOT NULL AND p.sent_at IS NOT NULL AND p.sent_at >= ?1 \
             ORDER BY p.sent_at, t.id",
        )?;
        let rows = statement
            .query_map([time(since)], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut watched = Vec::with_capacity(rows.len());
        for (thread_id, announcement_id, sent_at, checked_at, activity_at) in rows {
            let thread = Self::load_thread(&connection, "id = ?1", [thread_id])?
                .pop()
                .ok_or_else(|| StoreError::Missing(format!("thread {thread_id}")))?;
            watched.push(WatchedThread {
                announcement: Self::load_announcement(&connection, announcement_id)?,
                thread,
                posted_at: parse_time(&sent_at)?,
                checked_at: checked_at.as_deref().map(parse_time).transpose()?,
                activity_at: activity_at.as_deref().map(parse_time).transpose()?,
            });
        }
        Ok(watched)
    }

    fn thread_of_post(&self, account: &str, remote_id: &str) -> Result<Option<i64>, StoreError> {
        let connection = self.lock()?;
        Ok(connection
            .row(
                "SELECT t.id FROM posts p JOIN threads t ON p.thread_id = t.id \
                 WHERE t.account = ?1 AND p.remote_id = ?2 LIMIT 1",
                params![account, remote_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn thread_replies(&self, thread_id: i64) -> Result<Vec<ReplyRecord>, StoreError> {
        let connection = self.lock()?;
        Self::select_replies(&connection, "thread_id = ?1", [thread_id])
    }

    fn announcement_replies(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<ReplyRecord>, StoreError> {
        let connection = self.lock()?;
        let mut all = Vec::new();
        for id in announcement_ids {
            all.extend(Self::select_replies(
                &connection,
                "thread_id IN (SELECT id FROM threads WHERE announcement_id = ?1)",
                [id],
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
        let connection = self.lock()?;
        Ok(Self::select_replies(&connection, "id = ?1", [id])?.pop())
    }

    fn reply_by_remote(
        &self,
        account: &str,
        remote_id: &str,
    ) -> Result<Option<ReplyRecord>, StoreError> {
        let connection = self.lock()?;
        Ok(Self::select_replies(
            &connection,
            "account = ?1 AND remote_id = ?2",
            params![account, remote_id],
        )?
        .pop())
    }

    fn reply_by_url(&self, url: &str) -> Result<Option<ReplyRecord>, StoreError> {
        let connection = self.lock()?;
        Ok(Self::select_replies(&connection, "url = ?1", [url])?.pop())
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
        let mut connection = self.lock()?;
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing = Self::select_replies(
            &tx,
            "account = ?1 AND remote_id = ?2",
            params![account, status.id],
        )?
        .pop();
        let at = now();
        let saved = match existing {
            None => {
                tx.run(
                    "INSERT INTO replies (thread_id, account, remote_id, in_reply_to, author_id, \
                     author_handle, author_name, author_url, author_avatar, author_bot, url, \
                     visibility, created_at, edited_at, content_html, spoiler_text, source, \
                     first_seen_at, updated_at) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                     ?17, ?18, ?18)",
                    params![
                        thread_id,
                        account,
                        status.id,
                        in_reply_to,
                        status.author_id,
                        status.author_handle,
                        status.author_name,
                        status.author_url,
                        status.author_avatar,
                        status.author_bot,
                        status.url,
                        status.visibility,
                        time(status.created_at),
                        status.edited_at.map(time),
                        status.content_html,
                        status.spoiler_text,
                        source.as_str(),
                        at
                    ],
                )?;
                if let Some(rule) = rule.filter(|_| decide::new_reply(rule).hide_by_rule) {
                    tx.run(
                        "UPDATE replies SET hidden = 1, hidden_by = 'rule', hidden_reason = ?2, \
                         hidden_at = ?3 WHERE id = ?1",
                        params![tx.last_insert_rowid(), rule, at],
                    )?;
                }
                Saved::Added
            }
            Some(old) => {
                let mut current = status.clone();
                current.in_reply_to = Some(in_reply_to.to_owned());
                let update = decide::seen_again(&old, &current, rule);
                if update.write {
                    tx.run(
                        "UPDATE replies SET in_reply_to = ?2, author_id = ?3, author_handle = ?4, \
                         author_name = ?5, author_url = ?6, author_avatar = ?7, author_bot = ?8, \
                         url = ?9, visibility = ?10, created_at = ?11, edited_at = ?12, \
                         content_html = ?13, spoiler_text = ?14, updated_at = ?15, \
                         deleted_at = NULL WHERE id = ?1",
                        params![
                            old.id,
                            in_reply_to,
                            status.author_id,
                            status.author_handle,
                            status.author_name,
                            status.author_url,
                            status.author_avatar,
                            status.author_bot,
                            status.url,
                            status.visibility,
                            time(status.created_at),
                            status.edited_at.map(time),
                            status.content_html,
                            status.spoiler_text,
                            at
                        ],
                    )?;
                }
                if let Some(rule) = rule.filter(|_| update.hide_by_rule) {
                    tx.run(
                        "UPDATE replies SET hidden = 1, hidden_by = 'rule', hidden_reason = ?2, \
                         hidden_at = ?3 WHERE id = ?1",
                        params![old.id, rule, at],
                    )?;
                }
                update.saved
            }
        };
        tx.commit()?;
        Ok(saved)
    }

    fn mark_reply_deleted(&self, id: i64) -> Result<(), StoreError> {
        let connection = self.lock()?;
        let count = connection.run(
            "UPDATE replies SET deleted_at = COALESCE(deleted_at, ?2), updated_at = ?2 \
             WHERE id = ?1",
            params![id, now()],
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
        let connection = self.lock()?;
        let count = if hidden {
            connection.run(
                "UPDATE replies SET hidden = 1, hidden_by = ?2, hidden_reason = ?3, \
                 hidden_at = ?4, moderated = 1 WHERE id = ?1",
                params![id, by, reason, now()],
            )?
        } else {
            connection.run(
                "UPDATE replies SET hidden = 0, hidden_by = NULL, hidden_reason = NULL, \
                 hidden_at = NULL, moderated = 1 WHERE id = ?1",
                [id],
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
        let connection = self.lock()?;
        let count = connection.run(
            "INSERT INTO hidden_authors (handle, hidden_by, reason, hidden_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (handle) DO NOTHING",
            params![canonical_handle(handle), by, reason, now()],
        )?;
        Ok(count == 1)
    }

    fn unhide_author(&self, handle: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let count = connection.run(
            "DELETE FROM hidden_authors WHERE handle = ?1",
            [canonical_handle(handle)],
        )?;
        Ok(count == 1)
    }

    fn hidden_authors(&self) -> Result<Vec<HiddenAuthor>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT handle, hidden_by, reason, hidden_at FROM hidden_authors ORDER BY handle",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(handle, by, reason, at)| {
                Ok(HiddenAuthor {
                    handle,
                    by,
                    reason,
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
        let connection = self.lock()?;
        connection.run(
            "INSERT INTO reply_checks (thread_id, checked_at, activity_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (thread_id) DO UPDATE SET checked_at = ?2, \
             activity_at = COALESCE(?3, activity_at)",
            params![thread_id, time(at), activity_at.map(time)],
        )?;
        Ok(())
    }

    fn record_engagement(
        &self,
        thread_id: i64,
        remote_id: &str,
        at: DateTime<Utc>,
        counts: &Engagement,
    ) -> Result<bool, StoreError> {
        let as_sql = |n: Option<u64>| n.and_then(|n| i64::try_from(n).ok());
        let connection = self.lock()?;
        // `IS` compares NULLs as equal: an unknown count that stays unknown is no change.
        let added = connection.run(
            "INSERT INTO engagement (thread_id, remote_id, recorded_at, replies, reposts, likes, quotes) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS ( \
                 SELECT 1 FROM (SELECT replies, reposts, likes, quotes FROM engagement \
                     WHERE thread_id = ?1 AND remote_id = ?2 ORDER BY id DESC LIMIT 1) AS latest \
                 WHERE latest.replies IS ?4 AND latest.reposts IS ?5 \
                     AND latest.likes IS ?6 AND latest.quotes IS ?7)",
            params![
                thread_id,
                remote_id,
                time(at),
                as_sql(counts.replies),
                as_sql(counts.reposts),
                as_sql(counts.likes),
                as_sql(counts.quotes)
            ],
        )?;
        Ok(added > 0)
    }

    fn engagement_history(
        &self,
        announcement_ids: &[i64],
    ) -> Result<Vec<EngagementRecord>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT thread_id, remote_id, recorded_at, replies, reposts, likes, quotes \
             FROM engagement WHERE thread_id IN \
                 (SELECT id FROM threads WHERE announcement_id = ?1) ORDER BY id",
        )?;
        let mut all = Vec::new();
        for id in announcement_ids {
            let rows = statement.query_map([id], |row| {
                let count = |i: usize| -> rusqlite::Result<Option<u64>> {
                    Ok(row
                        .get::<_, Option<i64>>(i)?
                        .and_then(|n| u64::try_from(n).ok()))
                };
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    Engagement {
                        replies: count(3)?,
                        reposts: count(4)?,
                        likes: count(5)?,
                        quotes: count(6)?,
                    },
                ))
            })?;
            for row in rows {
                let (thread_id, remote_id, at, counts) = row?;
                all.push(EngagementRecord {
                    thread_id,
                    remote_id,
                    recorded_at: parse_time(&at)?,
                    counts,
                });
            }
        }
        all.sort_by_key(|r| r.recorded_at);
        Ok(all)
    }

    fn mention_cursor(&self, account: &str) -> Result<Option<String>, StoreError> {
        let connection = self.lock()?;
        Ok(connection
            .row(
                "SELECT last_id FROM mention_cursors WHERE account = ?1",
                [account],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn set_mention_cursor(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let connection = self.lock()?;
        connection.run(
            "INSERT INTO mention_cursors (account, last_id, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (account) DO UPDATE SET last_id = ?2, updated_at = ?3",
            params![account, id, now()],
        )?;
        Ok(())
    }

    fn begin_answer(&self, reply_id: i64) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        // Durable before the answer leaves: it is sent at most once, crash or not.
        let count = Self::durably(&connection, |connection| {
            Ok(connection.run(
                "INSERT INTO reply_answers (reply_id, state, created_at) \
                 VALUES (?1, 'sending', ?2) ON CONFLICT (reply_id) DO NOTHING",
                params![reply_id, now()],
            )?)
        })?;
        Ok(count == 1)
    }

    fn finish_answer(&self, reply_id: i64, remote: &RemotePost) -> Result<(), StoreError> {
        let connection = self.lock()?;
        // Durable too: the answer's id keeps it from being taken for a reply.
        let count = Self::durably(&connection, |connection| {
            Ok(connection.run(
                "UPDATE reply_answers SET state = 'sent', remote_id = ?2, remote_url = ?3 \
                 WHERE reply_id = ?1",
                params![reply_id, remote.id, remote.url],
            )?)
        })?;
        if count == 1 {
            Ok(())
        } else {
            Err(StoreError::Missing(format!("answer to reply {reply_id}")))
        }
    }

    fn answer_ids(&self, account: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT a.remote_id FROM reply_answers a JOIN replies r ON a.reply_id = r.id \
             WHERE r.account = ?1 AND a.remote_id IS NOT NULL",
        )?;
        let ids = statement
            .query_map([account], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn answers(&self, announcement_ids: &[i64]) -> Result<Vec<AnswerLink>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare_cached(
            "SELECT r.account, a.remote_id, r.remote_id FROM reply_answers a \
             JOIN replies r ON a.reply_id = r.id JOIN threads t ON r.thread_id = t.id \
             WHERE t.announcement_id = ?1 AND a.remote_id IS NOT NULL ORDER BY a.reply_id",
        )?;
        let mut links = Vec::new();
        for id in announcement_ids {
            let rows = statement
                .query_map([id], |row| {
                    Ok(AnswerLink {
                        account: row.get(0)?,
                        remote_id: row.get(1)?,
                        in_reply_to: row.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            links.extend(rows);
        }
        Ok(links)
    }

    fn announcements_of(&self, key: &str) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let connection = self.lock()?;
        Self::announcements_where(&connection, "url = ?1 OR slug = ?1", [key])
    }

    fn announced_posts(&self) -> Result<Vec<AnnouncementRecord>, StoreError> {
        let connection = self.lock()?;
        Self::announcements_where(
            &connection,
            "id IN (SELECT MAX(a.id) FROM announcements a \
             JOIN threads t ON t.announcement_id = a.id \
             JOIN posts p ON p.thread_id = t.id AND p.idx = 0 \
             WHERE p.remote_id IS NOT NULL GROUP BY a.url)",
            [],
        )
    }
}
