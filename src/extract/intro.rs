//! The post's intro: finding the team's one-line summary of each paper.
//!
//! The intro has taken several shapes over the years: bullets whose text links to the
//! paper's section, a "bullet list" the markdown renderer left inside a paragraph,
//! bullets that open with the paper's title in italics, and plain prose. A bullet is the
//! team's summary; in prose, the sentences that link to the paper or name it (and no
//! other paper) are the next best thing. The theme line comes before the papers.

use super::names::mention_with;
use super::text::{fold, normalise, Linked};
use scraper::ElementRef;

/// A paper as the intro knows it.
pub struct Reviewed<'p> {
    pub anchor: &'p str,
    pub title: &'p str,
    /// Other names the review gives the paper.
    pub aliases: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Bullet,
    Sentence,
}

struct Candidate {
    kind: Kind,
    /// The papers this passage links to (by anchor), each once.
    anchors: Vec<String>,
    /// The emphasised text the passage opens with.
    lead: Option<String>,
    text: String,
    /// Which paragraph (or bullet) of the intro the passage is in.
    paragraph: usize,
    /// Whether the passage holds TeX source.
    math: bool,
}

/// What the intro says about the post and each paper.
pub struct Intro {
    /// The team's one-line summary of each paper (a bullet), in the order of `papers`.
    pub summaries: Vec<Option<String>>,
    /// The prose sentences about each paper, in the order of `papers`.
    pub sentences: Vec<Option<String>>,
    /// The intro's line about what the papers have in common.
    pub theme: Option<String>,
}

/// Sentences that carry on about the paper the sentence before them named.
const CONTINUATIONS: &[&str] = &[
    "This ",
    "It ",
    "Its ",
    "They ",
    "These ",
    "Their ",
    "The authors",
    "The paper ",
    "The model ",
    "The method ",
    "The approach ",
    "The proposed ",
    "As a result",
    "A '",
    "A \"",
];

/// Words by which an intro announces what the month's papers share.
const THEME_CUES: &[&str] = &[
    "thread",
    "theme",
    "common",
    "trend",
    "topic",
    "focus",
    "revolves",
    "dominated",
    "breadth",
    "angle",
    "approaches to",
    "developments in",
    "collection of papers",
];

