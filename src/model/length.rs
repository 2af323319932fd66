//! How each platform counts the length of a post (pure; see `shared/PLATFORMS.md`).
//!
//! - Mastodon: grapheme clusters, every URL as `characters_reserved_per_url` (23), a
//!   mention `@user@domain` as `@user`; limit `max_characters` from the server
//!   (default 500).
//! - Bluesky: grapheme clusters, URLs in full, 300 graphemes and 3000 UTF-8 bytes.
//! - X: twitter-text config v3 weights after NFC normalisation: code points in
//!   0–4351, 8192–8205, 8208–8223 and 8242–8247 weigh 1, all others 2, an emoji
//!   sequence (a ZWJ family, a flag, a keycap) 2 in all; every URL 23; limit 280.
//!
//! Where we cannot tell for sure how a server reads a piece of text (a URL whose
//! top-level domain we do not know, a bare domain on X), we count it the more
//! expensive way, so a post we call fitting is never refused for length.

use super::PlatformKind;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// The length limit of one platform (or one server of it) and how it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthRules {
    pub platform: PlatformKind,
    /// Largest allowed length, in the platform's own unit.
    pub max: usize,
    /// What one URL counts for, or `None` when URLs count in full.
    pub url_length: Option<usize>,
    /// Largest allowed size in UTF-8 bytes, where the platform has one.
    pub max_bytes: Option<usize>,
    /// Largest allowed image description (alt text) in characters, where the
    /// platform has a limit.
    #[serde(default)]
    pub max_alt: Option<usize>,
}

/// Mastodon's `configuration.media_attachments.description_limit` default.
pub const MASTODON_MAX_ALT: usize = 1500;
/// X's limit for `alt_text.text` in `POST /2/media/metadata`.
pub const X_MAX_ALT: usize = 1000;

impl LengthRules {
    pub fn mastodon(max_characters: usize, characters_reserved_per_url: usize) -> Self {
        LengthRules {
            platform: PlatformKind::Mastodon,
            max: max_characters,
            url_length: Some(characters_reserved_per_url),
            max_bytes: None,
            max_alt: Some(MASTODON_MAX_ALT),
        }
    }

    pub fn bluesky() -> Self {
        LengthRules {
            platform: PlatformKind::Bluesky,
            max: 300,
            url_length: None,
            max_bytes: Some(3000),
            max_alt: None,
        }
    }

    pub fn x() -> Self {
        LengthRules {
            platform: PlatformKind::X,
            max: 280,
            url_length: Some(23),
            max_bytes: None,
            max_alt: Some(X_MAX_ALT),
        }
    }

    /// The defaults for a platform, before any server has told us its own.
    pub fn default_for(platform: PlatformKind) -> Self {
        match platform {
            PlatformKind::Mastodon => Self::mastodon(500, 23),
            PlatformKind::Bluesky => Self::bluesky(),
            PlatformKind::X => Self::x(),
        }
    }

    /// The length of `text` as this platform counts it.
    pub fn count(&self, text: &str) -> usize {
        match self.platform {
            PlatformKind::X => x_weighted_length(text, self.url_length),
            PlatformKind::Mastodon => grapheme_length(text, self.url_length, true),
            PlatformKind::Bluesky => grapheme_length(text, self.url_length, false),
        }
    }

    /// Whether `text` fits within this platform's limits.
    pub fn fits(&self, text: &str) -> bool {
        self.max_bytes.is_none_or(|max| text.len() <= max) && self.count(text) <= self.max
    }

    /// Whether `alt` fits this platform's limit for image descriptions.
    pub fn alt_fits(&self, alt: &str) -> bool {
        self.max_alt.is_none_or(|max| alt.chars().count() <= max)
    }
}

/// Grapheme clusters, with URLs at `url_length` (when set) and, for Mastodon,
/// a remote mention counted as its local part.
fn grapheme_length(text: &str, url_length: Option<usize>, mentions: bool) -> usize {
    let mut spans: Vec<(Range<usize>, usize)> = Vec::new();
    if let Some(url_length) = url_length {
        for url in find_urls(text, false) {
            let full = text[url.range.clone()].graphemes(true).count();
            spans.push((url.range.clone(), url.weight(url_length, full)));
        }
    }
    if mentions {
        for mention in find_remote_mentions(text) {
            if spans.iter().all(|(r, _)| !overlaps(r, &mention.full)) {
                let local = text[mention.local.clone()].graphemes(true).count();
                spans.push((mention.full, local));
            }
        }
    }
    spans.sort_by_key(|(r, _)| r.start);
    count_with_spans(text, &spans, |segment| segment.graphemes(true).count())
}

