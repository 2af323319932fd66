//! Property runs over extraction and feed parsing, in the normal suite with a bounded
//! case count: real corpus pages and feeds with hostile pieces spliced in (deep
//! nesting, `file:`/`javascript:`/`data:`/protocol-relative links, control characters,
//! stray markup). No input panics, and no link that leaves extraction is other than
//! http(s); a feed entry's non-http(s) link is refused by the fetcher unread.

mod support;

use papercast::extract::extract;
use papercast::source::feed::parse_feed;
use papercast::source::Fetcher;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

const PAGE_URL: &str = "https://graphcore-research.github.io/2025-02-27-potm/";
const FEED_URL: &str = "https://graphcore-research.github.io/feed_rss_created.xml";

const HOSTILE_LINKS: &[&str] = &[
    "file:///etc/passwd",
    "file:///dev/zero",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
    "///evil.example/",
    "\\\\evil.example\\share",
    "ftp://evil.example/",
    " https://ok.example/ ",
];

fn corpus_pages() -> Vec<String> {
    ["2025-02-27-potm", "2025-10-07-potm", "2024-01-29-potm"]
        .iter()
        .map(|slug| {
            std::fs::read_to_string(support::corpus_dir().join(format!("site/{slug}/index.html")))
                .expect("a corpus page")
        })
        .collect()
}

fn corpus_feeds() -> Vec<String> {
    ["feed_rss_created.xml", "feed_json_created.json"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(support::corpus_dir().join(format!("site/{name}")))
                .expect("a corpus feed")
        })
        .collect()
}

/// A hostile piece to splice into a page.
fn hostile_piece() -> impl Strategy<Value = String> {
    let link = proptest::sample::select(HOSTILE_LINKS);
    prop_oneof![
        (1usize..3_000).prop_map(|depth| "<div>".repeat(depth)),
        (1usize..3_000).prop_map(|depth| format!(
            "{}x{}",
            "<b><i>".repeat(depth),
            "</i></b>".repeat(depth)
        )),
        link.clone()
            .prop_map(|href| format!(r#"<a href="{href}">paper</a>"#)),
        link.clone()
            .prop_map(|href| format!(r#"<img src="{href}" alt="figure">"#)),
        link.prop_map(|href| format!(r#"<h2 id="x"><a href="{href}">Title</a></h2>"#)),
        Just("\u{1b}[2J\u{1b}]0;title\u{7}".to_owned()),
        Just("</div></section></article>".to_owned()),
        "[<>&\"'a-z/ =]{0,40}",
    ]
}

fn web(link: &str) -> bool {
    let lower = link.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn extraction_never_panics_and_gives_only_http_links(
        page in 0usize..3,
        at in proptest::collection::vec((0.0f64..1.0, hostile_piece()), 1..4),
    ) {
        let mut html = corpus_pages().swap_remove(page);
        for (fraction, piece) in at {
            let mut i = (html.len() as f64 * fraction) as usize;
            while !html.is_char_boundary(i) {
                i -= 1;
            }
            html.insert_str(i, &piece);
        }
        if let Ok(announcement) = extract(&html, PAGE_URL) {
            prop_assert!(web(&announcement.url), "{}", announcement.url);
            if let Some(image) = &announcement.social_image {
                prop_assert!(web(image), "{image}");
            }
            for paper in &announcement.papers {
                prop_assert!(web(&paper.url), "{}", paper.url);
                prop_assert!(paper.link.is_empty() || web(&paper.link), "{}", paper.link);
                if let Some(figure) = &paper.figure {
                    prop_assert!(web(&figure.url), "{}", figure.url);
                }
                prop_assert!(!paper.title.contains('\x1b'), "{}", paper.title);
            }
        }
    }

    #[test]
    fn feed_parsing_never_panics_and_a_hostile_entry_link_is_never_read(
        feed in 0usize..2,
        link in proptest::sample::select(HOSTILE_LINKS),
        cut in 0.0f64..1.0,
        truncate in any::<bool>(),
    ) {
        let mut text = corpus_feeds().swap_remove(feed);
        // Every entry of the real feed now links to the hostile address.
        text = text.replace("https://graphcore-research.github.io/", link);
        if truncate {
            let mut i = (text.len() as f64 * cut) as usize;
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text.truncate(i);
        }
        if let Ok(entries) = parse_feed(text.as_bytes(), FEED_URL) {
            let config = papercast::config::Config::load(&papercast::config::ConfigSources {
                environment: Some(vec![]),
                ..Default::default()
            }).expect("the default config");
            let fetcher = Fetcher::new(&config.fetch).expect("a fetcher");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            for entry in entries.iter().filter(|e| !web(e.url.trim_start())) {
                let result = runtime.block_on(fetcher.page(&entry.url));
                prop_assert!(
                    matches!(result, Err(papercast::source::SourceError::NotWeb { .. })),
                    "{}: {result:?}", entry.url
                );
            }
        }
    }
}

/// The properties above check something: unchanged, the pages they start from extract.
#[test]
fn the_pages_the_properties_start_from_extract() {
    for html in corpus_pages() {
        let announcement = extract(&html, PAGE_URL).expect("a corpus page extracts");
        assert!(!announcement.papers.is_empty());
    }
}
