//! What each post and each paper drew: the counts recorded at every sync (replies,
//! reposts, likes, quotes) per network and in total, and their course over the days
//! after posting. [`build`] is pure; [`report`] and [`reports`] read the store.
//!
//! A count a network does not give stays unknown (`None`, shown as "n/a"), never 0;
//! a total adds up the counts that are known.

use super::discussions;
use crate::discuss::{PostedPost, Subject};
use crate::model::{Announcement, Engagement, PlatformKind};
use crate::store::{EngagementRecord, ReplyStore, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Counts added up over posts or networks; `None` where no post gave that number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub replies: Option<u64>,
    pub reposts: Option<u64>,
    pub likes: Option<u64>,
    pub quotes: Option<u64>,
    pub total: Option<u64>,
}

impl Counts {
    fn add(&mut self, counts: &Engagement) {
        let sum = |a: &mut Option<u64>, b: Option<u64>| {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0) + b);
            }
        };
        sum(&mut self.replies, counts.replies);
        sum(&mut self.reposts, counts.reposts);
        sum(&mut self.likes, counts.likes);
        sum(&mut self.quotes, counts.quotes);
        sum(&mut self.total, counts.total());
    }

    fn merge(&mut self, other: &Counts) {
        self.add(&Engagement {
            replies: other.replies,
            reposts: other.reposts,
            likes: other.likes,
            quotes: other.quotes,
        });
    }

    /// The counts as shown: a number, or "n/a".
    pub fn cells(&self) -> [String; 5] {
        [
            self.replies,
            self.reposts,
            self.likes,
            self.quotes,
            self.total,
        ]
        .map(|n| n.map_or_else(|| "n/a".to_owned(), |n| n.to_string()))
    }
}

/// One account's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkCounts {
    pub account: String,
    pub platform: PlatformKind,
    pub counts: Counts,
}

/// The counts of the whole post (head and closing posts) or of one paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectReport {
    /// `post`, or the paper's anchor.
    pub about: String,
    pub title: String,
    pub networks: Vec<NetworkCounts>,
    pub total: Counts,
    /// Replies in the published discussion.
    pub discussion_replies: usize,
}

/// A point of a series: the total drawn so far, `days` after posting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub days: f64,
    pub total: u64,
}

/// One subject's total over time (every network), one point per recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub about: String,
    pub title: String,
    pub points: Vec<Point>,
}

/// What one post drew.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostReport {
    pub post_url: String,
    pub slug: String,
    pub title: String,
    /// When its threads were posted (RFC 3339).
    pub posted_at: String,
    /// The whole post per network, and in total.
    pub networks: Vec<NetworkCounts>,
    pub total: Counts,
    /// Replies in the published discussion, all subjects.
    pub discussion_replies: usize,
    pub subjects: Vec<SubjectReport>,
    /// Each paper's course over the days after posting (the post's own line first).
    pub series: Vec<Series>,
}

/// A thread post with what it is about, in its thread.
#[derive(Debug, Clone)]
pub struct CountedPost {
    pub thread_id: i64,
    pub post: PostedPost,
}

