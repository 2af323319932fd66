//! What is left to do for a recorded thread (pure): the "decide" half of publishing.

use crate::store::{PostState, RemotePost, ThreadRecord, ThreadState};

/// One step for one post of a thread, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// On the server already; later posts reply to it.
    Keep { index: usize, remote: RemotePost },
    /// Sent before without a clear answer: look for it, and send it only if it is not
    /// there.
    Check { index: usize },
    /// Never sent: send it.
    Send { index: usize },
}

impl Step {
    pub fn index(&self) -> usize {
        match self {
            Step::Keep { index, .. } | Step::Check { index } | Step::Send { index } => *index,
        }
    }
}

/// The steps that complete a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// How many posts are (or may be) still to send.
    pub fn remaining(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| !matches!(s, Step::Keep { .. }))
            .count()
    }

    /// Whether the thread is complete on the server.
    pub fn is_complete(&self) -> bool {
        self.remaining() == 0
    }
}

/// Decides what to do for each post. A post sent earlier keeps its place; each other
/// post will reply to the one before it, which by then exists.
pub fn plan(thread: &ThreadRecord) -> Plan {
    let steps = thread
        .posts
        .iter()
        .map(|post| match (post.state, &post.remote) {
            (PostState::Sent, Some(remote)) => Step::Keep {
                index: post.index,
                remote: remote.clone(),
            },
            // A post marked sent without an id cannot be replied to: find it again.
            (PostState::Sent, None) | (PostState::Sending, _) => Step::Check { index: post.index },
            (PostState::Pending, _) => Step::Send { index: post.index },
        })
        .collect();
    Plan { steps }
}

/// How a thread's state reads to a person.
pub fn describe(thread: &ThreadRecord) -> &'static str {
    match thread.state {
        ThreadState::Planned => "planned, nothing sent yet",
        ThreadState::Posting => "half-posted",
        ThreadState::Posted => "posted",
        ThreadState::Failed => "stopped by an error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PostRecord;

    fn post(index: usize, state: PostState, remote: Option<&str>) -> PostRecord {
        PostRecord {
            index,
            key: format!("a.0/gc/{index}"),
            role: "{}".into(),
            text: format!("post {index}"),
            links: vec![],
            images: vec![],
            state,
            attempts: u32::from(state != PostState::Pending),
            sending_at: None,
            last_sent_at: None,
            remote: remote.map(|id| RemotePost {
                id: id.into(),
                url: None,
            }),
        }
    }

    fn thread(posts: Vec<PostRecord>) -> ThreadRecord {
        ThreadRecord {
            id: 1,
            announcement_id: 1,
            account: "gc".into(),
            platform: crate::model::PlatformKind::Mastodon,
            state: ThreadState::Posting,
            last_error: None,
            posts,
        }
    }

    #[test]
    fn a_fresh_thread_sends_everything() {
        let plan = plan(&thread(vec![
            post(0, PostState::Pending, None),
            post(1, PostState::Pending, None),
        ]));
        assert_eq!(
            plan.steps,
            [Step::Send { index: 0 }, Step::Send { index: 1 }]
        );
        assert_eq!(plan.remaining(), 2);
    }

    #[test]
    fn a_half_posted_thread_keeps_what_exists_and_checks_the_unknown() {
        let plan = plan(&thread(vec![
            post(0, PostState::Sent, Some("10")),
            post(1, PostState::Sent, Some("11")),
            post(2, PostState::Sending, None),
            post(3, PostState::Pending, None),
        ]));
        assert_eq!(
            plan.steps,
            [
                Step::Keep {
                    index: 0,
                    remote: RemotePost {
                        id: "10".into(),
                        url: None
                    }
                },
                Step::Keep {
                    index: 1,
                    remote: RemotePost {
                        id: "11".into(),
                        url: None
                    }
                },
                Step::Check { index: 2 },
                Step::Send { index: 3 },
            ]
        );
        assert_eq!(plan.remaining(), 2);
        assert!(!plan.is_complete());
    }

    #[test]
    fn a_complete_thread_has_nothing_left() {
        let plan = plan(&thread(vec![
            post(0, PostState::Sent, Some("10")),
            post(1, PostState::Sent, Some("11")),
        ]));
        assert!(plan.is_complete());
    }
}
