//! What a moderator may do to a draft in each state, whether an edit fits, and how a
//! time to post at is read (pure).

use crate::platform::LengthRules;
use crate::store::{ReviewState, ThreadState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// Where a draft stands, as the queue shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftState {
    /// Waits for a moderator.
    Pending,
    /// To be posted now, or being posted.
    Approved,
    /// To be posted at its `scheduled_at`.
    Scheduled,
    /// Not to be posted.
    Rejected,
    /// Every post is on the server.
    Posted,
    /// Posting stopped on an error; it is tried again, or waits for a new approval.
    Failed,
}

impl DraftState {
    pub const ALL: [DraftState; 6] = [
        DraftState::Pending,
        DraftState::Approved,
        DraftState::Scheduled,
        DraftState::Rejected,
        DraftState::Posted,
        DraftState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Pending => "pending",
            DraftState::Approved => "approved",
            DraftState::Scheduled => "scheduled",
            DraftState::Rejected => "rejected",
            DraftState::Posted => "posted",
            DraftState::Failed => "failed",
        }
    }

    /// The state shown for a review decision and the thread's posting state: what
    /// happened on the server wins over what was decided.
    pub fn of(review: ReviewState, thread: ThreadState) -> DraftState {
        match (thread, review) {
            (ThreadState::Posted, _) => DraftState::Posted,
            (ThreadState::Failed, _) => DraftState::Failed,
            // Its time came and posting started: it is being posted, as approved.
            (ThreadState::Posting, ReviewState::Scheduled) => DraftState::Approved,
            (_, ReviewState::Pending) => DraftState::Pending,
            (_, ReviewState::Approved) => DraftState::Approved,
            (_, ReviewState::Scheduled) => DraftState::Scheduled,
            (_, ReviewState::Rejected) => DraftState::Rejected,
        }
    }
}

impl fmt::Display for DraftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a moderator does to a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Post it now (again, after a failure).
    Approve,
    /// Post it at a given time.
    Schedule,
    /// Do not post it.
    Reject,
    /// Change the text of its posts.
    Edit,
    /// Read the blog post again and compose the thread afresh.
    Reextract,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Approve,
        Action::Schedule,
        Action::Reject,
        Action::Edit,
        Action::Reextract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Schedule => "schedule",
            Action::Reject => "reject",
            Action::Edit => "edit",
            Action::Reextract => "re-extract",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts about a draft that decide what may be done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub state: DraftState,
    /// How many of its posts are on the server or may be (sent without an answer).
    pub started: usize,
    pub posts: usize,
    /// Another process is posting it right now.
    pub in_flight: bool,
}

/// Says whether `action` is allowed in `situation`, and if not, why (a sentence that
/// also says what can be done instead).
pub fn check(action: Action, situation: &Situation) -> Result<(), String> {
    let Situation {
        state,
        started,
        posts,
        in_flight,
    } = *situation;
    if state == DraftState::Posted {
        return Err("it is posted already; nothing can change it now".into());
    }
    if in_flight {
        return Err(
            "it is being posted right now; wait until that is done (see `papercast queue show`)"
                .into(),
        );
    }
    if started > 0 {
        return match (action, state) {
            (Action::Approve, DraftState::Failed) => Ok(()),
            (Action::Approve, _) => Err(format!(
                "{started} of its {posts} posts are on the server already and the rest \
                 are on their way"
            )),
            (Action::Reject, _) => Err(format!(
                "posting has started ({started} of {posts} posts are on the server); \
                 approve it to finish the thread, or delete those posts on the server"
            )),
            _ => Err(format!(
                "posting has started ({started} of {posts} posts are on the server); \
                 only the rest of the thread can be posted (approve it)"
            )),
        };
    }
    match (action, state) {
        (Action::Reject, DraftState::Rejected) => Err("it is rejected already".into()),
        _ => Ok(()),
    }
}

/// Every action allowed in `situation`, in a fixed order.
pub fn allowed(situation: &Situation) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|action| check(*action, situation).is_ok())
        .collect()
}

/// A post's text that is over its platform's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlong {
    /// From 0.
    pub index: usize,
    pub length: usize,
    pub limit: usize,
    /// `characters` (as the platform counts them) or `bytes`.
    pub unit: &'static str,
}

/// Checks texts against the rules the draft was composed for.
pub fn check_lengths<'a>(
    rules: &LengthRules,
    texts: impl IntoIterator<Item = (usize, &'a str)>,
) -> Result<(), Overlong> {
    for (index, text) in texts {
        let length = rules.count(text);
        if length > rules.max {
            return Err(Overlong {
                index,
                length,
                limit: rules.max,
                unit: "characters",
            });
        }
        if let Some(max) = rules.max_bytes.filter(|max| text.len() > *max) {
            return Err(Overlong {
                index,
                length: text.len(),
                limit: max,
                unit: "bytes",
            });
        }
    }
    Ok(())
}

