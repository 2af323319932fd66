//! Serves the real blog corpus (`site/`) over HTTP on a loopback port.
//!
//! Besides the corpus files it answers a few test-only paths for cases the corpus
//! lacks (each made from a real page, never hand-written):
//! - `/_test/truncated/<slug>/`: the first half of the real page;
//! - `/_test/json/`: a JSON document (`feed_json_created.json`) served as `application/json`;
//! - `/_test/error/<code>/`: an empty answer with that status code.
//!
//! Every file is served with an `ETag` (a hash of its bytes) and answers a matching
//! `If-None-Match` with 304. [`SiteServer::control`] changes what the server does while
//! a test runs: hide feed entries (as if the post were not published yet), or make a
//! path fail.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// The canonical origin of the real blog, as written in the corpus pages.
pub const BLOG_ORIGIN: &str = "https://graphcore-research.github.io";

/// Whether links in served pages keep the real blog's origin or point back here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Serve files as they are: canonical URLs stay the real ones (as in `expected/`).
    Keep,
    /// Rewrite `https://graphcore-research.github.io` to this server's origin, so that
    /// everything the bot follows (figures, social cards) stays on loopback.
    Loopback,
}

/// How a path fails while a test wants it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Wait this long before answering normally (a request held past a timeout).
    Delay(Duration),
    /// Answer 200 with the first third of the file (a truncated, malformed document).
    Truncate,
}

/// What the server does, changeable while it runs.
#[derive(Debug, Default)]
pub struct Control {
    /// Post URL paths (e.g. `/2026-03-03-potm/`) whose entries are removed from feeds.
    pub hidden: HashSet<String>,
    /// Path → fault, applied to every request for that path.
    pub faults: HashMap<String, Fault>,
    /// Path → `(from, to)` text replacements made in what that path serves: a real page
    /// changed in one place, for cases the corpus lacks (e.g. a title with markup).
    pub rewrites: HashMap<String, Vec<(String, String)>>,
    /// Path → bytes served for it: files the corpus lacks, made from corpus files by the
    /// test (e.g. a figure enlarged past a server's size limit).
    pub extra: HashMap<String, Vec<u8>>,
    /// Requests seen, per path, and how many of them were answered 304.
    pub requests: HashMap<String, usize>,
    pub not_modified: HashMap<String, usize>,
}

pub struct SiteServer {
    server: Arc<tiny_http::Server>,
    worker: Option<thread::JoinHandle<()>>,
    control: Arc<Mutex<Control>>,
    pub origin: String,
}

impl SiteServer {
    pub fn start(links: Links) -> SiteServer {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binding a loopback port"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let origin = format!("http://127.0.0.1:{port}");
        let root = super::corpus_dir().join("site");
        let control = Arc::new(Mutex::new(Control::default()));
        let worker = {
            let server = Arc::clone(&server);
            let origin = origin.clone();
            let control = Arc::clone(&control);
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    // One thread per request, so that a delayed answer holds up no other.
                    let (root, origin, control) =
                        (root.clone(), origin.clone(), Arc::clone(&control));
                    thread::spawn(move || {
                        let response = respond(&root, &request, links, &origin, &control);
                        let _ = request.respond(response);
                    });
                }
            })
        };
        SiteServer {
            server,
            worker: Some(worker),
            control,
            origin,
        }
    }

    /// The server's behaviour, to change while it runs.
    pub fn control(&self) -> MutexGuard<'_, Control> {
        self.control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The URL of a path on this server (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn respond(
    root: &Path,
    request: &tiny_http::Request,
    links: Links,
    origin: &str,
    control: &Mutex<Control>,
) -> Response {
    let path = request
        .url()
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_owned();
    let (fault, hidden, replacements, extra) = {
        let mut control = control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *control.requests.entry(path.clone()).or_default() += 1;
        let replacements = control.rewrites.get(&path).cloned().unwrap_or_default();
        (
            control.faults.get(&path).cloned(),
            control.hidden.clone(),
            replacements,
            control.extra.get(&path).cloned(),
        )
    };
    if let Some(bytes) = extra {
        return tiny_http::Response::from_data(bytes);
    }
    match fault {
        Some(Fault::Status(code)) => return status(code),
        Some(Fault::Delay(delay)) => thread::sleep(delay),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/_test/") {
        return test_answer(root, rest, links, origin);
    }
    let Some(file) = resolve(root, &path) else {
        return status(404);
    };
    let Ok(bytes) = std::fs::read(&file) else {
        return status(404);
    };
    let mut bytes = rewrite(bytes, &file, links, origin);
    if !hidden.is_empty()
        && file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("feed_"))
    {
        bytes = hide_entries(&bytes, &hidden);
    }
    if !replacements.is_empty() {
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        for (from, to) in &replacements {
            text = text.replace(from, to);
        }
        bytes = text.into_bytes();
    }
    if fault == Some(Fault::Truncate) {
        bytes.truncate(bytes.len() / 3);
    }
    let etag = etag_of(&bytes);
    let matches = request
        .headers()
        .iter()
        .any(|h| h.field.equiv("If-None-Match") && h.value.as_str() == etag);
    if matches {
        let mut control = control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *control.not_modified.entry(path).or_default() += 1;
        return status(304);
    }
    let header = tiny_http::Header::from_bytes("ETag", etag.as_bytes()).expect("a valid header");
    with_type(bytes, &file).with_header(header)
}