/// twitter-text v3 weighted length.
fn x_weighted_length(text: &str, url_length: Option<usize>) -> usize {
    let text: String = text.nfc().collect();
    let mut spans: Vec<(Range<usize>, usize)> = Vec::new();
    if let Some(url_length) = url_length {
        for url in find_urls(&text, true) {
            let full = x_weight_of_text(&text[url.range.clone()]);
            spans.push((url.range.clone(), url.weight(url_length, full)));
        }
    }
    count_with_spans(&text, &spans, x_weight_of_text)
}

/// Sums `count` over the text outside `spans` (sorted, disjoint) plus each span's own
/// weight.
fn count_with_spans(
    text: &str,
    spans: &[(Range<usize>, usize)],
    count: impl Fn(&str) -> usize,
) -> usize {
    let mut total = 0;
    let mut at = 0;
    for (range, weight) in spans {
        total += count(&text[at..range.start]) + weight;
        at = range.end;
    }
    total + count(&text[at..])
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// X's weight of text that holds no URL.
fn x_weight_of_text(text: &str) -> usize {
    text.graphemes(true)
        .map(|cluster| {
            if is_emoji_sequence(cluster) {
                2
            } else {
                cluster.chars().map(x_code_point_weight).sum()
            }
        })
        .sum()
}

fn x_code_point_weight(c: char) -> usize {
    match u32::from(c) {
        // © and ® are emoji to twitter-text's emoji parser even without U+FE0F;
        // counting them as emoji can only over-count.
        0xA9 | 0xAE => 2,
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

/// Whether a grapheme cluster of several code points is one emoji (which twitter-text
/// counts as 2 however many code points it has): it starts with a pictograph or a
/// regional indicator, or it is a keycap or a text symbol made emoji by U+FE0F. A
/// joiner alone does not make an emoji: `क्\u{200D}ष` is Devanagari and counts 4.
fn is_emoji_sequence(cluster: &str) -> bool {
    let mut chars = cluster.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if chars.next().is_none() {
        return false;
    }
    let pictograph = matches!(
        u32::from(first),
        0x1F000..=0x1FAFF | 0x2190..=0x21FF | 0x2300..=0x23FF | 0x2460..=0x27BF | 0x2900..=0x2BFF
    );
    let presented = (first.is_ascii_digit()
        || matches!(first, '#' | '*' | '©' | '®' | '‼' | '⁉' | '™'))
        && cluster
            .chars()
            .any(|c| matches!(c, '\u{FE0F}' | '\u{20E3}'));
    pictograph || presented
}

/// A URL found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpan {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// Whether a platform surely treats it as a link: it has a scheme and a host
    /// under a top-level domain we know. Otherwise it may count in full.
    pub certain: bool,
}

impl UrlSpan {
    /// What the URL counts for when URLs count as `url_length` and the URL's own
    /// text counts `full`.
    fn weight(&self, url_length: usize, full: usize) -> usize {
        if self.certain {
            url_length
        } else {
            url_length.max(full)
        }
    }
}

/// The `http://` and `https://` URLs in `text`, and also bare domains such as
/// `example.com/page` when `bare_domains` is set (X links those too).
///
/// A URL ends where twitter-text's would: at white space or a character not allowed
/// in a URL, and trailing punctuation (`.`, `,`, `:`, `!`, `?`, quotes, an unbalanced
/// `)`) is not part of it.
pub fn find_urls(text: &str, bare_domains: bool) -> Vec<UrlSpan> {
    let bytes = text.as_bytes();
    let mut urls = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // `i` is always on a character boundary.
        let boundary_before = i == 0 || !is_url_word_byte(bytes[i - 1]);
        if !boundary_before {
            i += next_char_len(text, i);
            continue;
        }
        if let Some(scheme_len) = scheme_at(&bytes[i..]) {
            let end = url_end(text, i + scheme_len);
            let host = host_of(&text[i + scheme_len..end]);
            if !host.is_empty() {
                urls.push(UrlSpan {
                    range: i..end,
                    certain: known_tld(host),
                });
                i = end;
                continue;
            }
        } else if bare_domains && bytes[i].is_ascii_alphanumeric() && !preceded_by_at(bytes, i) {
            if let Some(end) = bare_domain_at(text, i) {
                urls.push(UrlSpan {
                    range: i..end,
                    certain: false,
                });
                i = end;
                continue;
            }
        }
        i += next_char_len(text, i);
    }
    urls
}

fn next_char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// Bytes that make a URL start in the middle of a word when they come before it.
fn is_url_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b'@' | b'#' | b'$')
}

