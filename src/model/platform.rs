//! The kinds of network papercast posts to, and the one place their names are read.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

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

/// A network name papercast does not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a network papercast knows (mastodon, bluesky or x)")]
pub struct UnknownPlatform(pub String);

impl FromStr for PlatformKind {
    type Err = UnknownPlatform;

    /// Reads a name as [`PlatformKind::as_str`] writes it; nothing else is taken, so
    /// that an unknown name is never mistaken for one of the known networks.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        PlatformKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownPlatform(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_nothing_else_does() {
        for kind in PlatformKind::ALL {
            assert_eq!(kind.as_str().parse::<PlatformKind>(), Ok(kind));
        }
        for unknown in ["", "Mastodon", "pleroma", "twitter", "bsky"] {
            assert_eq!(
                unknown.parse::<PlatformKind>(),
                Err(UnknownPlatform(unknown.into()))
            );
        }
    }
}
