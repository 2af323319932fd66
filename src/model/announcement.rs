//! The facts papercast announces: one blog post and the papers it reviews.
//!
//! Field names follow the corpus ground truth (`expected/<slug>.json`) so that
//! `papercast extract --format json` can be compared with it directly.

use serde::{Deserialize, Serialize};

/// A "Papers of the Month" post, as extracted from its rendered page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// Canonical URL of the post (from `<link rel="canonical">`).
    pub url: String,
    /// The post's slug: the last path segment of its URL.
    pub slug: String,
    pub title: String,
    /// Publication date, `YYYY-MM-DD`.
    pub date: String,
    /// The post's tags, sorted.
    pub tags: Vec<String>,
    /// The post's social card (`og:image`), absolute.
    pub social_image: Option<String>,
    /// The reviewed papers, in page order.
    pub papers: Vec<Paper>,
    /// The intro's line about what this month's papers have in common ("there is a
    /// clear common thread: efficient LLM inference"), where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro_theme: Option<String>,
}

/// One paper reviewed in a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paper {
    /// Order on the page, from 0.
    pub position: usize,
    pub title: String,
    pub authors: String,
    pub orgs: String,
    /// The paper itself (usually arXiv).
    pub link: String,
    /// The id of the paper's section on the blog page.
    pub anchor: String,
    /// The blog section's URL: the post URL with `#anchor`.
    pub url: String,
    /// The team's one-line summary from the post's intro, where the intro has one.
    pub intro_summary: Option<String>,
    /// Where the intro is prose: the sentences of the intro that talk about this paper
    /// (they link to it or name it), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro_sentence: Option<String>,
    /// The text of the review's "The key idea" section (empty when it has none).
    pub key_idea: String,
    /// The first figure a reader sees in the review.
    pub figure: Option<Figure>,
}

/// An image with its alt text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// Absolute URL of the image.
    pub url: String,
    pub alt: String,
    /// The caption under the figure (its `<figcaption>`, or an emphasised line right
    /// below it), where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// A link in a post: the text a reader sees and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub text: String,
    pub url: String,
}

impl Paper {
    /// The one-line summary to announce: the intro's, or else the first sentences of
    /// "The key idea" (the composer shortens it to fit).
    pub fn summary(&self) -> &str {
        match &self.intro_summary {
            Some(summary) if !summary.is_empty() => summary,
            _ => &self.key_idea,
        }
    }
}
