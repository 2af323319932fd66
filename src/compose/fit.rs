//! Fitting a rendered post to a platform's length rules: the summary is the only text
//! that may be shortened; when that is not enough, the post is split in two or more.
//!
//! Templates render the summary as a mark ([`SUMMARY_MARK`]) that is replaced here,
//! so that fitting knows which text it may shorten and never touches a title, a name
//! or a URL.

use super::ComposeError;
use crate::model::LengthRules;
use unicode_segmentation::UnicodeSegmentation;

/// Stands for the summary in a rendered template until fitting chooses its length.
/// Private-use characters only, so it cannot clash with text from a blog post and
/// filters that change case or trim leave it alone.
pub(crate) const SUMMARY_MARK: &str = "\u{F8FF}\u{F8FE}\u{F8FD}\u{F8FE}\u{F8FF}";

/// Below this many graphemes a shortened summary says too little: the post is split
/// instead, and the summary gets the room of a post of its own.
pub(crate) const MIN_SUMMARY_GRAPHEMES: usize = 80;

const ELLIPSIS: &str = "…";

/// Words a shortened summary should not end on ("…of the…").
const WEAK_ENDINGS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or",
    "that", "the", "to", "via", "with", "which", "are", "its", "their",
];

/// The summary of a paper as fitting sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// The summary as it stands, used whenever it fits.
    pub full: String,
    /// The text to shorten when the full summary does not fit: the same summary
    /// without what the post already says (a repeated title).
    pub shortenable: String,
}

impl Summary {
    #[cfg(test)]
    pub fn new(full: String, shortenable: String) -> Self {
        Summary { full, shortenable }
    }
}

/// Whether `text` fits once its links show as the platform shows them.
pub(crate) fn fits(rules: &LengthRules, text: &str) -> bool {
    rules.fits(&super::links::resolve(text, rules.platform).0)
}

/// Number of grapheme clusters, the unit summaries are measured in.
pub(crate) fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Tidies rendered text: no trailing spaces on a line, at most one blank line in a
/// row, no blank lines at either end.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Fits one rendered post, which may hold [`SUMMARY_MARK`], into one post or, where
/// it must, several: the full summary if it fits; else the summary shortened at a
/// sentence or word boundary, if no shorter than the minimum; else the post split at
/// its paragraphs (then lines, then words) with the summary as long as its own post
/// allows. A split never falls inside one of the `keep_whole` texts (a title, names)
/// unless that text alone is longer than a post.
pub(crate) fn fit(
    rendered: &str,
    summary: &Summary,
    keep_whole: &[&str],
    rules: &LengthRules,
) -> Result<Vec<String>, ComposeError> {
    let rendered = tidy(rendered);
    let fill = |s: &str| tidy(&rendered.replace(SUMMARY_MARK, s));
    if !rendered.contains(SUMMARY_MARK) || summary.full.is_empty() {
        let text = fill("");
        if fits(rules, &text) {
            return Ok(vec![text]);
        }
        return split(&text, None, keep_whole, rules);
    }
    let minimum = minimum_summary(&summary.shortenable);
    if let Some(chosen) = longest_summary(summary, |s| fits(rules, &fill(s))) {
        if graphemes(&chosen) >= graphemes(&minimum) {
            return Ok(vec![fill(&chosen)]);
        }
    }
    split(&rendered, Some((summary, &minimum)), keep_whole, rules)
}

