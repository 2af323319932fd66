//! A feed's entries as papercast keeps them, and what a server said about the feed's
//! version.

use serde::{Deserialize, Serialize};

/// One feed entry, reduced to what papercast needs to decide and to fetch the post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The entry's GUID/id; for entries without one, their link (so that editing the
    /// title does not make the entry look new).
    pub id: String,
    /// The post's URL (the entry's first link).
    pub url: String,
    pub title: String,
    pub categories: Vec<String>,
    /// Publication time, RFC 3339, when the feed gives one.
    pub published: Option<String>,
}

/// What a server told us about a feed's version, for the next conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}
