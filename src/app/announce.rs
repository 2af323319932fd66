//! `papercast announce`: what to do with a post on each account is decided first
//! (pure: [`already_announced`], [`decide`]), then done ([`App::announce`]); a dry run
//! ([`dry_run`]) shows the plan and writes nothing, not even a database.

use super::{targets, App, AppError, Drafting, Posting, Secrets};
use crate::compose::{self, ComposeOptions, Templates};
use crate::config::{AccountConfig, Config};
use crate::model::{Announcement, LengthRules};
use crate::publish::{plan, Preview, Publisher};
use crate::queue::{self, DraftState, DraftSummary};
use crate::store::{Store, ThreadRecord};
use chrono::{DateTime, Utc};

/// How `announce` was asked to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    /// Show what would be posted; post and record nothing.
    pub dry_run: bool,
    /// Post a new thread even though the post was announced before.
    pub again: bool,
    /// Post at once, even to accounts whose threads wait for review.
    pub now: bool,
}

/// Why an account's draft is not posted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    Review {
        id: i64,
    },
    Rejected {
        id: i64,
        by: Option<String>,
        reason: Option<String>,
    },
    Scheduled {
        id: i64,
        at: Option<DateTime<Utc>>,
    },
}

/// What to do with one account's draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Wait(Waiting),
    /// Post it, approving it first where it is not approved yet.
    Post {
        approve: bool,
    },
}

/// What became of one account.
#[derive(Debug)]
pub enum AccountOutcome {
    Waiting(Waiting),
    /// The draft `id` was handed to the publisher.
    Posted {
        id: i64,
        posting: Posting,
    },
    Failed(AppError),
}

/// What `announce` did.
#[derive(Debug)]
pub enum Announced {
    /// Every account has the post's complete thread already; nothing was done.
    Already(Vec<ThreadRecord>),
    /// Each account's outcome, in the order asked.
    Accounts(Vec<(String, AccountOutcome)>),
}

/// Each account's complete thread, when every account has one (nothing to post).
pub fn already_announced(
    threads: &[ThreadRecord],
    accounts: &[&AccountConfig],
) -> Option<Vec<ThreadRecord>> {
    let done: Vec<ThreadRecord> = accounts
        .iter()
        .filter_map(|account| {
            threads
                .iter()
                .find(|t| t.account == account.name && plan::plan(t).is_complete())
                .cloned()
        })
        .collect();
    (done.len() == accounts.len()).then_some(done)
}

/// What to do with an account's draft: a draft waiting for review, rejected or
/// scheduled waits (unless `now`); any other is posted, approved first unless it is
/// approved or posted already (announcing a failed one again is a re-approval).
pub fn decide(draft: &DraftSummary, now: bool) -> Step {
    let id = draft.id;
    match draft.state {
        DraftState::Pending if !now => Step::Wait(Waiting::Review { id }),
        DraftState::Rejected if !now => Step::Wait(Waiting::Rejected {
            id,
            by: draft.decided_by.clone(),
            reason: draft.reason.clone(),
        }),
        DraftState::Scheduled if !now => Step::Wait(Waiting::Scheduled {
            id,
            at: draft.scheduled_at,
        }),
        DraftState::Approved | DraftState::Posted => Step::Post { approve: false },
        _ => Step::Post { approve: true },
    }
}

impl App {
    /// Records `announcement`, drafts it for each account, and posts each draft that
    /// [`decide`] says to post; unless `again`, a post complete on every account is
    /// left alone.
    pub async fn announce(
        &self,
        announcement: &Announcement,
        accounts: &[&AccountConfig],
        request: Request,
        actor: &str,
    ) -> Result<Announced, AppError> {
        if !request.again {
            if let Some(recorded) = self.store.announcement(&announcement.url)? {
                let threads = self.store.threads(recorded.id)?;
                if let Some(done) = already_announced(&threads, accounts) {
                    return Ok(Announced::Already(done));
                }
            }
        }
        let recorded = self
            .store
            .record_announcement(announcement, request.again)?;
        let how = Drafting {
            origin: "announce",
            actor,
            approve: request.now,
        };
        let mut outcomes = Vec::new();
        for drafted in self.draft(&recorded, accounts, how).await {
            let outcome = match drafted.result {
                Ok((draft, _)) => self.carry_out(&draft, request.now, actor).await,
                Err(error) => AccountOutcome::Failed(error),
            };
            outcomes.push((drafted.account, outcome));
        }
        Ok(Announced::Accounts(outcomes))
    }