/// Splits a post that does not fit. `summary` is the summary with its shortest
/// acceptable form, when the text holds the mark.
fn split(
    text: &str,
    summary: Option<(&Summary, &str)>,
    keep_whole: &[&str],
    rules: &LengthRules,
) -> Result<Vec<String>, ComposeError> {
    let minimum = summary.map_or("", |(_, minimum)| minimum);
    let probe_fits = |t: &str| fits(rules, &tidy(&t.replace(SUMMARY_MARK, minimum)));

    // The pieces a post can be built from, each with the separator that goes before
    // it: whole paragraphs where they fit a post, else their lines, else their words.
    let mut pieces: Vec<(&str, &str)> = Vec::new();
    for paragraph in text.split("\n\n") {
        if probe_fits(paragraph) {
            pieces.push((paragraph, "\n\n"));
            continue;
        }
        for (i, line) in paragraph.lines().enumerate() {
            let line_sep = if i == 0 { "\n\n" } else { "\n" };
            if probe_fits(line) {
                pieces.push((line, line_sep));
                continue;
            }
            let mut first = true;
            for unit in units_of_line(line, keep_whole) {
                // A unit longer than a post (names longer than a post) must break
                // at its words.
                let words: Vec<&str> = if probe_fits(unit) {
                    vec![unit]
                } else {
                    unit.split(' ').filter(|w| !w.is_empty()).collect()
                };
                for word in words {
                    if !probe_fits(word) {
                        let word = word.replace(SUMMARY_MARK, minimum);
                        return Err(ComposeError::DoesNotFit(format!(
                            "`{word}` alone counts {} on {}, over the limit of {}; shorten \
                             the template or raise the limit",
                            rules.count(&word),
                            rules.platform,
                            rules.max
                        )));
                    }
                    pieces.push((word, if first { line_sep } else { " " }));
                    first = false;
                }
            }
        }
    }

    // Pack the pieces greedily, in a few ways: as they come, or starting a new post
    // before and/or after the summary. The fewest posts win, then the longest summary
    // (greedy packing alone may squeeze the summary in beside the title when a post of
    // its own, with the links, would hold all of it).
    let summary_piece = pieces.iter().position(|(p, _)| p.contains(SUMMARY_MARK));
    let mut best: Option<(Vec<String>, usize)> = None;
    for (break_before, break_after) in [(false, false), (true, false), (false, true), (true, true)]
    {
        if summary_piece.is_none() && (break_before || break_after) {
            continue;
        }
        let breaks = |i: usize| {
            summary_piece.is_some_and(|s| (break_before && i == s) || (break_after && i == s + 1))
        };
        let mut posts: Vec<String> = Vec::new();
        let mut current = String::new();
        for (i, (piece, sep)) in pieces.iter().enumerate() {
            let candidate = if current.is_empty() {
                (*piece).to_owned()
            } else {
                format!("{current}{sep}{piece}")
            };
            if current.is_empty() || (!breaks(i) && probe_fits(&candidate)) {
                current = candidate;
            } else {
                posts.push(std::mem::replace(&mut current, (*piece).to_owned()));
            }
        }
        if !current.is_empty() {
            posts.push(current);
        }
        let (posts, kept) = give_summary_room(posts, summary, rules);
        let better = best.as_ref().is_none_or(|(best_posts, best_kept)| {
            (posts.len(), std::cmp::Reverse(kept))
                < (best_posts.len(), std::cmp::Reverse(*best_kept))
        });
        if better {
            best = Some((posts, kept));
        }
    }
    Ok(best.map(|(posts, _)| posts).unwrap_or_default())
}

/// Fills in the summary of the post that holds its mark, as long as that post
/// allows; the posts, and how many graphemes of summary they kept.
fn give_summary_room(
    posts: Vec<String>,
    summary: Option<(&Summary, &str)>,
    rules: &LengthRules,
) -> (Vec<String>, usize) {
    let mut kept = 0;
    let posts = posts
        .into_iter()
        .map(|post| match summary {
            Some((summary, minimum)) if post.contains(SUMMARY_MARK) => {
                let fill = |s: &str| tidy(&post.replace(SUMMARY_MARK, s));
                let chosen = longest_summary(summary, |s| fits(rules, &fill(s)))
                    .unwrap_or_else(|| minimum.to_owned());
                kept = graphemes(&chosen);
                fill(&chosen)
            }
            _ => tidy(&post),
        })
        .collect();
    (posts, kept)
}

/// The longest form of the summary that `fits`: all of it, else all of its
/// shortenable text, else that text shortened.
fn longest_summary(summary: &Summary, fits: impl Fn(&str) -> bool) -> Option<String> {
    [&summary.full, &summary.shortenable]
        .into_iter()
        .find(|s| fits(s))
        .cloned()
        .or_else(|| shorten(&summary.shortenable, fits))
}

