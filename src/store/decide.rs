//! The store's decisions that are not SQL, shared by every backend: what saving a
//! reply changes, whether a rule hides it, whether a claim on a draft is taken, and
//! how post keys are made. Pure: no I/O.

use super::replies::{ReplyRecord, Saved};
use super::review::Claim;
use super::{ServerStatus, StoreError};
use chrono::{DateTime, Utc};

/// What saving a reply must do to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyUpdate {
    /// What the caller is told.
    pub saved: Saved,
    /// The row must be rewritten (anything differs, or it comes back from deletion).
    pub write: bool,
    /// The auto-hide rule hides it now.
    pub hide_by_rule: bool,
}

/// The fields that make a visible difference when they change.
pub fn content_differs(old: &ServerStatus, new: &ServerStatus) -> bool {
    old.content_html != new.content_html
        || old.spoiler_text != new.spoiler_text
        || old.edited_at != new.edited_at
}

/// A reply seen for the first time: hidden when a rule matches it.
pub fn new_reply(rule: Option<&str>) -> ReplyUpdate {
    ReplyUpdate {
        saved: Saved::Added,
        write: true,
        hide_by_rule: rule.is_some(),
    }
}

/// A recorded reply seen again as `current` (its `in_reply_to` set). A rule hides an
/// edit only of a reply that no moderator decided about and that is not hidden yet.
pub fn seen_again(old: &ReplyRecord, current: &ServerStatus, rule: Option<&str>) -> ReplyUpdate {
    let edited = content_differs(&old.status, current);
    let restored = old.deleted_at.is_some();
    ReplyUpdate {
        saved: if restored {
            Saved::Restored
        } else if edited {
            Saved::Edited
        } else {
            Saved::Unchanged
        },
        write: old.status != *current || restored,
        hide_by_rule: rule.is_some() && edited && !old.moderated && old.hidden.is_none(),
    }
}

/// Whether `owner` may take a draft whose claim is held by `holder` until `held_until`:
/// yes when nobody holds it, when `owner` does (a renewal), when the claim ran out by
/// `now`, or when the holder is `take_over` (known to be gone).
pub fn claim(
    holder: Option<&str>,
    held_until: Option<DateTime<Utc>>,
    owner: &str,
    now: DateTime<Utc>,
    take_over: Option<&str>,
) -> Claim {
    match holder {
        None => Claim::Claimed,
        Some(holder) => {
            let expired = held_until.is_none_or(|until| until < now);
            if holder == owner || expired || take_over == Some(holder) {
                Claim::Claimed
            } else {
                Claim::HeldBy(holder.to_owned())
            }
        }
    }
}

/// The key of post `index` of a thread as first planned: `<prefix>/<account>/<index>`.
pub fn post_key(prefix: &str, account: &str, index: usize) -> String {
    key_at(&format!("{prefix}/{account}"), index)
}

/// The key of post `index` of the thread whose keys start with `base` (a fresh
/// composition of posts never sent reuses the keys).
pub fn key_at(base: &str, index: usize) -> String {
    format!("{base}/{index}")
}

/// `<announcement>/<account>` of a post key: what the keys of a thread's new posts
/// start with.
pub fn key_base(key: &str) -> Result<&str, StoreError> {
    key.rsplit_once('/')
        .map(|(base, _)| base)
        .ok_or_else(|| StoreError::Corrupt(format!("post key {key}")))
}

