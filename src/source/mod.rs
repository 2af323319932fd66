//! Getting a post page: over HTTP(S) with `reqwest`, or from a local file.
//!
//! Every failure names the URL (or path) and says what went wrong, so that a user
//! can tell a typo from a server outage. Links from outside (a feed entry, a page's
//! canonical link, a stored draft) are followed over http(s) only; a local file is
//! read only when a person typed its path on the command line, and then only a
//! regular file within the same size cap as a download.

pub mod feed;
pub mod watch;

use crate::config::FetchConfig;
use crate::http::root_cause;
use feed::{FeedError, FeedPoll, Validators};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// A failed feed poll: the transfer or the document.
#[derive(Debug, Error)]
pub enum PollError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Feed(#[from] FeedError),
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A fetched page: where it came from and its HTML.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL the page was fetched from (after redirects), or `file://` + path.
    pub url: String,
    pub html: String,
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{url}: the server answered {status}{hint}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        hint: &'static str,
    },
    #[error("{url}: could not connect ({reason}); check the address and your network")]
    Connect { url: String, reason: String },
    #[error("{url}: no answer within {secs} s; the server is slow or down (fetch.timeout_secs)")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: expected an HTML page but got `{content_type}`")]
    NotHtml { url: String, content_type: String },
    #[error("{url}: the page is larger than {max} bytes (fetch.max_page_bytes)")]
    TooLarge { url: String, max: u64 },
    #[error("{url}: the transfer failed half-way ({reason}); try again")]
    Body { url: String, reason: String },
    #[error("{url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(
        "{location}: {reason}; papercast reads a post from an http:// or https:// URL, or \
         from a saved HTML page given by its path"
    )]
    NotALocation { location: String, reason: String },
    #[error(
        "{url}: refused: links from feeds and pages are followed over http(s) only; \
         to read a saved page, type its path on the command line (`papercast announce PATH`)"
    )]
    NotWeb { url: String },
}

impl SourceError {
    /// Whether trying again cannot help: the same input is refused the same way.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SourceError::NotWeb { .. }
                | SourceError::NotALocation { .. }
                | SourceError::TooLarge { .. }
                | SourceError::NotHtml { .. }
        )
    }
}

fn is_web_url(location: &str) -> bool {
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Fetches pages over HTTP with one shared client (one connection pool), at most one
/// request at a time per host however many tasks fetch: sources polled side by side
/// must not hammer a blog that hosts many of them.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_bytes: u64,
    hosts: Arc<HostTurns>,
}