fn preceded_by_at(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1] == b'@'
}

fn scheme_at(rest: &[u8]) -> Option<usize> {
    ["https://", "http://"].into_iter().find_map(|scheme| {
        let head = rest.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme.as_bytes())
            .then_some(scheme.len())
    })
}

/// Characters twitter-text allows inside a URL after the scheme.
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | ':'
                | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | '%'
                | '|'
        )
}

/// Characters a URL may end with; anything else at the end is punctuation around it.
fn is_url_end_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '=' | '_' | '#' | '-' | '+' | '&')
}

/// The end (byte offset) of a URL whose body starts at `start`.
fn url_end(text: &str, start: usize) -> usize {
    let mut end = start;
    for (offset, c) in text[start..].char_indices() {
        if !is_url_char(c) {
            break;
        }
        end = start + offset + c.len_utf8();
    }
    // Drop trailing punctuation, keeping a `)` that closes a `(` inside the URL
    // (Wikipedia-style links).
    loop {
        let body = &text[start..end];
        let Some(last) = body.chars().last() else {
            break;
        };
        let keep = if last == ')' {
            body.matches('(').count() >= body.matches(')').count()
        } else {
            is_url_end_char(last)
        };
        if keep {
            break;
        }
        end -= last.len_utf8();
    }
    end
}

/// The host part of a URL body (after the scheme).
fn host_of(body: &str) -> &str {
    let authority = body.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    host_port.split(':').next().unwrap_or(host_port)
}

/// A bare domain (`example.com`, `sub.example.org/path`) starting at `start`.
fn bare_domain_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'.' | b'-'))
    {
        end += 1;
    }
    let mut host = &text[start..end];
    while let Some(stripped) = host.strip_suffix(['.', '-']) {
        host = stripped;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    if !known_tld(host) {
        return None;
    }
    let host_end = start + host.len();
    // A domain glued to more word characters (`example.com_x`, `a.com@b`) is not a link.
    match text[host_end..].chars().next() {
        Some(c) if c.is_alphanumeric() || c == '@' || c == '_' => return None,
        Some('/') => return Some(url_end(text, start)),
        _ => {}
    }
    Some(host_end)
}

