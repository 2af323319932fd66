//! Reading the blog's feed (RSS 2.0, Atom or JSON Feed): polite polling with
//! conditional GET, and the pure choice of which entries are new.

pub use crate::model::{FeedEntry, Validators};
use thiserror::Error;

/// The outcome of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedPoll {
    /// The server answered 304: nothing changed, nothing parsed.
    NotModified,
    /// A new version of the feed, newest entries first as the feed lists them.
    Fetched {
        entries: Vec<FeedEntry>,
        validators: Validators,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("{url}: not a readable RSS, Atom or JSON feed ({reason})")]
    Malformed { url: String, reason: String },
    #[error("{url}: the feed has entries without a link: {titles}")]
    EntryWithoutLink { url: String, titles: String },
}

/// Parses a feed document (pure).
pub fn parse_feed(bytes: &[u8], feed_url: &str) -> Result<Vec<FeedEntry>, FeedError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url))
        .id_generator(|links, title, _| match links.first() {
            Some(link) => link.href.clone(),
            None => title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default(),
        })
        .build();
    let feed = parser.parse(bytes).map_err(|e| FeedError::Malformed {
        url: feed_url.into(),
        reason: e.to_string(),
    })?;

    let mut entries = Vec::with_capacity(feed.entries.len());
    let mut without_link = Vec::new();
    for entry in feed.entries {
        let title = entry
            .title
            .map(|t| t.content.trim().to_owned())
            .unwrap_or_default();
        let Some(link) = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        else {
            without_link.push(title);
            continue;
        };
        entries.push(FeedEntry {
            id: entry.id,
            url: link.href.clone(),
            title,
            categories: entry.categories.into_iter().map(|c| c.term).collect(),
            published: entry.published.or(entry.updated).map(|t| t.to_rfc3339()),
        });
    }
    if !without_link.is_empty() {
        return Err(FeedError::EntryWithoutLink {
            url: feed_url.into(),
            titles: without_link.join("; "),
        });
    }
    Ok(entries)
}

impl FeedEntry {
    /// Whether the entry belongs to one of `categories` (compared without case);
    /// an empty list accepts every entry.
    pub fn in_categories(&self, categories: &[String]) -> bool {
        categories.is_empty()
            || self.categories.iter().any(|have| {
                categories
                    .iter()
                    .any(|want| want.eq_ignore_ascii_case(have))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_file(name: &str) -> Vec<u8> {
        let dir = std::env::var_os("PAPERCAST_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/corpus/graphcore-research")
            });
        let path = dir.join("site").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    const FEED_URL: &str = "https://graphcore-research.github.io/feed_rss_created.xml";

    #[test]
    fn rss_and_json_feeds_of_the_corpus_agree() {
        let rss = parse_feed(&corpus_file("feed_rss_created.xml"), FEED_URL).expect("rss");
        let json = parse_feed(&corpus_file("feed_json_created.json"), FEED_URL).expect("json");
        assert_eq!(rss.len(), 20);
        let urls =
            |entries: &[FeedEntry]| entries.iter().map(|e| e.url.clone()).collect::<Vec<_>>();
        assert_eq!(urls(&rss), urls(&json));
        let potm = |entries: &[FeedEntry]| {
            entries
                .iter()
                .filter(|e| e.in_categories(&["Papers of the Month".to_string()]))
                .map(|e| e.url.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(potm(&rss), potm(&json));
        assert!(
            potm(&rss).iter().all(|url| url.ends_with("-potm/")),
            "{:?}",
            potm(&rss)
        );
        assert!(potm(&rss).len() < rss.len(), "articles are filtered out");
    }

    #[test]
    fn rss_entries_carry_guid_title_and_categories() {
        let rss = parse_feed(&corpus_file("feed_rss_created.xml"), FEED_URL).expect("rss");
        let first = &rss[0];
        assert_eq!(
            first.id,
            "https://graphcore-research.github.io/2026-05-04-stochastic-rounding/"
        );
        assert_eq!(first.title, "Stochastic Rounding");
        assert!(first.categories.contains(&"Articles".to_string()));
        assert!(first
            .published
            .as_deref()
            .is_some_and(|p| p.starts_with("2026-05-04")));
    }

    #[test]
    fn a_malformed_feed_says_so() {
        let mut bytes = corpus_file("feed_rss_created.xml");
        bytes.truncate(bytes.len() / 3);
        bytes.extend_from_slice(b"</oops>");
        let error = parse_feed(&bytes, FEED_URL).expect_err("malformed");
        assert!(matches!(error, FeedError::Malformed { .. }), "{error}");
        assert!(error.to_string().contains(FEED_URL));
        let error = parse_feed(b"<html><body>Not found</body></html>", FEED_URL).expect_err("html");
        assert!(error.to_string().contains(FEED_URL), "{error}");
    }
}
