//! Links in templates and posts: `{{ link(url) }}` or `{{ link(url, "Our review") }}`
//! renders a mark that is resolved per platform once a post's text is final. Bluesky
//! shows a link short (`arxiv.org/abs/2404.11912`) or as its label, with a link facet
//! carrying the full URL, the way Bluesky's own app does; Mastodon and X count every
//! URL as 23 characters, so they show it in full ("Our review: https://…").

use crate::model::length::find_urls;
use crate::model::Link;
use crate::model::PlatformKind;

const OPEN: char = '\u{F8F0}';
const SPLIT: char = '\u{F8F1}';
const CLOSE: char = '\u{F8F2}';

/// Bluesky shows a link's URL up to this many characters, then "…" (the facet keeps
/// all of it).
const SHORT_URL_CHARS: usize = 48;

/// The mark a template's `link(url, label)` renders.
pub(crate) fn mark(url: &str, label: Option<&str>) -> String {
    format!("{OPEN}{}{SPLIT}{url}{CLOSE}", label.unwrap_or(""))
}

/// The post's text as the platform shows it, and every link in it.
pub(crate) fn resolve(text: &str, platform: PlatformKind) -> (String, Vec<Link>) {
    let mut out = String::with_capacity(text.len());
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&rest[..open]);
        let inner = &rest[open + OPEN.len_utf8()..];
        let Some(close) = inner.find(CLOSE) else {
            rest = inner;
            continue;
        };
        let (label, url) = inner[..close]
            .split_once(SPLIT)
            .unwrap_or(("", &inner[..close]));
        let shown = match (platform, label.trim()) {
            (PlatformKind::Bluesky, "") => short_url(url),
            (PlatformKind::Bluesky, label) => label.to_owned(),
            (_, "") => url.to_owned(),
            (_, label) => {
                out.push_str(label);
                out.push_str(": ");
                url.to_owned()
            }
        };
        out.push_str(&shown);
        links.push(Link {
            text: shown,
            url: url.to_owned(),
        });
        rest = &inner[close + CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    // URLs a template wrote out itself are links too.
    let mut covered: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = 0;
    for link in &links {
        if let Some(found) = out[at..].find(&link.text) {
            covered.push(at + found..at + found + link.text.len());
            at += found + link.text.len();
        }
    }
    for url in find_urls(&out, false) {
        if !covered
            .iter()
            .any(|r| r.start <= url.range.start && url.range.end <= r.end)
        {
            let text = out[url.range].to_owned();
            links.push(Link {
                url: text.clone(),
                text,
            });
        }
    }
    (out, links)
}

/// A URL as Bluesky's app shows it: without the scheme and `www.`, and cut after
/// [`SHORT_URL_CHARS`] characters.
fn short_url(url: &str) -> String {
    let bare = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let bare = bare.strip_prefix("www.").unwrap_or(bare);
    let bare = bare.trim_end_matches('/');
    if bare.chars().count() <= SHORT_URL_CHARS {
        return bare.to_owned();
    }
    let cut: String = bare.chars().take(SHORT_URL_CHARS - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bluesky_shows_links_short_or_labelled_and_the_others_in_full() {
        let text = format!(
            "Paper: {}\n{}",
            mark("https://arxiv.org/abs/2404.11912", None),
            mark(
                "https://graphcore-research.github.io/2024-04-30-potm/#triforce",
                Some("Our review")
            )
        );
        let (shown, links) = resolve(&text, PlatformKind::Bluesky);
        assert_eq!(shown, "Paper: arxiv.org/abs/2404.11912\nOur review");
        assert_eq!(
            links,
            [
                Link {
                    text: "arxiv.org/abs/2404.11912".into(),
                    url: "https://arxiv.org/abs/2404.11912".into()
                },
                Link {
                    text: "Our review".into(),
                    url: "https://graphcore-research.github.io/2024-04-30-potm/#triforce".into()
                }
            ]
        );
        let (shown, links) = resolve(&text, PlatformKind::Mastodon);
        assert_eq!(
            shown,
            "Paper: https://arxiv.org/abs/2404.11912\nOur review: https://graphcore-research.github.io/2024-04-30-potm/#triforce"
        );
        assert!(links.iter().all(|l| l.text == l.url));
        assert_eq!(links.len(), 2);
    }

    #[test]
    fn urls_written_out_are_links_too_and_long_ones_show_short() {
        let (_, links) = resolve("See https://example.org/a", PlatformKind::Bluesky);
        assert_eq!(links[0].url, "https://example.org/a");
        assert_eq!(
            short_url("https://graphcore-research.github.io/2025-10-07-potm/#flowrl-matching"),
            "graphcore-research.github.io/2025-10-07-potm/#f…"
        );
    }
}
