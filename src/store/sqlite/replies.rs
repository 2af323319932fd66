//! The reply side of the SQLite store (tables of migration 0003).

use super::{now, parse_time, Cached, SqliteStore};
use crate::model::Engagement;
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

/// A reply row before its times are parsed (rusqlite closures cannot return ours).
struct Raw {
    id: i64,
    thread_id: i64,
    account: String,
    remote_id: String,
    in_reply_to: String,
    author_id: String,
    author_handle: String,
    author_name: String,
    author_url: String,
    author_avatar: Option<String>,
    author_bot: bool,
    url: String,
    visibility: String,
    created_at: String,
    edited_at: Option<String>,
    content_html: String,
    spoiler_text: String,
    source: String,
    first_seen_at: String,
    deleted_at: Option<String>,
    hidden: bool,
    hidden_by: Option<String>,
    hidden_reason: Option<String>,
    hidden_at: Option<String>,
    moderated: bool,
}

impl Raw {
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

    fn record(self, hidden_authors: &HashSet<String>) -> Result<ReplyRecord, StoreError> {
        let hidden = match (self.hidden, self.hidden_at) {
            (true, Some(at)) => Some(Hiding {
                by: self.hidden_by.unwrap_or_default(),
                reason: self.hidden_reason,
                at: parse_time(&at)?,
            }),
            (true, None) => {
                return Err(StoreError::Corrupt(format!(
                    "reply {} is hidden without a time",
                    self.id
                )))
            }
            (false, _) => None,
        };
        Ok(ReplyRecord {
            author_hidden: hidden_authors.contains(&canonical_handle(&self.author_handle)),
            id: self.id,
            thread_id: self.thread_id,
            account: self.account,
            status: ServerStatus {
                id: self.remote_id,
                in_reply_to: Some(self.in_reply_to),
                author_id: self.author_id,
                author_handle: self.author_handle,
                author_name: self.author_name,
                author_url: self.author_url,
                author_avatar: self.author_avatar,
                author_bot: self.author_bot,
                url: self.url,
                visibility: self.visibility,
                created_at: parse_time(&self.created_at)?,
                edited_at: self.edited_at.as_deref().map(parse_time).transpose()?,
                content_html: self.content_html,
                spoiler_text: self.spoiler_text,
            },
            source: ReplySource::parse(&self.source)?,
            first_seen_at: parse_time(&self.first_seen_at)?,
            deleted_at: self.deleted_at.as_deref().map(parse_time).transpose()?,
            hidden,
            moderated: self.moderated,
        })
    }
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
            .query_map(args, Raw::from_row)?
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

/// The fields that make a visible difference when they change.
fn content_differs(old: &ServerStatus, new: &ServerStatus) -> bool {
    old.content_html != new.content_html
        || old.spoiler_text != new.spoiler_text
        || old.edited_at != new.edited_at
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
                if let Some(rule) = rule {
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
                let edited = content_differs(&old.status, &current);
                let restored = old.deleted_at.is_some();
                if old.status != current || restored {
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
                if let Some(rule) =
                    rule.filter(|_| edited && !old.moderated && old.hidden.is_none())
                {
                    tx.run(
                        "UPDATE replies SET hidden = 1, hidden_by = 'rule', hidden_reason = ?2, \
                         hidden_at = ?3 WHERE id = ?1",
                        params![old.id, rule, at],
                    )?;
                }
                if restored {
                    Saved::Restored
                } else if edited {
                    Saved::Edited
                } else {
                    Saved::Unchanged
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Announcement, Paper};
    use crate::store::{PlannedPost, RemotePost, ServerStatus, Store};

    fn announcement() -> Announcement {
        Announcement {
            url: "https://graphcore-research.github.io/2025-10-07-potm/".into(),
            slug: "2025-10-07-potm".into(),
            title: "September Papers".into(),
            date: "2025-10-07".into(),
            tags: vec![],
            social_image: None,
            intro_theme: None,
            papers: vec![Paper {
                position: 0,
                title: "FlowRL".into(),
                authors: "X. Zhu".into(),
                orgs: "Lab".into(),
                link: "https://arxiv.org/abs/2509.15207".into(),
                anchor: "flowrl".into(),
                url: "https://graphcore-research.github.io/2025-10-07-potm/#flowrl".into(),
                intro_summary: None,
                intro_sentence: None,
                key_idea: "Idea.".into(),
                figure: None,
            }],
        }
    }

    /// A store with one posted thread of two posts (ids 100, 101) on account `gc`.
    fn posted() -> (SqliteStore, i64) {
        let store = SqliteStore::in_memory().expect("store");
        let record = store
            .record_announcement(&announcement(), false)
            .expect("record");
        let posts: Vec<PlannedPost> = [r#"{"kind":"head"}"#, r#"{"kind":"paper","position":0}"#]
            .iter()
            .map(|role| PlannedPost {
                role: (*role).into(),
                text: "t".into(),
                links: vec![],
                images: vec![],
            })
            .collect();
        let thread = store
            .plan_thread(&record, "gc", "mastodon", &posts, "{}")
            .expect("plan");
        for (post, id) in thread.posts.iter().zip(["100", "101"]) {
            store
                .mark_sent(
                    &post.key,
                    &RemotePost {
                        id: id.into(),
                        url: Some(format!("https://social.example/@gc/{id}")),
                    },
                )
                .expect("sent");
        }
        (store, thread.id)
    }

    fn status(id: &str, parent: &str, html: &str) -> ServerStatus {
        ServerStatus {
            id: id.into(),
            in_reply_to: Some(parent.into()),
            author_id: "7".into(),
            author_handle: "@Alice@Social.Example".into(),
            author_name: "Alice".into(),
            author_url: "https://social.example/@alice".into(),
            author_avatar: None,
            author_bot: false,
            url: format!("https://social.example/@alice/{id}"),
            visibility: "public".into(),
            created_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            edited_at: None,
            content_html: html.into(),
            spoiler_text: String::new(),
        }
    }

    #[test]
    fn engagement_is_a_series_of_changes_with_unknown_counts_kept_unknown() {
        let (store, thread) = posted();
        let at = |secs: i64| DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("time");
        let counts = |likes: u64| Engagement {
            replies: Some(1),
            reposts: Some(0),
            likes: Some(likes),
            quotes: None,
        };
        assert!(store
            .record_engagement(thread, "100", at(0), &counts(2))
            .expect("first"));
        // The same counts again: no row, even with the unknown quote count.
        assert!(!store
            .record_engagement(thread, "100", at(60), &counts(2))
            .expect("same"));
        assert!(store
            .record_engagement(thread, "101", at(60), &counts(2))
            .expect("another post"));
        assert!(store
            .record_engagement(thread, "100", at(120), &counts(5))
            .expect("changed"));
        let record = store
            .announcements_of("2025-10-07-potm")
            .expect("announcements");
        let history = store.engagement_history(&[record[0].id]).expect("history");
        let rows: Vec<(&str, i64, Option<u64>, Option<u64>)> = history
            .iter()
            .map(|r| {
                (
                    r.remote_id.as_str(),
                    r.recorded_at.timestamp() - 1_800_000_000,
                    r.counts.likes,
                    r.counts.quotes,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("100", 0, Some(2), None),
                ("101", 60, Some(2), None),
                ("100", 120, Some(5), None)
            ]
        );
    }

    #[test]
    fn saving_tells_new_edited_unchanged_and_restored_replies_apart() {
        let (store, thread) = posted();
        let first = status("200", "101", "<p>first</p>");
        let save = |s: &ServerStatus| {
            store
                .save_reply(thread, "gc", s, ReplySource::Context, None)
                .expect("save")
        };
        assert_eq!(save(&first), Saved::Added);
        assert_eq!(save(&first), Saved::Unchanged);
        let mut edited = first.clone();
        edited.content_html = "<p>second</p>".into();
        edited.edited_at = Some(first.created_at + chrono::Duration::minutes(5));
        assert_eq!(save(&edited), Saved::Edited);
        let mut avatar = edited.clone();
        avatar.author_avatar = Some("https://social.example/a.png".into());
        assert_eq!(save(&avatar), Saved::Unchanged, "a new avatar is no edit");

        let record = store
            .reply_by_remote("gc", "200")
            .expect("load")
            .expect("recorded");
        assert_eq!(record.status, avatar);
        store.mark_reply_deleted(record.id).expect("deleted");
        assert!(store
            .reply(record.id)
            .expect("load")
            .expect("recorded")
            .deleted_at
            .is_some());
        assert_eq!(save(&avatar), Saved::Restored);
        assert_eq!(store.thread_replies(thread).expect("replies").len(), 1);
        assert_eq!(
            store.thread_of_post("gc", "101").expect("post"),
            Some(thread)
        );
        assert_eq!(store.thread_of_post("other", "101").expect("post"), None);
    }

    #[test]
    fn rules_hide_new_replies_but_never_overrule_a_moderator() {
        let (store, thread) = posted();
        let spam = status("200", "100", "<p>spam</p>");
        store
            .save_reply(thread, "gc", &spam, ReplySource::Context, Some("spam"))
            .expect("save");
        let record = store
            .reply_by_remote("gc", "200")
            .expect("load")
            .expect("some");
        let hiding = record.hidden.clone().expect("hidden by the rule");
        assert_eq!(
            (hiding.by.as_str(), hiding.reason.as_deref()),
            ("rule", Some("spam"))
        );

        store
            .set_reply_hidden(record.id, false, "ann", None)
            .expect("unhide");
        let mut edited = spam.clone();
        edited.content_html = "<p>still spam</p>".into();
        store
            .save_reply(thread, "gc", &edited, ReplySource::Context, Some("spam"))
            .expect("save");
        let record = store.reply(record.id).expect("load").expect("some");
        assert!(
            record.hidden.is_none() && record.moderated,
            "the moderator decided"
        );

        let fine = status("201", "100", "<p>fine</p>");
        store
            .save_reply(thread, "gc", &fine, ReplySource::Mention, None)
            .expect("save");
        let mut now_spam = fine.clone();
        now_spam.content_html = "<p>spam now</p>".into();
        store
            .save_reply(thread, "gc", &now_spam, ReplySource::Context, Some("spam"))
            .expect("save");
        let record = store
            .reply_by_remote("gc", "201")
            .expect("load")
            .expect("some");
        assert!(
            record.hidden.is_some(),
            "an edit that matches a rule is hidden"
        );
        assert_eq!(
            record.source,
            ReplySource::Mention,
            "found first as a mention"
        );
    }

    #[test]
    fn hidden_authors_match_any_spelling_of_the_handle() {
        let (store, thread) = posted();
        store
            .save_reply(
                thread,
                "gc",
                &status("200", "100", "x"),
                ReplySource::Context,
                None,
            )
            .expect("save");
        assert!(store
            .hide_author("alice@social.example", "ann", Some("troll"))
            .expect("hide"));
        assert!(!store
            .hide_author("@ALICE@social.example", "bob", None)
            .expect("again"));
        let record = store
            .reply_by_remote("gc", "200")
            .expect("load")
            .expect("some");
        assert!(record.author_hidden && record.is_hidden() && record.hidden.is_none());
        let authors = store.hidden_authors().expect("authors");
        assert_eq!(authors.len(), 1);
        assert_eq!(
            (authors[0].handle.as_str(), authors[0].by.as_str()),
            ("alice@social.example", "ann")
        );
        assert!(store
            .unhide_author("@alice@social.example")
            .expect("unhide"));
        assert!(!store.unhide_author("alice@social.example").expect("twice"));
        assert!(!store
            .reply(record.id)
            .expect("load")
            .expect("some")
            .is_hidden());
    }

    #[test]
    fn an_answer_is_begun_once_only() {
        let (store, thread) = posted();
        store
            .save_reply(
                thread,
                "gc",
                &status("200", "101", "?"),
                ReplySource::Context,
                None,
            )
            .expect("save");
        let id = store
            .reply_by_remote("gc", "200")
            .expect("load")
            .expect("some")
            .id;
        assert!(store.begin_answer(id).expect("begin"));
        assert!(!store.begin_answer(id).expect("begin again"));
        assert!(store.answer_ids("gc").expect("ids").is_empty());
        store
            .finish_answer(
                id,
                &RemotePost {
                    id: "300".into(),
                    url: None,
                },
            )
            .expect("finish");
        assert_eq!(store.answer_ids("gc").expect("ids"), ["300"]);
        let announcement = store
            .announcement(&announcement().url)
            .expect("load")
            .expect("recorded");
        assert_eq!(
            store.answers(&[announcement.id]).expect("answers"),
            [AnswerLink {
                account: "gc".into(),
                remote_id: "300".into(),
                in_reply_to: "200".into()
            }]
        );
        assert!(store.answer_ids("other").expect("ids").is_empty());
    }

    #[test]
    fn watched_threads_follow_the_window_and_record_checks() {
        let (store, thread) = posted();
        let long_ago = Utc::now() - chrono::Duration::days(1);
        let watched = store.watched_threads(long_ago).expect("watched");
        assert_eq!(watched.len(), 1);
        assert_eq!(watched[0].thread.id, thread);
        assert_eq!(watched[0].checked_at, None);
        assert!(store
            .watched_threads(Utc::now() + chrono::Duration::minutes(1))
            .expect("watched")
            .is_empty());

        let at = Utc::now();
        store
            .mark_thread_checked(thread, at, Some(long_ago))
            .expect("checked");
        store
            .mark_thread_checked(thread, at, None)
            .expect("checked");
        let watched = store.watched_threads(long_ago).expect("watched");
        assert!(watched[0].checked_at.is_some());
        assert_eq!(
            watched[0].activity_at.map(|t| t.timestamp_millis()),
            Some(long_ago.timestamp_millis()),
            "a check without activity keeps the last one"
        );

        assert_eq!(store.mention_cursor("gc").expect("cursor"), None);
        store.set_mention_cursor("gc", "55").expect("set");
        store.set_mention_cursor("gc", "56").expect("set");
        assert_eq!(
            store.mention_cursor("gc").expect("cursor").as_deref(),
            Some("56")
        );

        let url = &announcement().url;
        assert_eq!(store.announcements_of(url).expect("by url").len(), 1);
        assert_eq!(
            store
                .announcements_of("2025-10-07-potm")
                .expect("by slug")
                .len(),
            1
        );
        assert!(store.announcements_of("nope").expect("none").is_empty());
        assert_eq!(store.announced_posts().expect("posts").len(), 1);
    }
}
