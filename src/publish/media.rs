//! Getting a post's figures ready to upload: download, name, check against the server's
//! limits. A figure that cannot be used leaves the post without it, with a warning.
//!
//! An image over the server's `image_size_limit` (Bluesky's 1 MB, X's 5 MB) is scaled
//! down to fit ([`super::resize`]), off the async workers; one that cannot be is left
//! out with a warning.

use crate::model::Figure;
use crate::platform::{MediaUpload, ServerLimits};
use crate::source::{Fetcher, SourceError};

/// Why a figure is not attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Worth another try later (the download failed in transit).
    Transient(String),
    /// Will not work (missing, too large, an unsupported type).
    Permanent(String),
}

/// Downloads a figure and makes it an upload the server accepts.
pub async fn prepare(
    fetcher: &Fetcher,
    figure: &Figure,
    limits: &ServerLimits,
    max_bytes: u64,
) -> Result<MediaUpload, Skip> {
    let server_max = limits.image_size_limit.unwrap_or(max_bytes);
    let max = max_bytes;
    let (bytes, content_type) = fetcher.bytes(&figure.url, max).await.map_err(|e| match e {
        SourceError::Status { status, .. } if status.is_client_error() => {
            Skip::Permanent(format!("{} answered {status}", figure.url))
        }
        SourceError::TooLarge { .. } => Skip::Permanent(format!(
            "{} is larger than publish.max_image_bytes ({max} bytes)",
            figure.url
        )),
        SourceError::BadUrl { .. } => Skip::Permanent(e.to_string()),
        other => Skip::Transient(other.to_string()),
    })?;
    let (file_name, mime) = name_and_type(&figure.url, content_type.as_deref(), &bytes);
    let Some(mime) = mime else {
        return Err(Skip::Permanent(format!(
            "{}: not an image papercast recognises",
            figure.url
        )));
    };
    let (bytes, file_name, mime) = if bytes.len() as u64 > server_max {
        let url = figure.url.clone();
        let original = bytes.len();
        let fitted = tokio::task::spawn_blocking(move || super::resize::fit(&bytes, server_max))
            .await
            .map_err(|e| Skip::Permanent(format!("{url}: resizing it failed: {e}")))?
            .map_err(|reason| {
                Skip::Permanent(format!(
                    "{url} is over the server's {server_max}-byte image limit and {reason}"
                ))
            })?;
        let (bytes, mime) = fitted;
        tracing::info!(
            "{}: {original} bytes, over the server's limit of {server_max}: scaled down to {} bytes",
            figure.url,
            bytes.len()
        );
        let stem = file_name
            .rsplit_once('.')
            .map_or(file_name.as_str(), |(stem, _)| stem);
        let extension = if mime == "image/png" { "png" } else { "jpg" };
        (bytes, format!("{stem}.{extension}"), mime)
    } else {
        (bytes, file_name, mime)
    };
    if !limits.accepts(mime) {
        return Err(Skip::Permanent(format!(
            "{}: the server does not accept {mime} images",
            figure.url
        )));
    }
    Ok(MediaUpload {
        bytes,
        file_name,
        mime: mime.to_owned(),
        description: shorten(&figure.alt, limits.description_limit),
    })
}

/// A file name with the extension of the image's type, and the type. The server (and
/// megalodon) take the type from the name, so the two must agree.
fn name_and_type(
    url: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> (String, Option<&'static str>) {
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("figure");
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mime = sniff(bytes)
        .or_else(|| content_type.and_then(known))
        .or_else(|| last.rsplit_once('.').and_then(|(_, ext)| by_extension(ext)));
    let ext = match mime {
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("image/gif") => "gif",
        Some("image/webp") => "webp",
        _ => "bin",
    };
    (format!("{stem}.{ext}"), mime)
}

/// The type from the file's first bytes: a server's `Content-Type` can be wrong.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn known(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/png" => Some("image/png"),
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/gif" => Some("image/gif"),
        "image/webp" => Some("image/webp"),
        _ => None,
    }
}

fn by_extension(ext: &str) -> Option<&'static str> {
    match ext.to_ascii_lowercase().as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// At most `max` characters, ending with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_sniffed_type() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(
            name_and_type("https://x.org/potm/2025/09/flowrl/figure_1.png", None, png),
            ("figure_1.png".into(), Some("image/png"))
        );
        // A JPEG served under a .png name with a wrong type is still a JPEG.
        assert_eq!(
            name_and_type(
                "https://x.org/a/b.png?v=2",
                Some("image/png"),
                &[0xff, 0xd8, 0xff, 0]
            ),
            ("b.jpg".into(), Some("image/jpeg"))
        );
        assert_eq!(
            name_and_type("https://x.org/a/plot", Some("image/webp"), b"????"),
            ("plot.webp".into(), Some("image/webp"))
        );
        assert_eq!(
            name_and_type(
                "https://x.org/a/diagram.svg",
                Some("image/svg+xml"),
                b"<svg"
            ),
            ("diagram.bin".into(), None)
        );
    }

    #[test]
    fn alt_text_is_cut_to_the_limit() {
        assert_eq!(shorten("short", 10), "short");
        let cut = shorten("one two three four", 9);
        assert_eq!(cut, "one two…");
        assert!(cut.chars().count() <= 9);
    }
}