/// Reads the intro: each paper's bullet summary and prose sentences, and the theme.
pub fn read(
    intro: &[ElementRef<'_>],
    papers: &[Reviewed<'_>],
    local_anchor: &dyn Fn(&str) -> Option<String>,
) -> Intro {
    let mut candidates = Vec::new();
    let is_paper = |anchor: &str| papers.iter().any(|p| p.anchor == anchor);
    let mut paragraph = 0;
    let mut collect = |kind: Kind, linked: &Linked, start: usize, end: usize, new_block: bool| {
        if new_block {
            paragraph += 1;
        }
        let mut anchors: Vec<String> = Vec::new();
        for href in linked.links_in(start, end) {
            if let Some(anchor) = local_anchor(href) {
                if is_paper(&anchor) && !anchors.contains(&anchor) {
                    anchors.push(anchor);
                }
            }
        }
        let text = normalise(&linked.text[start..end]);
        if text.is_empty() {
            return;
        }
        candidates.push(Candidate {
            kind,
            anchors,
            lead: linked.leading_emphasis(start, end).map(str::to_owned),
            text,
            paragraph,
            math: linked.has_math(start, end),
        });
    };
    for element in intro {
        visit(*element, &mut collect);
    }

    let summaries = papers
        .iter()
        .map(|paper| {
            let by_link = candidates.iter().find(|c| {
                c.kind == Kind::Bullet && c.anchors.len() == 1 && c.anchors[0] == paper.anchor
            });
            let by_title = || {
                candidates.iter().find(|c| {
                    c.kind == Kind::Bullet
                        && c.lead
                            .as_deref()
                            .is_some_and(|lead| names(lead, paper.title))
                })
            };
            by_link.or_else(by_title).map(|c| c.text.clone())
        })
        .collect();

    // Which paper each prose sentence talks about: the one it links to, else the one
    // it names, when that is a single paper.
    let named: Vec<Option<usize>> = candidates
        .iter()
        .map(|c| {
            if c.kind != Kind::Sentence {
                return None;
            }
            let linked: Vec<usize> = papers
                .iter()
                .enumerate()
                .filter(|(_, p)| c.anchors.iter().any(|a| a == p.anchor))
                .map(|(i, _)| i)
                .collect();
            if linked.len() == 1 {
                return Some(linked[0]);
            }
            if !linked.is_empty() {
                return None;
            }
            let by_name: Vec<usize> = papers
                .iter()
                .enumerate()
                .filter(|(_, p)| mention_with(&c.text, p.title, &p.aliases).is_some())
                .map(|(i, _)| i)
                .collect();
            (by_name.len() == 1).then(|| by_name[0])
        })
        .collect();
    let sentences = (0..papers.len())
        .map(|index| {
            let first = named
                .iter()
                .position(|n| *n == Some(index))
                .filter(|at| !candidates[*at].math)?;
            let mut text = candidates[first].text.clone();
            for (next, name) in candidates.iter().zip(&named).skip(first + 1).take(2) {
                let carries_on = (name.is_none() || *name == Some(index))
                    && next.kind == Kind::Sentence
                    && next.paragraph == candidates[first].paragraph
                    && !next.math
                    && CONTINUATIONS.iter().any(|w| next.text.starts_with(w));
                if !carries_on {
                    break;
                }
                text.push(' ');
                text.push_str(&next.text);
            }
            Some(text)
        })
        .collect();

    // The theme comes before the first passage about a paper.
    let first_about_paper = candidates
        .iter()
        .zip(&named)
        .position(|(c, n)| n.is_some() || c.kind == Kind::Bullet || !c.anchors.is_empty())
        .unwrap_or(candidates.len());
    let theme = candidates[..first_about_paper]
        .iter()
        .filter(|c| c.kind == Kind::Sentence && !c.math)
        .map(|c| c.text.trim_end_matches(':').trim())
        .find(|text| {
            let lower = text.to_lowercase();
            THEME_CUES.iter().any(|cue| lower.contains(cue))
                && !CONTINUATIONS.iter().any(|w| text.starts_with(w))
                && !lower.contains("we hope you enjoy")
                && text.chars().count() <= 240
        })
        .map(str::to_owned);

    Intro {
        summaries,
        sentences,
        theme,
    }
}

/// Whether the emphasised `lead` of a bullet is the paper's title (or the part of it
/// before the colon), give or take case and punctuation.
fn names(lead: &str, title: &str) -> bool {
    let lead = fold(lead);
    if lead.is_empty() {
        return false;
    }
    lead == fold(title)
        || title
            .split_once(':')
            .is_some_and(|(short, _)| fold(short) == lead)
}

type Collect<'c> = dyn FnMut(Kind, &Linked, usize, usize, bool) + 'c;

fn visit(element: ElementRef<'_>, collect: &mut Collect<'_>) {
    match element.value().name() {
        "li" => {
            let linked = Linked::of(element, &|_| false);
            collect(Kind::Bullet, &linked, 0, linked.text.len(), true);
        }
        "p" => paragraph(element, collect),
        _ => {
            for child in element.child_elements() {
                visit(child, collect);
            }
        }
    }
}

/// A paragraph is prose, unless it holds a markdown list the renderer did not turn into
/// one (lines starting "- "): then each such line is a bullet.
fn paragraph(element: ElementRef<'_>, collect: &mut Collect<'_>) {
    let linked = Linked::of(element, &|_| false);
    let markers = bullet_markers(&linked.text);
    let prose_end = markers
        .first()
        .map_or(linked.text.len(), |(start, _)| *start);
    for (i, (start, end)) in sentences(&linked.text[..prose_end]).into_iter().enumerate() {
        collect(Kind::Sentence, &linked, start, end, i == 0);
    }
    for (i, (_, text_start)) in markers.iter().enumerate() {
        let end = markers
            .get(i + 1)
            .map_or(linked.text.len(), |(next, _)| *next);
        collect(Kind::Bullet, &linked, *text_start, end, true);
    }
}

/// Where each line that starts a markdown bullet (`- `, `* ` or `+ `) begins, and where
/// its text begins.
fn bullet_markers(text: &str) -> Vec<(usize, usize)> {
    let mut markers = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - body.len();
        if let Some(rest) = body
            .strip_prefix("- ")
            .or_else(|| body.strip_prefix("* "))
            .or_else(|| body.strip_prefix("+ "))
        {
            let text_start = line_start + line.len() - rest.len();
            markers.push((line_start + indent, text_start));
        }
        line_start += line.len();
    }
    markers
}

/// Abbreviations whose stop is followed by a capital inside a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "cf.", "vs.", "fig.", "figs.", "eq.", "eqs.", "no.", "approx.", "resp.",
];