/// The key of post `index` of a rest refitted for the `revision`th time: it differs
/// from the key of the post it replaces, and so does its Idempotency-Key.
pub fn replanned_key(base: &str, index: usize, revision: i64) -> String {
    format!("{base}/{index}~{revision}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Hiding, ReplySource};

    fn status(html: &str) -> ServerStatus {
        ServerStatus {
            id: "200".into(),
            in_reply_to: Some("100".into()),
            author_id: "7".into(),
            author_handle: "@alice@social.example".into(),
            author_name: "Alice".into(),
            author_url: "https://social.example/@alice".into(),
            author_avatar: None,
            author_bot: false,
            url: "https://social.example/@alice/200".into(),
            visibility: "public".into(),
            created_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            edited_at: None,
            content_html: html.into(),
            spoiler_text: String::new(),
        }
    }

    fn record(html: &str) -> ReplyRecord {
        ReplyRecord {
            id: 1,
            thread_id: 1,
            account: "gc".into(),
            status: status(html),
            source: ReplySource::Context,
            first_seen_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            deleted_at: None,
            hidden: None,
            moderated: false,
            author_hidden: false,
        }
    }

    #[test]
    fn an_edit_is_told_from_a_new_avatar_and_a_return() {
        let old = record("<p>a</p>");
        let same = seen_again(&old, &status("<p>a</p>"), None);
        assert_eq!((same.saved, same.write), (Saved::Unchanged, false));
        let mut avatar = status("<p>a</p>");
        avatar.author_avatar = Some("https://social.example/a.png".into());
        let avatar = seen_again(&old, &avatar, Some("spam"));
        assert_eq!(
            (avatar.saved, avatar.write, avatar.hide_by_rule),
            (Saved::Unchanged, true, false),
            "a new avatar is written, but is no edit a rule looks at"
        );
        let edited = seen_again(&old, &status("<p>b</p>"), Some("spam"));
        assert_eq!(
            (edited.saved, edited.write, edited.hide_by_rule),
            (Saved::Edited, true, true)
        );
        let mut deleted = old.clone();
        deleted.deleted_at = Some(old.first_seen_at);
        let back = seen_again(&deleted, &status("<p>a</p>"), None);
        assert_eq!((back.saved, back.write), (Saved::Restored, true));
    }

    #[test]
    fn a_rule_never_overrules_a_moderator_nor_hides_twice() {
        let mut moderated = record("<p>a</p>");
        moderated.moderated = true;
        assert!(!seen_again(&moderated, &status("<p>b</p>"), Some("spam")).hide_by_rule);
        let mut hidden = record("<p>a</p>");
        hidden.hidden = Some(Hiding {
            by: "rule".into(),
            reason: Some("spam".into()),
            at: hidden.first_seen_at,
        });
        assert!(!seen_again(&hidden, &status("<p>b</p>"), Some("spam")).hide_by_rule);
        assert!(new_reply(Some("spam")).hide_by_rule);
        assert!(!new_reply(None).hide_by_rule);
    }

    #[test]
    fn a_claim_is_taken_when_free_own_expired_or_its_holder_is_gone() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let later = now + chrono::Duration::seconds(60);
        assert_eq!(claim(None, None, "a", now, None), Claim::Claimed);
        assert_eq!(
            claim(Some("a"), Some(later), "a", now, None),
            Claim::Claimed
        );
        assert_eq!(
            claim(Some("a"), Some(later), "b", now, None),
            Claim::HeldBy("a".into())
        );
        assert_eq!(
            claim(Some("a"), Some(later), "b", now, Some("a")),
            Claim::Claimed
        );
        assert_eq!(
            claim(Some("a"), Some(later), "b", now, Some("c")),
            Claim::HeldBy("a".into())
        );
        assert_eq!(
            claim(Some("a"), Some(now), "b", later, None),
            Claim::Claimed,
            "ran out"
        );
        assert_eq!(claim(Some("a"), None, "b", now, None), Claim::Claimed);
    }

    #[test]
    fn keys_keep_their_thread_and_change_with_a_refit() {
        let key = post_key("p-12ab.0", "gc", 2);
        assert_eq!(key, "p-12ab.0/gc/2");
        let base = key_base(&key).expect("base");
        assert_eq!(base, "p-12ab.0/gc");
        assert_eq!(replanned_key(base, 2, 1), "p-12ab.0/gc/2~1");
        assert!(key_base("nokey").is_err());
    }
}