/// A line cut at its spaces, except spaces inside any of the `keep_whole` texts.
fn units_of_line<'a>(line: &'a str, keep_whole: &[&str]) -> Vec<&'a str> {
    let kept: Vec<std::ops::Range<usize>> = keep_whole
        .iter()
        .filter(|text| text.contains(' '))
        .flat_map(|text| line.match_indices(*text).map(|(i, m)| i..i + m.len()))
        .collect();
    let mut units = Vec::new();
    let mut start = 0;
    for (i, c) in line.char_indices() {
        if c == ' ' && !kept.iter().any(|r| r.contains(&i)) {
            if start < i {
                units.push(&line[start..i]);
            }
            start = i + 1;
        }
    }
    if start < line.len() {
        units.push(&line[start..]);
    }
    units
}

/// The shortest form of a summary that is still worth posting: its first words up
/// to [`MIN_SUMMARY_GRAPHEMES`], or all of it when it is that short.
fn minimum_summary(text: &str) -> String {
    if graphemes(text) <= MIN_SUMMARY_GRAPHEMES {
        return text.to_owned();
    }
    let ends = word_ends(text);
    (1..ends.len())
        .map(|k| cut_at_words(text, &ends, k))
        .find(|cut| graphemes(cut) >= MIN_SUMMARY_GRAPHEMES)
        .unwrap_or_else(|| text.to_owned())
}

/// The longest shortening of `text` that `fits`: whole sentences, or words followed
/// by an ellipsis, whichever keeps more (sentences win unless they keep under two
/// thirds of what the words would). `None` when not even one word fits.
pub(crate) fn shorten(text: &str, fits: impl Fn(&str) -> bool) -> Option<String> {
    let ends = word_ends(text);
    let by_words = longest_fitting(ends.len().saturating_sub(1), |k| {
        let cut = cut_at_words(text, &ends, k);
        fits(&cut).then_some(cut)
    });

    let sentences: Vec<&str> = text.split_sentence_bounds().collect();
    let by_sentences = (1..sentences.len()).rev().find_map(|k| {
        let cut = sentences[..k].concat().trim_end().to_owned();
        (!cut.is_empty() && fits(&cut)).then_some(cut)
    });

    match (by_sentences, by_words) {
        (Some(s), Some(w)) if graphemes(&s) * 3 >= graphemes(&w) * 2 => Some(s),
        (Some(s), None) => Some(s),
        (_, w) => w,
    }
}

/// The largest `k` in `1..=max` for which `attempt(k)` gives a value, assuming that
/// whatever fits with `k` words also fits with fewer; its value.
fn longest_fitting(max: usize, attempt: impl Fn(usize) -> Option<String>) -> Option<String> {
    let (mut low, mut high) = (1, max);
    let mut best = None;
    while low <= high {
        let mid = low + (high - low) / 2;
        match attempt(mid) {
            Some(value) => {
                best = Some(value);
                low = mid + 1;
            }
            None => high = mid - 1,
        }
    }
    best
}

/// Where words end in `text` (byte offsets, the last one its end): before white
/// space, and between characters of scripts written without spaces (Chinese,
/// Japanese), so those can be cut too. A URL has neither inside it.
fn word_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    // The end of the last character that was not white space, and that character.
    let mut previous: Option<(usize, char)> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some((end, _)) = previous.take() {
                ends.push(end);
            }
            continue;
        }
        if let Some((end, p)) = previous {
            if (is_unspaced_script(p) || is_unspaced_script(c))
                && !is_closing_mark(c)
                && !is_opening_mark(p)
            {
                ends.push(end);
            }
        }
        previous = Some((i + c.len_utf8(), c));
    }
    if let Some((end, _)) = previous {
        ends.push(end);
    }
    ends
}

fn is_unspaced_script(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF
    )
}

/// Punctuation that must not start a line (it closes what comes before).
fn is_closing_mark(c: char) -> bool {
    matches!(
        c,
        '、' | '。'
            | '，'
            | '．'
            | '！'
            | '？'
            | '：'
            | '；'
            | '」'
            | '』'
            | '）'
            | '】'
            | '〉'
            | '》'
            | 'ー'
            | '・'
    ) || !c.is_alphanumeric() && !is_unspaced_script(c) && !is_opening_mark(c)
}