/// Whether `host`'s top-level domain is one that every platform links: any
/// two-letter country code, or a common generic one.
fn known_tld(host: &str) -> bool {
    const GENERIC: &[&str] = &[
        "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "io", "ai",
        "app", "dev", "xyz", "social", "online", "site", "blog", "tech", "science", "page", "news",
        "cloud", "club", "network", "space", "website", "zone",
    ];
    let host = host.trim_end_matches('.');
    let Some(tld) = host.rsplit('.').next() else {
        return false;
    };
    if !host.contains('.') {
        return false;
    }
    let tld = tld.to_ascii_lowercase();
    (tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        || GENERIC.contains(&tld.as_str())
}

/// A remote mention `@user@domain`, which Mastodon counts as `@user`.
struct Mention {
    full: Range<usize>,
    /// `@user`.
    local: Range<usize>,
}

fn find_remote_mentions(text: &str) -> Vec<Mention> {
    let bytes = text.as_bytes();
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i] == b'@'
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || matches!(bytes[i - 1], b'_' | b'/' | b'@')));
        if !starts {
            i += 1;
            continue;
        }
        let user_start = i + 1;
        let mut user_end = user_start;
        while user_end < bytes.len()
            && (bytes[user_end].is_ascii_alphanumeric()
                || matches!(bytes[user_end], b'_' | b'.' | b'-'))
        {
            user_end += 1;
        }
        // A user name ends with a word character.
        while user_end > user_start && matches!(bytes[user_end - 1], b'.' | b'-') {
            user_end -= 1;
        }
        if user_end == user_start || bytes.get(user_end) != Some(&b'@') {
            i = user_end.max(i + 1);
            continue;
        }
        let domain_start = user_end + 1;
        let mut domain_end = domain_start;
        while domain_end < bytes.len()
            && (bytes[domain_end].is_ascii_alphanumeric()
                || matches!(bytes[domain_end], b'_' | b'.' | b'-'))
        {
            domain_end += 1;
        }
        while domain_end > domain_start && matches!(bytes[domain_end - 1], b'.' | b'-') {
            domain_end -= 1;
        }
        let domain = &text[domain_start..domain_end];
        if domain.contains('.') {
            mentions.push(Mention {
                full: i..domain_end,
                local: i..user_end,
            });
            i = domain_end;
        } else {
            i = user_end;
        }
    }
    mentions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mastodon() -> LengthRules {
        LengthRules::mastodon(500, 23)
    }

    #[test]
    fn graphemes_count_combining_marks_flags_and_families_once() {
        // "é" as e + U+0301, the flag of Wales (tag sequence), GB's flag (regional
        // indicators), a ZWJ family, a thumbs-up with skin tone.
        let text = "e\u{301} 🏴\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F} 🇬🇧 👨\u{200D}👩\u{200D}👧\u{200D}👦 👍🏽";
        assert_eq!(mastodon().count(text), 9);
        assert_eq!(LengthRules::bluesky().count(text), 9);
        assert_eq!(mastodon().count("Über"), 4);
        assert_eq!(mastodon().count(""), 0);
    }

    #[test]
    fn x_weighs_cjk_twice_and_latin_once() {
        let x = LengthRules::x();
        assert_eq!(x.count("hello"), 5);
        assert_eq!(x.count("日本語"), 6);
        assert_eq!(x.count("한국어 text"), 11);
        // General punctuation: en dash and curly quotes weigh 1, the ellipsis 2.
        assert_eq!(x.count("–“”"), 3);
        assert_eq!(x.count("…"), 2);
        // 140 CJK characters fill a post, 141 overflow it.
        assert!(x.fits(&"字".repeat(140)));
        assert!(!x.fits(&"字".repeat(141)));
    }

    #[test]
    fn x_normalises_to_nfc_first() {
        let x = LengthRules::x();
        // e + combining acute composes to é: one code point of weight 1.
        assert_eq!(x.count("e\u{301}"), 1);
        // A Hangul syllable written as jamo composes to one syllable, weight 2.
        assert_eq!(x.count("\u{1112}\u{1161}\u{11AB}"), 2);
    }

    #[test]
    fn x_counts_an_emoji_sequence_as_two() {
        let x = LengthRules::x();
        assert_eq!(x.count("😀"), 2);
        assert_eq!(x.count("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 2);
        assert_eq!(x.count("🇬🇧"), 2);
        assert_eq!(x.count("👍🏽"), 2);
        assert_eq!(x.count("❤\u{FE0F}"), 2);
        assert_eq!(x.count("1\u{FE0F}\u{20E3}"), 2);
        assert_eq!(x.count("🧵 thread"), 9);
    }

    /// Cases from twitter-text's own conformance suite (`conformance/validate.yml`,
    /// section `WeightedTweetsWithDiscountedEmojiCounterTest`, which uses config v3)
    /// and its Objective-C test of joiners.
    #[test]
    fn x_agrees_with_twitter_text_conformance() {
        let x = LengthRules::x();
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
        let cases: Vec<(String, usize)> = vec![
            (family.repeat(140), 280),
            (
                "Unicode 10.0 emoji: 🤪; 🧕; 🧕\u{1F3FE}; 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}".into(),
                34,
            ),
            ("Unicode 9.0 emoji: 🤠; 💃; 💃\u{1F3FE}".into(), 29),
            (format!("H🐱☺{family}"), 7),
            ("😷👾😡🔥💩".into(), 10),
            ("🙋\u{1F3FD}👨\u{200D}🎤".into(), 4),
            ("1\u{20E3}".into(), 2),
            ("https://www.twitter.com/aloha ".repeat(10), 240),
            (
                "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。".repeat(5),
                320,
            ),
            ("A\u{301}B".into(), 2),
            ("A\u{FB2C}".into(), 4),
            (
                "This is a tweet with general punctuation characters: \u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{200B}\u{200C}\u{200D} ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷".into(),
                112,
            ),
            (
                "randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com".into(),
                68,
            ),
            (
                "ZWJ: क्ष -> क्\u{200D}ष; ZWNJ: क्ष -> क्\u{200C}ष".into(),
                35,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(x.count(&text), expected, "{text}");
        }
    }

    #[test]
    fn urls_weigh_per_platform() {
        let url = "https://graphcore-research.github.io/2026-03-03-potm/#think-deep-not-just-long-measuring-llm-reasoning-effort-via-deep-thinking-tokens";
        let text = format!("Review: {url}");
        assert_eq!(mastodon().count(&text), 8 + 23);
        assert_eq!(LengthRules::x().count(&text), 8 + 23);
        assert_eq!(LengthRules::bluesky().count(&text), 8 + url.len());
        // Non-ASCII text around a URL.
        assert_eq!(
            mastodon().count("Über—https://arxiv.org/abs/1 日本"),
            5 + 23 + 3
        );
        assert_eq!(
            LengthRules::x().count("日本https://arxiv.org/abs/1"),
            4 + 23
        );
        // A short URL still counts 23 where URLs are shortened.
        assert_eq!(mastodon().count("http://a.io"), 23);
        assert_eq!(
            LengthRules::mastodon(500, 30).count("see https://arxiv.org/abs/2509.15207"),
            34
        );
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_a_url() {
        let text = "See https://arxiv.org/abs/2509.15207. Or (https://example.com/a_(b)), https://example.org/x?y=1!";
        let urls: Vec<&str> = find_urls(text, false)
            .into_iter()
            .map(|u| &text[u.range])
            .collect();
        assert_eq!(
            urls,
            [
                "https://arxiv.org/abs/2509.15207",
                "https://example.com/a_(b)",
                "https://example.org/x?y=1"
            ]
        );
        // The full stop after a URL counts as one character.
        assert_eq!(mastodon().count("https://arxiv.org/abs/2509.15207."), 24);
    }

    #[test]
    fn a_url_with_an_unknown_domain_counts_at_least_in_full() {
        let long = "https://very-long-host-name-for-testing.internal/path";
        assert_eq!(mastodon().count(long), long.len());
        assert_eq!(mastodon().count("https://a.internal"), 23);
    }

    #[test]
    fn x_counts_bare_domains_as_links() {
        let x = LengthRules::x();
        // twitter-text links `arxiv.org`; it counts 23, not 9.
        assert_eq!(x.count("on arxiv.org today"), 3 + 23 + 6);
        // A bare domain may or may not be linked: it counts the larger of 23 and its
        // own length (24 here).
        assert_eq!(x.count("see arxiv.org/abs/2509.15207."), 4 + 24 + 1);
        // Mastodon and Bluesky do not link bare domains.
        assert_eq!(mastodon().count("on arxiv.org today"), 18);
        // Not domains: abbreviations, file names, e-mail addresses, decimals.
        assert_eq!(x.count("e.g. U.S. v1.5 model.safetensors"), 32);
        assert_eq!(find_urls("mail me@example.com", true), vec![]);
    }

    #[test]
    fn mastodon_counts_a_remote_mention_as_its_local_part() {
        assert_eq!(mastodon().count("hi @gc@sigmoid.social!"), 3 + 3 + 1);
        assert_eq!(mastodon().count("hi @gc"), 6);
        // Bluesky and X count it in full.
        assert_eq!(LengthRules::bluesky().count("@gc@sigmoid.social"), 18);
        // An e-mail address is not a mention.
        assert_eq!(mastodon().count("a@b.social"), 10);
    }

    #[test]
    fn bluesky_also_limits_bytes() {
        let bluesky = LengthRules::bluesky();
        // A ZWJ family is one grapheme of 25 bytes: 200 of them are well within 300
        // graphemes but over 3000 bytes.
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
        let text = family.repeat(200);
        assert_eq!(bluesky.count(&text), 200);
        assert!(text.len() > 3000);
        assert!(!bluesky.fits(&text));
        assert!(bluesky.fits(&family.repeat(100)));
        assert!(bluesky.fits(&"a".repeat(300)));
        assert!(!bluesky.fits(&"a".repeat(301)));
    }

    #[test]
    fn alt_text_limits() {
        assert!(LengthRules::x().alt_fits(&"a".repeat(1000)));
        assert!(!LengthRules::x().alt_fits(&"a".repeat(1001)));
        assert!(!mastodon().alt_fits(&"a".repeat(1501)));
        assert!(LengthRules::bluesky().alt_fits(&"a".repeat(5000)));
    }
}
