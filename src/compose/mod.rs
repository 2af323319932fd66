//! Rendering an [`Announcement`] into one thread per platform, each post fitted to the
//! platform's length rules (pure, no I/O).

use crate::announcement::{Announcement, Figure};
use crate::platform::{LengthRules, PlatformKind};
use serde::Serialize;
use thiserror::Error;

/// A thread as it will be posted on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    pub platform: PlatformKind,
    pub posts: Vec<Post>,
}

/// One post of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub role: PostRole,
    pub text: String,
    /// The text's length as the platform counts it.
    pub length: usize,
    /// The platform's limit that `length` must not exceed.
    pub limit: usize,
    pub images: Vec<Figure>,
}

/// What a post of the thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PostRole {
    /// The head post, about the whole blog post.
    Head,
    /// A post about the paper at this position on the page.
    Paper { position: usize },
    /// The closing post inviting replies.
    Closing,
}

#[derive(Debug, Error)]
pub enum ComposeError {
    #[error("template `{name}`: {message}")]
    Template { name: String, message: String },
    #[error("{0}")]
    DoesNotFit(String),
}

/// Options for composing that come from configuration.
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    pub closing_post: bool,
}

/// Composes the thread for one platform.
pub fn compose(
    announcement: &Announcement,
    rules: &LengthRules,
    options: &ComposeOptions,
) -> Result<Thread, ComposeError> {
    let _ = (announcement, options);
    Ok(Thread {
        platform: rules.platform,
        posts: Vec::new(),
    })
}
