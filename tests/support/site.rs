//! Serves the real blog corpus (`site/`) over HTTP on a loopback port.
//!
//! Besides the corpus files it answers a few test-only paths for cases the corpus
//! lacks (each made from a real page, never hand-written):
//! - `/_test/truncated/<slug>/`: the first half of the real page;
//! - `/_test/json/`: a JSON document (`feed_json_created.json`) served as `application/json`;
//! - `/_test/error/<code>/`: an empty answer with that status code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

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

pub struct SiteServer {
    server: Arc<tiny_http::Server>,
    worker: Option<thread::JoinHandle<()>>,
    pub origin: String,
}

impl SiteServer {
    pub fn start(links: Links) -> SiteServer {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binding a loopback port"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let origin = format!("http://127.0.0.1:{port}");
        let root = super::corpus_dir().join("site");
        let worker = {
            let server = Arc::clone(&server);
            let origin = origin.clone();
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = answer(&root, request.url(), links, &origin);
                    let _ = request.respond(response);
                }
            })
        };
        SiteServer {
            server,
            worker: Some(worker),
            origin,
        }
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

fn answer(root: &Path, url: &str, links: Links, origin: &str) -> Response {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    if let Some(rest) = path.strip_prefix("/_test/") {
        return test_answer(root, rest, links, origin);
    }
    match resolve(root, path) {
        Some(file) => match std::fs::read(&file) {
            Ok(bytes) => with_type(rewrite(bytes, &file, links, origin), &file),
            Err(_) => status(404),
        },
        None => status(404),
    }
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
