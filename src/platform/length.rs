//! How each platform counts the length of a post (pure; see `shared/PLATFORMS.md`).
//!
//! - Mastodon: grapheme clusters, every URL as `characters_reserved_per_url` (23),
//!   limit `max_characters` from the server (default 500).
//! - Bluesky: grapheme clusters, URLs in full, 300 graphemes and 3000 UTF-8 bytes.
//! - X: twitter-text v3 weights after NFC normalisation (most Latin, Greek and
//!   Cyrillic code points weigh 1, others 2, an emoji sequence 2), URLs 23, limit 280.

use super::PlatformKind;
use serde::{Deserialize, Serialize};

/// The length limit of one platform (or one server of it) and how it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthRules {
    pub platform: PlatformKind,
    /// Largest allowed length, in the platform's own unit.
    pub max: usize,
    /// What one URL counts for, or `None` when URLs count in full.
    pub url_length: Option<usize>,
    /// Largest allowed size in UTF-8 bytes, where the platform has one.
    pub max_bytes: Option<usize>,
}

impl LengthRules {
    pub fn mastodon(max_characters: usize, characters_reserved_per_url: usize) -> Self {
        LengthRules {
            platform: PlatformKind::Mastodon,
            max: max_characters,
            url_length: Some(characters_reserved_per_url),
            max_bytes: None,
        }
    }

    pub fn bluesky() -> Self {
        LengthRules {
            platform: PlatformKind::Bluesky,
            max: 300,
            url_length: None,
            max_bytes: Some(3000),
        }
    }

    pub fn x() -> Self {
        LengthRules {
            platform: PlatformKind::X,
            max: 280,
            url_length: Some(23),
            max_bytes: None,
        }
    }

    /// The defaults for a platform, before any server has told us its own.
    pub fn default_for(platform: PlatformKind) -> Self {
        match platform {
            PlatformKind::Mastodon => Self::mastodon(500, 23),
            PlatformKind::Bluesky => Self::bluesky(),
            PlatformKind::X => Self::x(),
        }
    }

    /// The length of `text` as this platform counts it.
    pub fn count(&self, text: &str) -> usize {
        todo_count(self, text)
    }

    /// Whether `text` fits within this platform's limits.
    pub fn fits(&self, text: &str) -> bool {
        self.count(text) <= self.max && self.max_bytes.is_none_or(|max| text.len() <= max)
    }
}

// Placeholder until the counting rules land (issue 2, compose/fit work).
fn todo_count(_rules: &LengthRules, text: &str) -> usize {
    text.chars().count()
}