/// One lock per `host:port`, held for a whole request (answer and body).
#[derive(Debug, Default)]
struct HostTurns(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl HostTurns {
    /// Waits for `url`'s host to be free, and holds it until the guard is dropped.
    async fn turn(&self, url: &url::Url) -> tokio::sync::OwnedMutexGuard<()> {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let lock = match self.0.lock() {
            Ok(mut hosts) => hosts.entry(host).or_default().clone(),
            // A panic elsewhere while the map was held: go on without the limit rather
            // than stop fetching.
            Err(_) => Arc::default(),
        };
        lock.lock_owned().await
    }
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Self, SourceError> {
        let timeout = Duration::from_secs(config.timeout_secs);
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| SourceError::BadUrl {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(Fetcher {
            client,
            timeout,
            max_bytes: config.max_page_bytes,
            hosts: Arc::default(),
        })
    }

    /// Reads a page whose location a person typed on the command line: a URL
    /// (`http://`, `https://`) or a local file path (`file://` is allowed).
    pub async fn typed_page(&self, location: &str) -> Result<Page, SourceError> {
        if is_web_url(location) {
            return self.fetch_html(location).await;
        }
        let path = match location.strip_prefix("file://") {
            Some(path) => path,
            None if location.contains("://") => {
                let scheme = location.split("://").next().unwrap_or_default();
                return Err(SourceError::NotALocation {
                    location: location.into(),
                    reason: format!("papercast does not read `{scheme}://` addresses"),
                });
            }
            None => location,
        };
        let path = std::path::Path::new(path);
        if matches!(tokio::fs::metadata(path).await, Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(SourceError::NotALocation {
                location: location.into(),
                reason: "no such file".into(),
            });
        }
        if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir()) {
            return Err(SourceError::NotALocation {
                location: location.into(),
                reason: "a folder, not a saved page".into(),
            });
        }
        read_file(path, self.max_bytes).await
    }

    /// Reads a page from a link that came from outside (a feed entry, a stored
    /// draft): http(s) only, never a local file.
    pub async fn page(&self, url: &str) -> Result<Page, SourceError> {
        if !is_web_url(url) {
            return Err(SourceError::NotWeb { url: url.into() });
        }
        self.fetch_html(url).await
    }

    /// Fetches an HTML page, refusing non-HTML answers and oversized bodies.
    pub async fn fetch_html(&self, url: &str) -> Result<Page, SourceError> {
        let parsed = parse_url(url)?;
        let _turn = self.hosts.turn(&parsed).await;
        let response = self
            .get(parsed, url, "text/html,application/xhtml+xml", None)
            .await?;
        let content_type = content_type(&response);
        if !content_type.is_empty() && !content_type.contains("html") {
            return Err(SourceError::NotHtml {
                url: url.into(),
                content_type,
            });
        }
        let final_url = response.url().to_string();
        let body = self.read_body(url, response).await?;
        Ok(Page {
            url: final_url,
            html: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Polls a feed with a conditional GET: a 304 answer costs no download and no parsing.
    pub async fn poll_feed(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FeedPoll, PollError> {
        let parsed = parse_url(url)?;
        let _turn = self.hosts.turn(&parsed).await;
        let response = self
            .get(
                parsed,
                url,
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5",
                Some(validators),
            )
            .await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FeedPoll::NotModified);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let fresh = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let body = self.read_body(url, response).await?;
        let entries = feed::parse_feed(&body, url)?;
        Ok(FeedPoll::Fetched {
            entries,
            validators: fresh,
        })
    }

    /// Sends a GET and turns transport failures and error statuses into [`SourceError`]s.
    async fn get(
        &self,
        parsed: url::Url,
        url: &str,
        accept: &str,
        validators: Option<&Validators>,
    ) -> Result<reqwest::Response, SourceError> {
        let mut request = self
            .client
            .get(parsed)
            .header(reqwest::header::ACCEPT, accept);
        if let Some(validators) = validators {
            if let Some(etag) = &validators.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(since) = &validators.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, since);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(url, e))?;
        let status = response.status();
        if status.is_success()
            || status == reqwest::StatusCode::NOT_MODIFIED && validators.is_some()
        {
            return Ok(response);
        }
        let hint = match status.as_u16() {
            404 | 410 => {
                "; the page does not exist (check the URL, or the post is not published yet)"
            }
            401 | 403 => "; the page is not public",
            429 => "; too many requests, try again later",
            500..=599 => "; the server has a problem, try again later",
            _ => "",
        };
        Err(SourceError::Status {
            url: url.into(),
            status,
            hint,
        })
    }

    /// Reads a body, stopping as soon as it passes the size cap.
    async fn read_body(
        &self,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, SourceError> {
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes)
        {
            return Err(SourceError::TooLarge {
                url: url.into(),
                max: self.max_bytes,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.body_error(url, e))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > self.max_bytes {
                return Err(SourceError::TooLarge {
                    url: url.into(),
                    max: self.max_bytes,
                });
            }
        }
        Ok(body)
    }

    /// Fetches a file (a figure) of at most `max_bytes`, with its `Content-Type`.
    pub async fn bytes(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<(Vec<u8>, Option<String>), SourceError> {
        let parsed = parse_url(url)?;
        let _turn = self.hosts.turn(&parsed).await;
        let mut response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(|e| self.transport_error(url, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(SourceError::Status {
                url: url.into(),
                status,
                hint: "",
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        let too_large = || SourceError::TooLarge {
            url: url.into(),
            max: max_bytes,
        };
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.body_error(url, e))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(too_large());
            }
        }
        Ok((body, content_type))
    }

    fn transport_error(&self, url: &str, error: reqwest::Error) -> SourceError {
        if error.is_timeout() {
            SourceError::Timeout {
                url: url.into(),
                secs: self.timeout.as_secs(),
            }
        } else if error.is_connect() {
            SourceError::Connect {
                url: url.into(),
                reason: root_cause(&error),
            }
        } else {
            SourceError::Body {
                url: url.into(),
                reason: root_cause(&error),
            }
        }
    }

    fn body_error(&self, url: &str, error: reqwest::Error) -> SourceError {
        if error.is_timeout() {
            SourceError::Timeout {
                url: url.into(),
                secs: self.timeout.as_secs(),
            }
        } else {
            SourceError::Body {
                url: url.into(),
                reason: root_cause(&error),
            }
        }
    }
}

fn parse_url(url: &str) -> Result<url::Url, SourceError> {
    url::Url::parse(url).map_err(|e| SourceError::BadUrl {
        url: url.into(),
        reason: format!("not a valid URL ({e})"),
    })
}

/// Reads a regular file of at most `max_bytes` (not a device, FIFO or directory,
/// which could be endless or block).
async fn read_file(path: &std::path::Path, max_bytes: u64) -> Result<Page, SourceError> {
    use tokio::io::AsyncReadExt;
    let failed = |reason: String| SourceError::File {
        path: path.into(),
        reason,
    };
    let not_regular = || failed("not a regular file; expected a saved HTML page".into());
    // Checked before opening too: opening a FIFO would wait for a writer.
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let metadata = file.metadata().await.map_err(|e| failed(e.to_string()))?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    let too_large = || {
        failed(format!(
            "the file is larger than {max_bytes} bytes (fetch.max_page_bytes)"
        ))
    };
    if metadata.len() > max_bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    let html = String::from_utf8(bytes).map_err(|_| SourceError::File {
        path: path.into(),
        reason: "not a UTF-8 text file; expected a saved HTML page".into(),
    })?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Page {
        url: format!("file://{}", absolute.display()),
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(max_page_bytes: u64) -> Fetcher {
        Fetcher::new(&FetchConfig {
            user_agent: "papercast-test".into(),
            timeout_secs: 2,
            max_page_bytes,
        })
        .expect("a fetcher")
    }

    #[tokio::test]
    async fn a_link_from_outside_is_never_read_from_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let page = dir.path().join("index.html");
        std::fs::write(&page, "<html></html>").expect("write");
        let fetcher = fetcher(1 << 20);
        for link in [
            format!("file://{}", page.display()),
            page.display().to_string(),
            "file:///etc/passwd".into(),
            "ftp://example.org/x".into(),
        ] {
            let error = fetcher.page(&link).await.expect_err(&link);
            assert!(
                matches!(error, SourceError::NotWeb { .. }),
                "{link}: {error}"
            );
            assert!(error.is_permanent());
        }
    }

    #[tokio::test]
    async fn a_typed_path_must_be_a_regular_file_within_the_size_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let page = dir.path().join("index.html");
        std::fs::write(&page, "<html>0123456789</html>").expect("write");
        let read = fetcher(1 << 20)
            .typed_page(&page.display().to_string())
            .await
            .expect("a saved page");
        assert!(read.html.contains("0123456789"));
        let error = fetcher(10)
            .typed_page(&page.display().to_string())
            .await
            .expect_err("over the cap");
        assert!(
            error.to_string().contains("larger than 10 bytes"),
            "{error}"
        );
        for path in ["/dev/zero", "file:///dev/zero"] {
            let error = fetcher(1 << 20).typed_page(path).await.expect_err(path);
            assert!(
                error.to_string().contains("not a regular file"),
                "{path}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_typed_location_that_is_neither_a_page_nor_http_says_what_is_accepted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("2025-10-07-potm");
        let folder = dir.path().display().to_string();
        for (location, why) in [
            (
                "gopher://example.org/",
                "papercast does not read `gopher://` addresses",
            ),
            (
                "ftp://example.org/x",
                "papercast does not read `ftp://` addresses",
            ),
            (missing.to_str().expect("a UTF-8 path"), "no such file"),
            ("2025-10-07-potm", "no such file"),
            (folder.as_str(), "a folder, not a saved page"),
        ] {
            let error = fetcher(1 << 20)
                .typed_page(location)
                .await
                .expect_err(location);
            let text = error.to_string();
            assert!(
                text.starts_with(&format!("{location}: {why}; "))
                    && text.contains("an http:// or https:// URL, or from a saved HTML page"),
                "{location}: {text}"
            );
            assert!(!text.contains("os error"), "{text}");
            assert!(error.is_permanent());
        }
    }
}
