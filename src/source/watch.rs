//! Deciding what a feed poll means (pure): which entries are new, which to announce,
//! and what the first run records without announcing.

use super::feed::FeedEntry;

/// What to do after a poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchPlan {
    /// Entries to record as seen without announcing them (first run, other categories,
    /// or older than the backfill).
    pub record_only: Vec<FeedEntry>,
    /// Entries to announce, oldest first (the order they were published).
    pub announce: Vec<FeedEntry>,
}

/// How the watcher treats a poll.
#[derive(Debug, Clone, Default)]
pub struct WatchRules {
    /// Entries to announce; empty = all.
    pub categories: Vec<String>,
    /// Whether this source has never been polled successfully before.
    pub first_run: bool,
    /// On the first run, announce the newest this-many matching entries.
    pub backfill: usize,
}

/// Splits a poll's entries into those to announce and those only to record.
///
/// `known` says whether an entry was seen before, by id or canonical URL, so that an
/// edited entry (new title, new date) is not taken for a new one. On the first run
/// nothing is announced but the newest `backfill` matching entries: a new bot must
/// not flood its account with the blog's history.
pub fn plan(
    entries: &[FeedEntry],
    known: impl Fn(&FeedEntry) -> bool,
    rules: &WatchRules,
) -> WatchPlan {
    let mut plan = WatchPlan::default();
    let mut backfill_left = if rules.first_run { rules.backfill } else { 0 };
    // Feeds list newest first; sort so that "newest N" does not depend on that habit.
    let mut fresh: Vec<&FeedEntry> = entries.iter().filter(|e| !known(e)).collect();
    fresh.sort_by(|a, b| b.published.cmp(&a.published));
    let mut seen_ids = std::collections::HashSet::new();
    for entry in fresh {
        if !seen_ids.insert((&entry.id, &entry.url)) {
            continue;
        }
        let wanted = entry.in_categories(&rules.categories);
        if wanted && !rules.first_run {
            plan.announce.push(entry.clone());
        } else if wanted && backfill_left > 0 {
            backfill_left -= 1;
            plan.announce.push(entry.clone());
        } else {
            plan.record_only.push(entry.clone());
        }
    }
    plan.announce.reverse();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, date: &str, category: &str) -> FeedEntry {
        FeedEntry {
            id: format!("https://blog.example/{id}/"),
            url: format!("https://blog.example/{id}/"),
            title: id.to_uppercase(),
            categories: vec![category.into()],
            published: Some(format!("{date}T00:00:00+00:00")),
        }
    }

    fn feed() -> Vec<FeedEntry> {
        vec![
            entry("d", "2026-04-01", "Papers of the Month"),
            entry("c", "2026-03-01", "Articles"),
            entry("b", "2026-02-01", "Papers of the Month"),
            entry("a", "2026-01-01", "Papers of the Month"),
        ]
    }

    fn ids(entries: &[FeedEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.title.as_str()).collect()
    }

    fn potm() -> Vec<String> {
        vec!["Papers of the Month".into()]
    }

    #[test]
    fn the_first_run_announces_nothing_and_records_everything() {
        let rules = WatchRules {
            categories: potm(),
            first_run: true,
            backfill: 0,
        };
        let plan = plan(&feed(), |_| false, &rules);
        assert!(plan.announce.is_empty());
        assert_eq!(ids(&plan.record_only), ["D", "C", "B", "A"]);
    }

    #[test]
    fn backfill_announces_the_newest_matching_entries_oldest_first() {
        let rules = WatchRules {
            categories: potm(),
            first_run: true,
            backfill: 2,
        };
        let plan = plan(&feed(), |_| false, &rules);
        assert_eq!(ids(&plan.announce), ["B", "D"]);
        assert_eq!(ids(&plan.record_only), ["C", "A"]);
    }

    #[test]
    fn later_runs_announce_only_unknown_entries_of_the_categories() {
        let rules = WatchRules {
            categories: potm(),
            first_run: false,
            backfill: 5,
        };
        let known = |e: &FeedEntry| e.title != "D" && e.title != "C";
        let plan = plan(&feed(), known, &rules);
        assert_eq!(ids(&plan.announce), ["D"]);
        assert_eq!(ids(&plan.record_only), ["C"]);
    }

    #[test]
    fn an_edited_entry_is_not_new() {
        let mut edited = feed();
        edited[0].title = "D, now with a better title".into();
        let rules = WatchRules {
            categories: potm(),
            first_run: false,
            backfill: 0,
        };
        let original = feed();
        let known = |e: &FeedEntry| original.iter().any(|o| o.id == e.id || o.url == e.url);
        assert_eq!(plan(&edited, known, &rules), WatchPlan::default());
    }

    #[test]
    fn no_categories_means_every_entry() {
        let rules = WatchRules {
            categories: vec![],
            first_run: false,
            backfill: 0,
        };
        let plan = plan(&feed(), |_| false, &rules);
        assert_eq!(ids(&plan.announce), ["A", "B", "C", "D"]);
    }
}