    async fn carry_out(&self, draft: &DraftSummary, now: bool, actor: &str) -> AccountOutcome {
        let approve = match decide(draft, now) {
            Step::Wait(waiting) => return AccountOutcome::Waiting(waiting),
            Step::Post { approve } => approve,
        };
        if approve {
            let request = queue::Request::new(draft.id, actor);
            if let Err(error) = queue::approve(self.store.as_ref(), &request, None) {
                return AccountOutcome::Failed(error.into());
            }
        }
        match self.post_draft(draft.id, actor).await {
            Ok(posting) => AccountOutcome::Posted {
                id: draft.id,
                posting,
            },
            Err(error) => AccountOutcome::Failed(error),
        }
    }
}

/// What `announce` would post on each account, reading `store` (when there is one)
/// for what was posted before and writing nothing. Accounts whose secret cannot be
/// read are still shown (with their server's public limits).
pub async fn dry_run(
    config: &Config,
    store: Option<&dyn Store>,
    announcement: &Announcement,
    accounts: &[&AccountConfig],
    again: bool,
) -> Result<Vec<Preview>, AppError> {
    let templates =
        Templates::from_config(&config.compose.templates_dir).map_err(AppError::Templates)?;
    let options = ComposeOptions::from_config(&config.compose);
    let composer =
        |rules: &LengthRules| compose::compose(announcement, &templates, rules, &options);
    let recorded = match store {
        Some(store) if !again => store.announcement(&announcement.url)?,
        _ => None,
    };
    let recorded = store.zip(recorded.as_ref());
    let targets = targets(config, accounts, Secrets::IfReadable);
    Ok(Publisher::preview(recorded, targets, &composer).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(state: DraftState) -> DraftSummary {
        let now = Utc::now();
        DraftSummary {
            id: 7,
            announcement_id: 1,
            post_url: "https://blog.example/p/".into(),
            post_title: "P".into(),
            account: "gc".into(),
            platform: crate::model::PlatformKind::Mastodon,
            state,
            scheduled_at: None,
            post_count: 3,
            sent: 0,
            origin: "announce".into(),
            decided_by: Some("ann".into()),
            decided_at: None,
            reason: Some("not ours".into()),
            last_error: None,
            next_attempt_at: None,
            link: None,
            edits: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn a_draft_waiting_for_a_moderator_waits_unless_now() {
        assert_eq!(
            decide(&draft(DraftState::Pending), false),
            Step::Wait(Waiting::Review { id: 7 })
        );
        assert_eq!(
            decide(&draft(DraftState::Rejected), false),
            Step::Wait(Waiting::Rejected {
                id: 7,
                by: Some("ann".into()),
                reason: Some("not ours".into())
            })
        );
        for state in [
            DraftState::Pending,
            DraftState::Rejected,
            DraftState::Scheduled,
        ] {
            assert_eq!(decide(&draft(state), true), Step::Post { approve: true });
        }
    }

    #[test]
    fn an_approved_or_posted_draft_is_posted_without_approving_it_again() {
        for state in [DraftState::Approved, DraftState::Posted] {
            assert_eq!(decide(&draft(state), false), Step::Post { approve: false });
        }
        assert_eq!(
            decide(&draft(DraftState::Failed), false),
            Step::Post { approve: true },
            "announcing a failed draft again approves it again"
        );
    }
}
