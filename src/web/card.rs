//! A post's text as its network shows it to readers (pure): HTML-escaped, with links
//! (Bluesky's short link text leading to the full target) and hashtags marked up, and
//! line breaks kept.

use crate::model::Link;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark<'a> {
    Link(&'a str),
    Hashtag,
}

/// The post's text as HTML: every character escaped; links from `links` (a text shown
/// with its full target) and bare `http(s)://` addresses made links (other schemes are
/// left as text); `#Hashtags` marked.
pub fn post_html(text: &str, links: &[Link]) -> String {
    let mut spans: Vec<(usize, usize, Mark<'_>)> = Vec::new();
    let mut from = 0;
    for link in links {
        if link.text.is_empty() || !is_web(&link.url) {
            continue;
        }
        if let Some(at) = text[from..].find(&link.text) {
            let start = from + at;
            spans.push((start, start + link.text.len(), Mark::Link(&link.url)));
            from = start + link.text.len();
        }
    }
    let covered = |at: usize, spans: &[(usize, usize, Mark<'_>)]| {
        spans.iter().any(|(s, e, _)| at >= *s && at < *e)
    };
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    for (s, e) in words {
        if covered(s, &spans) {
            continue;
        }
        let word = &text[s..e];
        if is_web(word) {
            let end = s + word.trim_end_matches(['.', ',', ')', ';', ':']).len();
            spans.push((s, end, Mark::Link(&text[s..end])));
        } else if let Some(tag) = word.strip_prefix('#') {
            let length = tag
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map(|(i, _)| i)
                .unwrap_or(tag.len());
            if length > 0 {
                spans.push((s, s + 1 + length, Mark::Hashtag));
            }
        }
    }
    spans.sort_by_key(|(s, _, _)| *s);
    let mut html = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for (s, e, mark) in spans {
        if s < at {
            continue;
        }
        escape_into(&mut html, &text[at..s]);
        match mark {
            Mark::Link(url) => {
                html.push_str("<a class=\"link\" href=\"");
                escape_into(&mut html, url);
                html.push_str("\" rel=\"noopener nofollow\">");
                escape_into(&mut html, &text[s..e]);
                html.push_str("</a>");
            }
            Mark::Hashtag => {
                html.push_str("<span class=\"hashtag\">");
                escape_into(&mut html, &text[s..e]);
                html.push_str("</span>");
            }
        }
        at = e;
    }
    escape_into(&mut html, &text[at..]);
    html
}

fn is_web(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '\n' => html.push_str("<br>"),
            c => html.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses_and_hashtags_are_marked_and_the_rest_escaped() {
        let html = post_html(
            "A <b>bold</b> claim.\nPaper: https://arxiv.org/abs/2404.11912.\n#LLMs #Efficient_AI",
            &[],
        );
        assert_eq!(
            html,
            "A &lt;b&gt;bold&lt;/b&gt; claim.<br>Paper: <a class=\"link\" \
             href=\"https://arxiv.org/abs/2404.11912\" rel=\"noopener nofollow\">\
             https://arxiv.org/abs/2404.11912</a>.<br><span class=\"hashtag\">#LLMs</span> \
             <span class=\"hashtag\">#Efficient_AI</span>"
        );
    }

    #[test]
    fn a_short_link_text_leads_to_its_full_target() {
        let links = [Link {
            text: "arxiv.org/abs/2404.11912".into(),
            url: "https://arxiv.org/abs/2404.11912".into(),
        }];
        let html = post_html("Paper: arxiv.org/abs/2404.11912", &links);
        assert!(html.contains(
            "<a class=\"link\" href=\"https://arxiv.org/abs/2404.11912\" rel=\"noopener nofollow\">arxiv.org/abs/2404.11912</a>"
        ), "{html}");
    }

    #[test]
    fn other_schemes_and_quotes_in_targets_stay_inert() {
        let links = [Link {
            text: "click".into(),
            url: "javascript:alert(1)".into(),
        }];
        let html = post_html(
            "click javascript:alert(1) \"x\" https://a.example/\"onmouseover=",
            &links,
        );
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(
            html.contains("href=\"https://a.example/&quot;onmouseover=\""),
            "{html}"
        );
    }
}