/// Splits prose into sentences: a sentence ends at `.`, `!` or `?` (and any closing
/// quotes or brackets) followed by white space and a capital letter, digit or quote.
/// Abbreviations such as "e.g. the" or "e.g. Wikipedia" stay inside their sentence.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        while let Some(&(_, next)) = chars.peek() {
            if matches!(next, '"' | '\'' | '”' | '’' | ')' | ']') {
                chars.next();
            } else {
                break;
            }
        }
        let end = chars.peek().map_or(text.len(), |&(at, _)| at);
        // "e.g. Wikipedia, Github, maths": an abbreviation's stop ends no sentence.
        let word = text[start..end]
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default()
            .trim_start_matches(['(', '[', '"', '“'])
            .to_lowercase();
        if ABBREVIATIONS.contains(&word.as_str()) {
            continue;
        }
        let rest = &text[end..];
        let after = rest.trim_start();
        if after.len() == rest.len() {
            continue;
        }
        let opens = after.chars().next().is_some_and(|next| {
            next.is_uppercase() || next.is_ascii_digit() || matches!(next, '"' | '“' | '‘')
        });
        if opens {
            spans.push((start, end));
            start = end;
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces<'t>(text: &'t str, spans: &[(usize, usize)]) -> Vec<&'t str> {
        spans.iter().map(|(s, e)| text[*s..*e].trim()).collect()
    }

    #[test]
    fn an_abbreviation_does_not_end_a_sentence() {
        // 2025-09-08, the ADMIRE-BayesOpt review.
        let text = "We have multiple training datasets, e.g. Wikipedia, Github, maths, etc. to finetune our model. Hypothetically, we could train on one.";
        assert_eq!(
            pieces(text, &sentences(text)),
            [
                "We have multiple training datasets, e.g. Wikipedia, Github, maths, etc. to finetune our model.",
                "Hypothetically, we could train on one."
            ]
        );
    }

    #[test]
    fn sentences_end_at_a_stop_before_a_capital() {
        let text = "First, A does x (e.g. y). Then \"B\" does z! Finally C? 4 more.";
        assert_eq!(
            pieces(text, &sentences(text)),
            [
                "First, A does x (e.g. y).",
                "Then \"B\" does z!",
                "Finally C?",
                "4 more."
            ]
        );
    }

    #[test]
    fn markdown_bullets_left_in_a_paragraph_are_found() {
        let text = "Our picks:\n- A that does x;\n  - B that does y; and\n* C.";
        let markers = bullet_markers(text);
        let bullets: Vec<&str> = markers
            .iter()
            .enumerate()
            .map(|(i, (_, start))| {
                let end = markers.get(i + 1).map_or(text.len(), |(next, _)| *next);
                text[*start..end].trim()
            })
            .collect();
        assert_eq!(bullets, ["A that does x;", "B that does y; and", "C."]);
        assert_eq!(&text[..markers[0].0], "Our picks:\n");
    }

    #[test]
    fn an_italic_lead_names_a_title_with_or_without_its_subtitle() {
        assert!(names(
            "How to Set the Batch Size?",
            "How to Set the Batch Size?"
        ));
        assert!(names(
            "LTX-2.",
            "LTX-2: Efficient Joint Audio-Visual Foundation Model"
        ));
        assert!(!names("whole scene", "Factored Latent Action World Models"));
        assert!(!names("", "Anything"));
    }
}