/// Builds the report of a post from its thread posts, the recorded rows of counts,
/// and the number of published replies per subject.
pub fn build(
    post: &Announcement,
    slug: &str,
    posted_at: DateTime<Utc>,
    posts: &[CountedPost],
    rows: &[EngagementRecord],
    replies: &HashMap<Subject, usize>,
) -> PostReport {
    let subject_of = |role| match role {
        crate::compose::PostRole::Paper { position } => Subject::Paper(position),
        _ => Subject::Post,
    };
    let by_post: HashMap<(i64, &str), &CountedPost> = posts
        .iter()
        .map(|p| ((p.thread_id, p.post.remote_id.as_str()), p))
        .collect();
    let mut accounts: Vec<(String, PlatformKind)> = Vec::new();
    for p in posts {
        if !accounts.iter().any(|(a, _)| *a == p.post.account) {
            accounts.push((p.post.account.clone(), p.post.platform));
        }
    }
    accounts.sort_by_key(|(account, platform)| {
        let network = PlatformKind::ALL.iter().position(|k| k == platform);
        (network, account.clone())
    });

    // The latest counts per thread post, and the course of each subject's total.
    let mut latest: HashMap<(i64, &str), Engagement> = HashMap::new();
    let mut courses: HashMap<Subject, Vec<Point>> = HashMap::new();
    let mut ordered: Vec<&EngagementRecord> = rows.iter().collect();
    ordered.sort_by_key(|r| r.recorded_at);
    for row in ordered {
        let key = (row.thread_id, row.remote_id.as_str());
        let Some(counted) = by_post.get(&key) else {
            continue;
        };
        latest.insert(key, row.counts);
        let subject = subject_of(counted.post.role);
        let total: u64 = latest
            .iter()
            .filter(|(k, _)| {
                by_post
                    .get(*k)
                    .is_some_and(|p| subject_of(p.post.role) == subject)
            })
            .filter_map(|(_, e)| e.total())
            .sum();
        let days = (row.recorded_at - posted_at).num_seconds() as f64 / 86_400.0;
        let course = courses.entry(subject).or_default();
        match course.last_mut() {
            Some(last) if last.days == days => last.total = total,
            _ => course.push(Point { days, total }),
        }
    }

    let subject_counts = |subject: Subject| -> (Vec<NetworkCounts>, Counts) {
        let mut total = Counts::default();
        let networks = accounts
            .iter()
            .map(|(account, platform)| {
                let mut counts = Counts::default();
                for p in posts
                    .iter()
                    .filter(|p| p.post.account == *account && subject_of(p.post.role) == subject)
                {
                    if let Some(e) = latest.get(&(p.thread_id, p.post.remote_id.as_str())) {
                        counts.add(e);
                    }
                }
                total.merge(&counts);
                NetworkCounts {
                    account: account.clone(),
                    platform: *platform,
                    counts,
                }
            })
            .collect();
        (networks, total)
    };
    let mut subjects = Vec::new();
    let mut series = Vec::new();
    let all_subjects = std::iter::once((Subject::Post, "post".to_owned(), post.title.clone()))
        .chain(post.papers.iter().map(|p| {
            (
                Subject::Paper(p.position),
                p.anchor.clone(),
                p.title.clone(),
            )
        }));
    for (subject, about, title) in all_subjects {
        let (networks, total) = subject_counts(subject);
        subjects.push(SubjectReport {
            about: about.clone(),
            title: title.clone(),
            networks,
            total,
            discussion_replies: replies.get(&subject).copied().unwrap_or(0),
        });
        series.push(Series {
            about,
            title,
            points: courses.remove(&subject).unwrap_or_default(),
        });
    }
    let networks: Vec<NetworkCounts> = accounts
        .iter()
        .map(|(account, platform)| {
            let mut counts = Counts::default();
            for subject in &subjects {
                if let Some(n) = subject.networks.iter().find(|n| n.account == *account) {
                    counts.merge(&n.counts);
                }
            }
            NetworkCounts {
                account: account.clone(),
                platform: *platform,
                counts,
            }
        })
        .collect();
    let mut total = Counts::default();
    for n in &networks {
        total.merge(&n.counts);
    }
    PostReport {
        post_url: post.url.clone(),
        slug: slug.to_owned(),
        title: post.title.clone(),
        posted_at: posted_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        networks,
        total,
        discussion_replies: replies.values().sum(),
        subjects,
        series,
    }
}

/// The report of the post whose URL or slug is `key`; `None` when no thread of it
/// was posted.
pub fn report(store: &dyn ReplyStore, key: &str) -> Result<Option<PostReport>, StoreError> {
    let announcements = store.announcements_of(key)?;
    let Some(latest) = announcements.last() else {
        return Ok(None);
    };
    let mut posts = Vec::new();
    for announcement in &announcements {
        for thread in store.threads(announcement.id)? {
            posts.extend(
                super::posted_posts(&thread)
                    .into_iter()
                    .map(|post| CountedPost {
                        thread_id: thread.id,
                        post,
                    }),
            );
        }
    }
    if posts.is_empty() {
        return Ok(None);
    }
    let ids: Vec<i64> = announcements.iter().map(|a| a.id).collect();
    let rows = store.engagement_history(&ids)?;
    let mut replies: HashMap<Subject, usize> = HashMap::new();
    if let Some(discussion) = discussions::discussion(store, key)? {
        replies.insert(Subject::Post, discussion.replies.len());
        for (paper, discussed) in latest.announcement.papers.iter().zip(&discussion.papers) {
            replies.insert(Subject::Paper(paper.position), discussed.replies.len());
        }
    }
    let posted_at = announcements
        .first()
        .and_then(|a| a.announced_at)
        .unwrap_or(latest.created_at);
    Ok(Some(build(
        &latest.announcement,
        &latest.slug,
        posted_at,
        &posts,
        &rows,
        &replies,
    )))
}

/// The reports of every announced post, newest first.
pub fn reports(store: &dyn ReplyStore) -> Result<Vec<PostReport>, StoreError> {
    let mut all = Vec::new();
    for post in store.announced_posts()? {
        if let Some(report) = report(store, &post.url)? {
            all.push(report);
        }
    }
    all.sort_by(|a, b| b.posted_at.cmp(&a.posted_at));
    Ok(all)
}

