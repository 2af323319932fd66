//! The networks papercast posts to, and each one's rules for counting a post's length.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod length;

pub use length::LengthRules;

/// A kind of network. Mastodon covers the whole Mastodon API family (Pleroma,
/// Akkoma, GoToSocial, Friendica, Firefish, Pixelfed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    Mastodon,
    Bluesky,
    X,
}

impl PlatformKind {
    pub const ALL: [PlatformKind; 3] = [
        PlatformKind::Mastodon,
        PlatformKind::Bluesky,
        PlatformKind::X,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Mastodon => "mastodon",
            PlatformKind::Bluesky => "bluesky",
            PlatformKind::X => "x",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
