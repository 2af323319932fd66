//! The types every layer shares: the announcement with its papers and figures, the
//! kinds of network and how each counts a post's length, a post as a server shows it,
//! and feed entries. Nothing here does I/O, and nothing here imports another module
//! of papercast.

pub mod announcement;
pub mod feed;
pub mod length;
pub mod platform;
pub mod post;

pub use announcement::{Announcement, Figure, Link, Paper};
pub use feed::{FeedEntry, Validators};
pub use length::LengthRules;
pub use platform::{PlatformKind, UnknownPlatform};
pub use post::{Engagement, RemotePost, ServerStatus};