/// The reports as CSV: one row per subject and network, one per subject for all
/// networks, and one for the whole post (`about` = `all`); unknown counts are "n/a".
pub fn to_csv(reports: &[PostReport]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "post_url", "about", "platform", "account", "replies", "reposts", "likes", "quotes",
        "total",
    ])?;
    for report in reports {
        let mut row = |about: &str, platform: &str, account: &str, counts: &Counts| {
            let cells = counts.cells();
            let mut record = vec![report.post_url.as_str(), about, platform, account];
            record.extend(cells.iter().map(String::as_str));
            out.write_record(&record)
        };
        for subject in &report.subjects {
            for n in &subject.networks {
                row(&subject.about, n.platform.as_str(), &n.account, &n.counts)?;
            }
            row(&subject.about, "all", "", &subject.total)?;
        }
        for n in &report.networks {
            row("all", n.platform.as_str(), &n.account, &n.counts)?;
        }
        row("all", "all", "", &report.total)?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::PostRole;
    use crate::model::Paper;

    fn announcement() -> Announcement {
        let paper = |position: usize, anchor: &str| Paper {
            position,
            title: format!("Paper {anchor}"),
            authors: "A. Author".into(),
            orgs: "Lab".into(),
            link: "https://arxiv.org/abs/1".into(),
            anchor: anchor.into(),
            url: format!("https://blog.example/post/#{anchor}"),
            intro_summary: None,
            intro_sentence: None,
            key_idea: "Idea.".into(),
            figure: None,
        };
        Announcement {
            url: "https://blog.example/post/".into(),
            slug: "post".into(),
            title: "October Papers".into(),
            date: "2026-11-01".into(),
            tags: vec![],
            social_image: None,
            intro_theme: None,
            papers: vec![paper(0, "first"), paper(1, "second")],
        }
    }

    fn counted(
        thread: i64,
        account: &str,
        platform: PlatformKind,
        id: &str,
        role: PostRole,
    ) -> CountedPost {
        CountedPost {
            thread_id: thread,
            post: PostedPost {
                account: account.into(),
                platform,
                remote_id: id.into(),
                url: format!("https://{account}.example/{id}"),
                role,
            },
        }
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).expect("time")
    }

    fn row(thread: i64, id: &str, hours: i64, counts: Engagement) -> EngagementRecord {
        EngagementRecord {
            thread_id: thread,
            remote_id: id.into(),
            recorded_at: at(hours),
            counts,
        }
    }

    #[test]
    fn counts_add_up_per_paper_network_and_total_with_unknown_kept_unknown() {
        let paper0 = PostRole::Paper { position: 0 };
        let posts = [
            counted(1, "gc", PlatformKind::Mastodon, "m-head", PostRole::Head),
            counted(1, "gc", PlatformKind::Mastodon, "m-first", paper0),
            counted(
                2,
                "gc-bsky",
                PlatformKind::Bluesky,
                "b-head",
                PostRole::Head,
            ),
            counted(2, "gc-bsky", PlatformKind::Bluesky, "b-first", paper0),
        ];
        let mastodon = |likes| Engagement {
            replies: Some(1),
            reposts: Some(2),
            likes: Some(likes),
            quotes: None,
        };
        let bluesky = Engagement {
            replies: Some(0),
            reposts: Some(1),
            likes: Some(4),
            quotes: Some(1),
        };
        let rows = [
            row(1, "m-first", 1, mastodon(1)),
            row(2, "b-first", 2, bluesky),
            row(1, "m-first", 30, mastodon(3)),
        ];
        let replies = HashMap::from([(Subject::Paper(0), 2)]);
        let report = build(&announcement(), "post", at(0), &posts, &rows, &replies);
        let first = &report.subjects[1];
        assert_eq!(first.about, "first");
        assert_eq!(first.networks[0].platform, PlatformKind::Mastodon);
        assert_eq!(
            first.networks[0].counts,
            Counts {
                replies: Some(1),
                reposts: Some(2),
                likes: Some(3),
                quotes: None,
                total: Some(6)
            }
        );
        assert_eq!(first.networks[1].counts.quotes, Some(1));
        assert_eq!(
            first.total,
            Counts {
                replies: Some(1),
                reposts: Some(3),
                likes: Some(7),
                quotes: Some(1),
                total: Some(12)
            }
        );
        assert_eq!(first.discussion_replies, 2);
        // Nothing recorded for the head nor the second paper: unknown, not zero.
        assert_eq!(report.subjects[0].total, Counts::default());
        assert_eq!(report.subjects[2].total.cells()[4], "n/a");
        assert_eq!(report.total.total, Some(12));
        // The first paper's course: 4 after an hour, 10 after two, 12 after 30 hours.
        let course: Vec<(f64, u64)> = report.series[1]
            .points
            .iter()
            .map(|p| (p.days, p.total))
            .collect();
        assert_eq!(course, [(1.0 / 24.0, 4), (2.0 / 24.0, 10), (1.25, 12)]);
        assert!(report.series[0].points.is_empty());

        let csv = to_csv(&[report]).expect("csv");
        assert!(
            csv.contains("https://blog.example/post/,first,mastodon,gc,1,2,3,n/a,6\n"),
            "{csv}"
        );
        assert!(csv.contains(",second,all,,n/a,n/a,n/a,n/a,n/a\n"), "{csv}");
        assert!(csv.ends_with(",all,all,,1,3,7,1,12\n"), "{csv}");
    }
}