/// Punctuation that must not end a line (it opens what comes after).
fn is_opening_mark(c: char) -> bool {
    matches!(
        c,
        '「' | '『' | '（' | '【' | '〈' | '《' | '(' | '[' | '"' | '“' | '‘'
    )
}

/// The first `k` words of `text` (whose word ends are `ends`), without trailing
/// punctuation or a dangling small word, with an ellipsis.
fn cut_at_words(text: &str, ends: &[usize], k: usize) -> String {
    let mut k = k.clamp(1, ends.len().max(1));
    let prefix = |k: usize| ends.get(k - 1).map_or(text, |end| &text[..*end]);
    while k > 1 {
        let last = prefix(k)
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default()
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if WEAK_ENDINGS.contains(&last.as_str()) {
            k -= 1;
        } else {
            break;
        }
    }
    let trimmed = prefix(k).trim_end_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';'
                    | ':'
                    | '.'
                    | '-'
                    | '–'
                    | '—'
                    | '('
                    | '['
                    | '{'
                    | '"'
                    | '\''
                    | '“'
                    | '‘'
                    | '/'
                    | '、'
                    | '，'
                    | '：'
                    | '；'
            )
    });
    format!("{trimmed}{ELLIPSIS}")
}

/// Shortens an image description to `max` characters at a word boundary.
pub(crate) fn shorten_alt(alt: &str, max: Option<usize>) -> String {
    match max {
        Some(max) if alt.chars().count() > max => {
            shorten(alt, |s| s.chars().count() <= max).unwrap_or_else(|| {
                // One word longer than the limit: cut it by characters.
                let mut cut: String = alt.chars().take(max.saturating_sub(1)).collect();
                cut.push_str(ELLIPSIS);
                cut
            })
        }
        _ => alt.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PlatformKind;

    fn limit(max: usize) -> LengthRules {
        LengthRules {
            max,
            ..LengthRules::default_for(PlatformKind::Mastodon)
        }
    }

    #[test]
    fn tidy_trims_lines_and_collapses_blank_runs() {
        assert_eq!(tidy("\n a  \n\n\n\nb\t\nc\n\n"), " a\n\nb\nc");
    }

    #[test]
    fn shortening_cuts_at_a_word_boundary_with_an_ellipsis() {
        let text = "Set Block Decoding accelerates LLM inference by generating multiple tokens in parallel.";
        let short = shorten(text, |s| graphemes(s) <= 40).expect("something fits");
        assert_eq!(short, "Set Block Decoding accelerates LLM…");
        assert!(text.starts_with(short.trim_end_matches('…')));
    }

    #[test]
    fn shortening_drops_dangling_small_words_and_punctuation() {
        let text = "It uses the force field of the molecule, then a reward model.";
        assert_eq!(
            shorten(text, |s| graphemes(s) <= 30).as_deref(),
            Some("It uses the force field…")
        );
        assert_eq!(
            shorten(text, |s| graphemes(s) <= 41).as_deref(),
            Some("It uses the force field of the molecule…")
        );
    }

    #[test]
    fn shortening_prefers_whole_sentences() {
        let text = "Co-training a small model is efficient. It filters data. It saves a lot of compute overall.";
        assert_eq!(
            shorten(text, |s| graphemes(s) <= 60).as_deref(),
            Some("Co-training a small model is efficient. It filters data.")
        );
        // When a sentence keeps much less than words would, words win.
        let text = "Short one. Then a much longer second sentence that goes on and on for a while.";
        assert_eq!(
            shorten(text, |s| graphemes(s) <= 60).as_deref(),
            Some("Short one. Then a much longer second sentence that goes…")
        );
    }

    #[test]
    fn shortening_never_breaks_a_url() {
        let text = "See https://arxiv.org/abs/2509.15207 for the full derivation of the bound.";
        for max in 5..graphemes(text) {
            if let Some(short) = shorten(text, |s| graphemes(s) <= max) {
                assert!(graphemes(&short) <= max);
                assert!(
                    !short.contains("https://")
                        || short.contains("https://arxiv.org/abs/2509.15207"),
                    "{short}"
                );
            }
        }
    }

    #[test]
    fn nothing_fits_gives_none() {
        assert_eq!(shorten("Extraordinarily long", |s| graphemes(s) <= 3), None);
    }

    fn summary(text: &str) -> Summary {
        Summary::new(text.into(), text.into())
    }

    #[test]
    fn a_post_that_fits_is_left_alone() {
        let rendered = format!("Title\n\n{SUMMARY_MARK}\n\nhttps://arxiv.org/abs/1");
        let posts = fit(&rendered, &summary("A short summary."), &[], &limit(500)).expect("fits");
        assert_eq!(
            posts,
            ["Title\n\nA short summary.\n\nhttps://arxiv.org/abs/1"]
        );
    }

    #[test]
    fn only_the_summary_is_shortened() {
        let title = "An Unbreakable Title: Forty-Odd Characters";
        let long_summary = "word ".repeat(60);
        let rendered = format!("{title}\nAda Lovelace (Analytical Engines)\n\n{SUMMARY_MARK}\n\nhttps://arxiv.org/abs/2509.15207");
        let rules = limit(200);
        let posts = fit(&rendered, &summary(long_summary.trim()), &[title], &rules).expect("fits");
        assert_eq!(posts.len(), 1, "{posts:?}");
        let post = &posts[0];
        assert!(rules.fits(post));
        assert!(post.starts_with(&format!(
            "{title}\nAda Lovelace (Analytical Engines)\n\nword word"
        )));
        assert!(
            post.ends_with("word…\n\nhttps://arxiv.org/abs/2509.15207"),
            "{post}"
        );
    }

    #[test]
    fn a_post_is_split_rather_than_the_summary_cut_below_the_minimum() {
        let title = "T".repeat(60);
        let rendered = format!("{title}\n\n{SUMMARY_MARK}\n\nPaper: https://arxiv.org/abs/2509.15207\nReview: https://example.org/a");
        let text = "This summary has quite a few words in it, more than fit beside the title and the links of this post.";
        let rules = limit(150);
        let posts = fit(&rendered, &summary(text), &[&title], &rules).expect("fits");
        assert!(posts.len() >= 2, "{posts:?}");
        assert!(posts.iter().all(|p| rules.fits(p)));
        let all = posts.join("\n");
        assert!(all.contains(&title));
        assert!(all.contains("https://arxiv.org/abs/2509.15207"));
        assert!(all.contains("https://example.org/a"));
        // With a post of its own the summary keeps more than the minimum.
        let kept = posts
            .iter()
            .find(|p| p.contains("This summary"))
            .expect("summary kept");
        assert!(rules.fits(kept));
    }

    #[test]
    fn long_fixed_lines_split_at_lines_then_words() {
        let orgs = "University of Somewhere, ".repeat(8);
        let rendered = format!("A title\n{}\n\nhttps://arxiv.org/abs/1", orgs.trim());
        let rules = limit(100);
        let posts = fit(&rendered, &summary(""), &[], &rules).expect("fits");
        assert!(posts.iter().all(|p| rules.fits(p)), "{posts:?}");
        // Every word survives, in order.
        let words: Vec<&str> = posts.iter().flat_map(|p| p.split_whitespace()).collect();
        let expected: Vec<&str> = rendered.split_whitespace().collect();
        assert_eq!(words, expected);
    }

    #[test]
    fn a_word_longer_than_a_post_is_an_error() {
        let rules = LengthRules::bluesky();
        let url = format!("https://example.org/{}", "a".repeat(300));
        let err = fit(&url, &summary(""), &[], &rules).expect_err("cannot fit");
        assert!(err.to_string().contains("over the limit of 300"), "{err}");
    }

    #[test]
    fn alt_text_is_cut_at_a_word_boundary() {
        let alt = "A diagram of the model. ".repeat(60);
        let short = shorten_alt(alt.trim(), Some(1000));
        assert!(short.chars().count() <= 1000);
        assert!(alt.starts_with(short.trim_end_matches('…')));
        assert_eq!(shorten_alt("short", Some(1000)), "short");
        assert_eq!(shorten_alt(&alt, None), alt);
    }
}