fn etag_of(bytes: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

/// Removes the entries of hidden posts from an RSS (`<item>`) or JSON feed (`items`).
fn hide_entries(bytes: &[u8], hidden: &HashSet<String>) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let is_hidden = |entry: &str| {
        hidden.iter().any(|path| {
            entry.contains(&format!("{path}</link>")) || entry.contains(&format!("{path}\""))
        })
    };
    if text.trim_start().starts_with('{') {
        let Ok(mut feed) = serde_json::from_str::<serde_json::Value>(&text) else {
            return bytes.to_vec();
        };
        if let Some(items) = feed.get_mut("items").and_then(|i| i.as_array_mut()) {
            items.retain(|item| !is_hidden(&item.to_string()));
        }
        return feed.to_string().into_bytes();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(start) = rest.find("<item>") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("</item>") else {
            break;
        };
        let item = &rest[start..start + len + "</item>".len()];
        if !is_hidden(item) {
            out.push_str(item);
        }
        rest = &rest[start + item.len()..];
    }
    out.push_str(rest);
    out.into_bytes()
}

fn test_answer(root: &Path, rest: &str, links: Links, origin: &str) -> Response {
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["truncated", slug] => match resolve(root, &format!("/{slug}/")) {
            Some(file) => {
                let bytes = rewrite(
                    std::fs::read(&file).unwrap_or_default(),
                    &file,
                    links,
                    origin,
                );
                let half = bytes[..bytes.len() / 2].to_vec();
                with_type(half, &file)
            }
            None => status(404),
        },
        ["json"] => {
            let file = root.join("feed_json_created.json");
            with_type(std::fs::read(&file).unwrap_or_default(), &file)
        }
        ["error", code] => status(code.parse().unwrap_or(500)),
        _ => status(404),
    }
}

/// Maps a URL path to a file under `root`, refusing anything that leaves it.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = path.trim_start_matches('/');
    if decoded.split('/').any(|part| part == "..") {
        return None;
    }
    let mut file = root.join(decoded);
    if file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

fn rewrite(bytes: Vec<u8>, file: &Path, links: Links, origin: &str) -> Vec<u8> {
    let textual = matches!(extension(file), "html" | "xml" | "json");
    if links == Links::Keep || !textual {
        return bytes;
    }
    String::from_utf8_lossy(&bytes)
        .replace(BLOG_ORIGIN, origin)
        .into_bytes()
}

fn extension(file: &Path) -> &str {
    file.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn with_type(bytes: Vec<u8>, file: &Path) -> Response {
    let content_type = match extension(file) {
        "html" => "text/html; charset=utf-8",
        "xml" => "application/rss+xml; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        _ => "application/octet-stream",
    };
    let header =
        tiny_http::Header::from_bytes("Content-Type", content_type).expect("a valid header");
    tiny_http::Response::from_data(bytes).with_header(header)
}

fn status(code: u16) -> Response {
    tiny_http::Response::from_data(Vec::new()).with_status_code(code)
}