/// Reads a time to post at: RFC 3339 (`2026-12-01T09:00:00Z`), the same without
/// seconds (`2026-12-01T09:00Z`, `2026-12-01 09:00+01:00`), or a wait from now
/// (`+90m`, `in 2h`). A time without a zone is refused, since it would be a guess.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    let relative = trimmed
        .strip_prefix('+')
        .or_else(|| trimmed.strip_prefix("in "));
    if let Some(wait) = relative {
        let wait = crate::config::parse_duration(wait)?;
        let wait = chrono::Duration::from_std(wait).map_err(|e| e.to_string())?;
        return Ok(now + wait);
    }
    let mut normal = trimmed.replacen(' ', "T", 1);
    if normal.ends_with('Z') || normal.ends_with('z') {
        normal.truncate(normal.len() - 1);
        normal.push_str("+00:00");
    }
    // Insert the seconds when only hours and minutes are given.
    if let Some(t) = normal.find('T') {
        let clock_end = normal[t + 1..]
            .find(['+', '-'])
            .map_or(normal.len(), |i| t + 1 + i);
        if normal[t + 1..clock_end].matches(':').count() == 1 {
            normal.insert_str(clock_end, ":00");
        }
    }
    DateTime::parse_from_rfc3339(&normal)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "`{text}` is not a time; write it like 2026-12-01T09:00Z (UTC), \
                 2026-12-01T10:00+01:00, or +2h for two hours from now"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(state: DraftState, started: usize) -> Situation {
        Situation {
            state,
            started,
            posts: 5,
            in_flight: false,
        }
    }

    #[test]
    fn the_shown_state_puts_the_server_first() {
        use ReviewState as R;
        use ThreadState as T;
        assert_eq!(DraftState::of(R::Pending, T::Planned), DraftState::Pending);
        assert_eq!(
            DraftState::of(R::Approved, T::Posting),
            DraftState::Approved
        );
        assert_eq!(
            DraftState::of(R::Scheduled, T::Planned),
            DraftState::Scheduled
        );
        assert_eq!(
            DraftState::of(R::Rejected, T::Planned),
            DraftState::Rejected
        );
        assert_eq!(DraftState::of(R::Approved, T::Posted), DraftState::Posted);
        assert_eq!(DraftState::of(R::Scheduled, T::Failed), DraftState::Failed);
    }

    #[test]
    fn a_draft_not_yet_posted_can_be_changed_in_every_way() {
        use Action::*;
        for state in [
            DraftState::Pending,
            DraftState::Scheduled,
            DraftState::Failed,
        ] {
            assert_eq!(
                allowed(&situation(state, 0)),
                [Approve, Schedule, Reject, Edit, Reextract],
                "{state}"
            );
        }
        assert_eq!(
            allowed(&situation(DraftState::Rejected, 0)),
            [Approve, Schedule, Edit, Reextract],
            "a rejected draft can be reconsidered"
        );
    }

    #[test]
    fn once_posting_started_only_finishing_is_allowed() {
        assert!(allowed(&situation(DraftState::Approved, 2)).is_empty());
        assert_eq!(
            allowed(&situation(DraftState::Failed, 2)),
            [Action::Approve],
            "a half-posted failed thread can only be retried"
        );
        let why = check(Action::Edit, &situation(DraftState::Failed, 2)).expect_err("edit");
        assert!(why.contains("2 of 5 posts"), "{why}");
        let why = check(Action::Reject, &situation(DraftState::Approved, 1)).expect_err("reject");
        assert!(why.contains("approve it to finish"), "{why}");
    }

    #[test]
    fn a_posted_or_in_flight_draft_is_left_alone() {
        assert!(allowed(&situation(DraftState::Posted, 5)).is_empty());
        let busy = Situation {
            in_flight: true,
            ..situation(DraftState::Approved, 0)
        };
        assert!(allowed(&busy).is_empty());
        assert!(check(Action::Edit, &busy)
            .expect_err("busy")
            .contains("being posted"));
    }

    #[test]
    fn lengths_are_counted_the_platforms_way() {
        let rules = LengthRules::mastodon(500, 23);
        let url = format!("https://example.org/{}", "a".repeat(600));
        // A long URL counts 23: it fits.
        assert_eq!(check_lengths(&rules, [(0, url.as_str())]), Ok(()));
        let long = "é".repeat(501);
        assert_eq!(
            check_lengths(&rules, [(0, "fine"), (1, long.as_str())]),
            Err(Overlong {
                index: 1,
                length: 501,
                limit: 500,
                unit: "characters"
            })
        );
        let bluesky = LengthRules::bluesky();
        // 150 graphemes of 25 bytes each: under 300 graphemes, over 3000 bytes.
        let heavy = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}".repeat(150);
        assert_eq!(
            check_lengths(&bluesky, [(0, heavy.as_str())]),
            Err(Overlong {
                index: 0,
                length: 3750,
                limit: 3000,
                unit: "bytes"
            })
        );
    }

    #[test]
    fn times_read_with_or_without_seconds_and_relative() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .expect("now")
            .with_timezone(&Utc);
        let expect = |text: &str, want: &str| {
            let want = DateTime::parse_from_rfc3339(want)
                .expect("want")
                .with_timezone(&Utc);
            assert_eq!(parse_time(text, now), Ok(want), "{text}");
        };
        expect("2026-12-01T09:00Z", "2026-12-01T09:00:00Z");
        expect("2026-12-01T09:00:30Z", "2026-12-01T09:00:30Z");
        expect("2026-12-01 10:00+01:00", "2026-12-01T09:00:00Z");
        expect("2026-12-01T04:00-05:00", "2026-12-01T09:00:00Z");
        expect("+90m", "2026-11-28T13:30:00Z");
        expect("in 2h", "2026-11-28T14:00:00Z");
        let error = parse_time("2026-12-01T09:00", now).expect_err("no zone");
        assert!(error.contains("2026-12-01T09:00Z"), "{error}");
        assert!(parse_time("tomorrow", now).is_err());
    }
}
