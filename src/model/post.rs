//! A post as a server shows it: one papercast sent, or any status it reads back.

use chrono::{DateTime, Utc};

/// A post on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePost {
    pub id: String,
    pub url: Option<String>,
}

/// A status as a server shows it: a reply, a mention, or one of papercast's own posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub id: String,
    /// The post it answers; `None` when it answers nothing.
    pub in_reply_to: Option<String>,
    /// The author's id on the server.
    pub author_id: String,
    /// `@user@server`.
    pub author_handle: String,
    pub author_name: String,
    pub author_url: String,
    pub author_avatar: Option<String>,
    /// The server marks the author as a bot.
    pub author_bot: bool,
    /// The status's public page.
    pub url: String,
    /// `public`, `unlisted`, `private`, `direct` (or another server's word).
    pub visibility: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The HTML as the server gave it (not sanitised).
    pub content_html: String,
    /// The content warning; empty when none.
    pub spoiler_text: String,
}

impl ServerStatus {
    /// Anyone may see it: only such replies are ever published.
    pub fn is_public(&self) -> bool {
        matches!(self.visibility.as_str(), "public" | "unlisted")
    }
}

/// What a post drew, as its network counts it. A network that gives no number for a
/// kind leaves it `None`: unknown, never 0.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Engagement {
    pub replies: Option<u64>,
    /// Reblogs on Mastodon, reposts on Bluesky, retweets on X.
    pub reposts: Option<u64>,
    /// Favourites on Mastodon, likes elsewhere.
    pub likes: Option<u64>,
    pub quotes: Option<u64>,
}

impl Engagement {
    /// Every count the network gave, added up; `None` when it gave none.
    pub fn total(&self) -> Option<u64> {
        let known: Vec<u64> = [self.replies, self.reposts, self.likes, self.quotes]
            .into_iter()
            .flatten()
            .collect();
        (!known.is_empty()).then(|| known.iter().sum())
    }
}
