//! Extraction time of given page files, in-process, as JSON lines: the papercast side of
//! `bench/run.py`'s extraction comparison (the script times its Python baseline the same
//! way, in the same run).
//!
//! `cargo bench --bench extract_files -- [--runs N] [--max-secs S] FILE...` extracts each
//! FILE once to warm up, then N times (fewer if they take longer than S seconds in all),
//! and prints one line per file:
//! `{"file", "bytes", "runs", "median_s", "min_s", "outcome"}`. A page is extracted as if
//! fetched from `https://graphcore-research.github.io/<its folder's name>/`.
//! `--parse-only` times the HTML parse alone (`scraper::Html::parse_document`), to tell
//! the parser's share from the extractor's. Without files (as `cargo test --benches`
//! runs it) it extracts every corpus page with ground truth once, and fails if one does
//! not extract.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus_pages() -> Vec<PathBuf> {
    let corpus = match std::env::var_os("PAPERCAST_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/graphcore-research")
        }
    };
    let expected = corpus.join("expected");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&expected)
        .unwrap_or_else(|e| panic!("reading {}: {e} (set PAPERCAST_CORPUS)", expected.display()))
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let slug = name.to_str()?.strip_suffix(".json")?;
            Some(corpus.join("site").join(slug).join("index.html"))
        })
        .collect();
    pages.sort();
    pages
}

fn page_url(file: &Path) -> String {
    let folder = file
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("page");
    format!("https://graphcore-research.github.io/{folder}/")
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() {
    let mut runs = 1usize;
    let mut max = Duration::from_secs(30);
    let mut parse_only = false;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--max-secs" => {
                max = Duration::from_secs_f64(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--max-secs S"),
                )
            }
            "--parse-only" => parse_only = true,
            // What `cargo bench` and `cargo test` pass to every bench binary.
            "--bench" | "--test" | "--nocapture" | "--quiet" => {}
            file => files.push(PathBuf::from(file)),
        }
    }
    let smoke = files.is_empty();
    if smoke {
        files = corpus_pages();
    }

    for file in &files {
        let html = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let url = page_url(file);
        let once = || {
            if parse_only {
                let document = scraper::Html::parse_document(black_box(&html));
                return format!("parsed: {} nodes", document.tree.values().count());
            }
            match papercast::extract::extract(black_box(&html), &url) {
                Ok(announcement) => format!("ok: {} papers", announcement.papers.len()),
                Err(e) if smoke => panic!("{} does not extract: {e}", file.display()),
                Err(e) => format!("error: {e}"),
            }
        };
        let outcome = once();
        let mut times = Vec::with_capacity(runs);
        let started = Instant::now();
        while times.len() < runs && (times.is_empty() || started.elapsed() < max) {
            let start = Instant::now();
            black_box(once());
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"file\":{},\"bytes\":{},\"runs\":{},\"median_s\":{:e},\"min_s\":{:e},\"outcome\":{}}}",
            json_string(&file.display().to_string()),
            html.len(),
            times.len(),
            times[times.len() / 2],
            times[0],
            json_string(&outcome)
        );
    }
}
