//! Turning a rendered "Papers of the Month" page into an [`Announcement`] (pure, no I/O).

use crate::announcement::Announcement;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("{url}: not a Papers of the Month post ({reason})")]
    NotPapersOfTheMonth { url: String, reason: String },
    #[error("{url}: no papers found on the page ({reason})")]
    NoPapers { url: String, reason: String },
    #[error("{url}: the page is incomplete ({reason}); fetch it again")]
    Incomplete { url: String, reason: String },
}

/// Extracts the post and its papers from `html`, fetched from `page_url`.
pub fn extract(html: &str, page_url: &str) -> Result<Announcement, ExtractError> {
    let _ = html;
    Err(ExtractError::NoPapers {
        url: page_url.into(),
        reason: "extraction not written yet".into(),
    })
}
