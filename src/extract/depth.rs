//! A cheap guard against hostile nesting, run before the HTML tree builder: html5ever
//! takes time quadratic in the depth of open elements (100,000 nested `<div>`s take
//! minutes), so a page nested deeper than any real post is refused first.
//!
//! The count is an upper bound on what the tree builder sees: every start tag that is
//! not a void element or self-closed opens one level, every end tag closes one;
//! comments, doctypes and the raw text of `<script>`, `<style>`, `<textarea>` and
//! `<title>` are skipped. Elements the parser closes on its own (an unclosed `<p>`,
//! `<li>`) make it count high, never low.

/// The deepest nesting accepted. The blog's pages nest about 20 levels; this leaves
/// room for any real post and keeps the tree builder's work small.
pub const MAX_NESTING: usize = 1_000;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title"];

/// `Err(depth)` as soon as the nesting passes `limit`; otherwise `Ok(deepest)`.
pub fn check_nesting(html: &str, limit: usize) -> Result<usize, usize> {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    let find = |from: usize, what: &[u8]| -> usize {
        bytes
            .get(from..)
            .and_then(|rest| rest.windows(what.len()).position(|w| w == what))
            .map_or(bytes.len(), |n| from + n + what.len())
    };
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr(b'<', rest)) {
        let start = at + offset;
        let next = bytes.get(start + 1).copied().unwrap_or(0);
        if bytes[start..].starts_with(b"<!--") {
            at = find(start + 4, b"-->");
        } else if next == b'!' || next == b'?' {
            at = find(start + 1, b">");
        } else if next == b'/' {
            depth = depth.saturating_sub(1);
            at = find(start + 2, b">");
        } else if next.is_ascii_alphabetic() {
            let name_end = bytes[start + 1..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric() && *b != b'-')
                .map_or(bytes.len(), |n| start + 1 + n);
            let name = html[start + 1..name_end].to_ascii_lowercase();
            let end = find(name_end, b">");
            let self_closed = end >= 2 && bytes.get(end - 2) == Some(&b'/');
            if RAW_TEXT.contains(&name.as_str()) {
                at = find(end, format!("</{name}").as_bytes());
                continue;
            }
            if !self_closed && !VOID.contains(&name.as_str()) {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > limit {
                    return Err(depth);
                }
            }
            at = end;
        } else {
            at = start + 1;
        }
    }
    Ok(deepest)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_without_void_elements_comments_or_raw_text() {
        assert_eq!(
            check_nesting("<html><body><p>a<br>b<img src=x/></p></body></html>", 10),
            Ok(3)
        );
        assert_eq!(check_nesting("<div><!-- <div><div> --></div>", 10), Ok(1));
        assert_eq!(
            check_nesting("<script>if (a<b) { '<div><div><div>' }</script><p>", 10),
            Ok(1)
        );
        assert_eq!(check_nesting("a < b, <3 and </ > alone", 10), Ok(0));
        assert_eq!(check_nesting("<div", 10), Ok(1), "a cut-off tag");
    }

    #[test]
    fn deep_nesting_is_refused_as_soon_as_it_passes_the_limit() {
        let deep = "<div>".repeat(100_000);
        assert_eq!(check_nesting(&deep, MAX_NESTING), Err(MAX_NESTING + 1));
        let wide = "<div></div>".repeat(100_000);
        assert_eq!(check_nesting(&wide, MAX_NESTING), Ok(1));
    }
}

#[cfg(test)]
mod corpus {
    use super::*;

    #[test]
    fn every_corpus_page_nests_far_below_the_limit() {
        let site = std::env::var_os("PAPERCAST_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/corpus/graphcore-research")
            })
            .join("site");
        let mut pages = 0;
        for entry in std::fs::read_dir(&site).expect("the corpus site") {
            let page = entry.expect("an entry").path().join("index.html");
            let Ok(html) = std::fs::read_to_string(&page) else {
                continue;
            };
            let depth = check_nesting(&html, MAX_NESTING).expect("a real page passes");
            assert!(depth * 10 < MAX_NESTING, "{}: {depth}", page.display());
            pages += 1;
        }
        assert!(pages >= 20, "{pages} pages");
    }
}
