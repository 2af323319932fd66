//! Laying out each paper's posts within the thread's budget: one post per paper
//! wherever one can hold the paper's header, a whole-sentence summary and its links;
//! a second post (carrying summary, never only links or only a header) where it
//! cannot, or where it lets the paper keep its best summary and the budget allows.
//!
//! The header may be shortened to make room for the summary ("First Author et al.",
//! "Google DeepMind +3"), never a title, a name or a URL cut in two.

use super::fit::{self, tidy, Summary, SUMMARY_MARK};
use super::ComposeError;
use crate::extract::split_sentences;
use crate::model::Paper;
use crate::model::{LengthRules, PlatformKind};

/// The (authors, organisations) a paper's header may show, fullest first.
pub(crate) fn header_variants(paper: &Paper) -> Vec<(String, String)> {
    let authors = one_author_et_al(paper.authors.trim());
    let orgs = paper.orgs.trim().to_owned();
    let short_authors = first_author(&authors)
        .map(|first| format!("{first} et al."))
        .filter(|short| short.len() < authors.len())
        .unwrap_or_else(|| authors.clone());
    let org_list: Vec<&str> = orgs
        .split([',', ';'])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    // "Korea Advanced Institute of Science and Technology (KAIST; Mila; …)": a list
    // split inside brackets cannot be shortened to its first item.
    let opens = |t: &str| t.matches('(').count() != t.matches(')').count();
    let short_orgs = match org_list.as_slice() {
        [first, rest @ ..] if !rest.is_empty() && !opens(first) => {
            format!("{first} +{}", rest.len())
        }
        _ => orgs.clone(),
    };
    let mut variants = vec![
        (authors.clone(), orgs.clone()),
        (short_authors.clone(), orgs.clone()),
        (short_authors.clone(), short_orgs),
        // Last, before a paper takes a second post: no organisations.
        (short_authors.clone(), String::new()),
    ];
    variants.dedup();
    variants
}

/// "Saleh Ashkboos, et al." as a reader expects it: one author before "et al." takes
/// no comma ("Saleh Ashkboos et al."); a longer list keeps its commas.
pub(crate) fn one_author_et_al(authors: &str) -> String {
    for marker in [", et al.", ", et al", ", et. al."] {
        if let Some(first) = authors.strip_suffix(marker) {
            if !first.contains(',') && !first.contains(" and ") && !first.contains('&') {
                return format!("{} et al.", first.trim());
            }
        }
    }
    authors.to_owned()
}

/// The first author of a list such as "Talfan Evans, Shreya Pathak, et al." or
/// "Nikhil Sardana and Jonathan Frankle"; `None` when there is only one.
pub(crate) fn first_author(authors: &str) -> Option<&str> {
    let cut = authors
        .find([',', '&'])
        .into_iter()
        .chain(authors.find(" and "))
        .chain(authors.find(" et al"))
        .chain(authors.find(" et. al"))
        .min()?;
    let first = authors[..cut].trim();
    (!first.is_empty()).then_some(first)
}

/// How many posts beyond one per paper the thread may use: none on Mastodon at 500
/// characters and more, one for every two papers elsewhere.
pub(crate) fn extra_posts_allowed(rules: &LengthRules, papers: usize) -> usize {
    match rules.platform {
        PlatformKind::Mastodon if rules.max >= 500 => 0,
        _ => papers.div_ceil(2),
    }
}

/// The ways one paper can be laid out.
pub(crate) struct Choices {
    /// The best single post: the index of its summary among the options, and its text.
    one: Option<(usize, String)>,
    /// The best two posts (only where they let the paper keep a better summary than
    /// `one`, or where `one` is impossible).
    two: Option<(usize, Vec<String>)>,
    /// Posts when neither fits (small limits): as many as it takes.
    many: Vec<String>,
}

impl Choices {
    /// `variants` are the paper template rendered with each header variant (fullest
    /// first) and the summary as [`SUMMARY_MARK`]; `options` the summaries, best first.
    pub(crate) fn new(
        variants: Vec<String>,
        options: &[String],
        keep_whole: &[&str],
        rules: &LengthRules,
    ) -> Result<Choices, ComposeError> {
        let fits = |text: &str| fit::fits(rules, text);
        let fill = |variant: &str, summary: &str| tidy(&variant.replace(SUMMARY_MARK, summary));

        // Leaving the organisations out is the last resort before a second post.
        let preferred = &variants[..variants.len().saturating_sub(1).max(1)];
        let one_with = |variants: &[String]| {
            options.iter().enumerate().find_map(|(i, summary)| {
                variants.iter().find_map(|variant| {
                    let text = fill(variant, summary);
                    fits(&text).then_some((i, text))
                })
            })
        };
        let one = one_with(preferred).or_else(|| one_with(&variants));
        let best_one = one.as_ref().map_or(usize::MAX, |(i, _)| *i);
        let two = options
            .iter()
            .enumerate()
            .take_while(|(i, _)| *i < best_one)
            .find_map(|(i, summary)| {
                variants
                    .iter()
                    .find_map(|variant| two_posts(variant, summary, &fits))
                    .map(|posts| (i, posts))
            });
        let many = if one.is_none() && two.is_none() {
            let full = variants.last().map(String::as_str).unwrap_or_default();
            // Nothing fits two posts: the shortest summary, in as few posts as it takes.
            let summary = options
                .iter()
                .min_by_key(|o| o.len())
                .map(String::as_str)
                .unwrap_or_default();
            many_posts(full, summary, keep_whole, rules)?
        } else {
            Vec::new()
        };
        Ok(Choices { one, two, many })
    }
}

/// Two posts for one paper: the header with the summary's first sentences, then the
/// rest of the summary with the links; or the header with the links, then the summary.
/// Never a post of only links or only a header.
fn two_posts(variant: &str, summary: &str, fits: &dyn Fn(&str) -> bool) -> Option<Vec<String>> {
    let paragraphs: Vec<&str> = variant.split("\n\n").collect();
    let at = paragraphs.iter().position(|p| p.contains(SUMMARY_MARK))?;
    let head = paragraphs[..at].join("\n\n");
    let tail = paragraphs[at + 1..].join("\n\n");
    let middle = paragraphs[at];
    let join = |parts: &[&str]| {
        tidy(
            &parts
                .iter()
                .filter(|p| !p.trim().is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n\n"),
        )
    };
    let sentences = split_sentences(summary);
    for k in (1..sentences.len()).rev() {
        let first = middle.replace(SUMMARY_MARK, &sentences[..k].join(" "));
        let second = sentences[k..].join(" ");
        let posts = vec![join(&[&head, &first]), join(&[&second, &tail])];
        if posts.iter().all(|p| fits(p)) {
            return Some(posts);
        }
    }
    if tail.trim().is_empty() {
        return None;
    }
    let posts = vec![
        join(&[&head, &tail]),
        join(&[&middle.replace(SUMMARY_MARK, summary)]),
    ];
    posts.iter().all(|p| fits(p)).then_some(posts)
}

/// A paper that needs three posts or more (a small limit): the header, the summary a
/// sentence at a time and the links, in whichever order leaves no post of only a
/// header or only links (the links right after the header, or after the summary); a
/// title or a name is never split, and a sentence only when it is longer than a post.
fn many_posts(
    variant: &str,
    summary: &str,
    keep_whole: &[&str],
    rules: &LengthRules,
) -> Result<Vec<String>, ComposeError> {
    let paragraphs: Vec<&str> = variant.split("\n\n").collect();
    let at = paragraphs
        .iter()
        .position(|p| p.contains(SUMMARY_MARK))
        .unwrap_or(paragraphs.len());
    let head = paragraphs[..at.min(paragraphs.len())].join("\n\n");
    let tail: Vec<&str> = paragraphs
        .get(at + 1..)
        .map(|t| t.iter().flat_map(|p| p.lines()).collect())
        .unwrap_or_default();
    let middle = paragraphs.get(at).copied().unwrap_or_default();
    let sentences: Vec<String> = split_sentences(summary)
        .into_iter()
        .map(|s| middle.replace(SUMMARY_MARK, s))
        .collect();

    let mut best: Option<(usize, Vec<String>)> = None;
    for links_first in [false, true] {
        // Pieces: (text, separator before it, whether it is prose).
        let mut pieces: Vec<(String, &str, bool)> = Vec::new();
        if !head.trim().is_empty() {
            pieces.push((head.clone(), "\n\n", false));
        }
        let links: Vec<(String, &str, bool)> = tail
            .iter()
            .enumerate()
            .map(|(i, line)| {
                (
                    (*line).to_owned(),
                    if i == 0 { "\n\n" } else { "\n" },
                    false,
                )
            })
            .collect();
        if links_first {
            pieces.extend(links.iter().cloned());
        }
        pieces.extend(sentences.iter().map(|s| (s.clone(), "\n\n", true)));
        if !links_first {
            pieces.extend(links);
        }
        let posts = pack(&pieces, keep_whole, rules)?;
        let bad = posts
            .iter()
            .filter(|(_, prose, has_title)| !prose && !has_title)
            .count()
            + posts
                .iter()
                .filter(|(text, prose, _)| !prose && !tail.iter().any(|l| text.contains(l)))
                .count();
        let posts: Vec<String> = posts.into_iter().map(|(text, _, _)| text).collect();
        if best
            .as_ref()
            .is_none_or(|(b, p)| (bad, posts.len()) < (*b, p.len()))
        {
            best = Some((bad, posts));
        }
    }
    Ok(best.map(|(_, posts)| posts).unwrap_or_default())
}

/// Packs pieces into posts greedily; a piece longer than a post is split at its
/// words (never inside `keep_whole`). Each post with whether it holds prose and
/// whether it holds the header.
fn pack(
    pieces: &[(String, &str, bool)],
    keep_whole: &[&str],
    rules: &LengthRules,
) -> Result<Vec<(String, bool, bool)>, ComposeError> {
    let mut posts: Vec<(String, bool, bool)> = Vec::new();
    let mut current = (String::new(), false, false);
    for (i, (piece, sep, prose)) in pieces.iter().enumerate() {
        let is_head = i == 0 && !prose;
        let candidate = if current.0.is_empty() {
            piece.clone()
        } else {
            format!("{}{sep}{piece}", current.0)
        };
        if fit::fits(rules, &candidate) {
            current = (candidate, current.1 || *prose, current.2 || is_head);
            continue;
        }
        if !current.0.is_empty() {
            posts.push(std::mem::take(&mut current));
        }
        if fit::fits(rules, piece) {
            current = (piece.clone(), *prose, is_head);
        } else if *prose {
            // A sentence longer than a whole post: in even parts, so that none is a
            // stray word or two.
            let mut parts = even_parts(piece, rules);
            if !parts.iter().all(|p| fit::fits(rules, p)) {
                // No spaces to cut at (Chinese, Japanese): after a full stop where one
                // falls, else between characters.
                parts = unspaced_parts(piece, rules);
            }
            let last = parts.pop().unwrap_or_default();
            posts.extend(parts.into_iter().map(|p| (p, true, false)));
            current = (last, true, false);
        } else {
            let mut parts = fit::fit(piece, &Summary::default(), keep_whole, rules)?;
            let last = parts.pop().unwrap_or_default();
            posts.extend(parts.into_iter().map(|p| (p, *prose, is_head)));
            current = (last, *prose, is_head);
        }
    }
    if !current.0.is_empty() {
        posts.push(current);
    }
    Ok(posts
        .into_iter()
        .map(|(text, prose, head)| (tidy(&text), prose, head))
        .collect())
}

/// `text` cut at its spaces into the fewest parts that each fit a post, of about
/// equal length.
fn even_parts(text: &str, rules: &LengthRules) -> Vec<String> {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let total: usize = words.iter().map(|w| w.chars().count() + 1).sum();
    for n in 2..=words.len().max(2) {
        let target = total.div_ceil(n);
        let mut parts: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in &words {
            if !current.is_empty()
                && current.chars().count() + 1 + word.chars().count() > target
                && parts.len() + 1 < n
            {
                parts.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        parts.push(current);
        if parts.iter().all(|p| fit::fits(rules, p)) {
            return parts;
        }
    }
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// `text` cut between characters into parts that each fit a post, after the last
/// full stop (`。`) that lets a part fit where there is one.
fn unspaced_parts(text: &str, rules: &LengthRules) -> Vec<String> {
    use unicode_segmentation::UnicodeSegmentation;
    let mut parts = Vec::new();
    let mut current = String::new();
    for grapheme in text.graphemes(true) {
        let candidate = format!("{current}{grapheme}");
        if current.is_empty() || fit::fits(rules, &candidate) {
            current = candidate;
            continue;
        }
        match current.rfind('。').map(|at| at + '。'.len_utf8()) {
            Some(at) if at < current.len() => {
                let rest = current.split_off(at);
                parts.push(std::mem::replace(&mut current, format!("{rest}{grapheme}")));
            }
            _ => parts.push(std::mem::replace(&mut current, grapheme.to_owned())),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Each paper's posts: one where possible; two where one is impossible; then, while
/// the budget lasts, two for the papers whose single post had to take a lesser
/// summary, the greatest loss first.
pub(crate) fn plan(choices: &[Choices], extra_allowed: usize) -> Vec<Vec<String>> {
    let mut plans: Vec<Vec<String>> = Vec::with_capacity(choices.len());
    let mut extra = 0;
    for choice in choices {
        match (&choice.one, &choice.two) {
            (Some((_, text)), _) => plans.push(vec![text.clone()]),
            (None, Some((_, posts))) => {
                extra += posts.len() - 1;
                plans.push(posts.clone());
            }
            (None, None) => {
                extra += choice.many.len().saturating_sub(1);
                plans.push(choice.many.clone());
            }
        }
    }
    let mut upgrades: Vec<(usize, usize)> = choices
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match (&c.one, &c.two) {
            (Some((one, _)), Some((two, _))) if two < one => Some((one - two, i)),
            _ => None,
        })
        .collect();
    upgrades.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in upgrades {
        if extra >= extra_allowed {
            break;
        }
        if let Some((_, posts)) = &choices[i].two {
            extra += posts.len() - 1;
            plans[i] = posts.clone();
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_author_and_organisation_lists_shorten() {
        let paper = Paper {
            position: 0,
            title: "T".into(),
            authors: "Talfan Evans, Shreya Pathak, Hamza Merzic, et al.".into(),
            orgs: "Google DeepMind, UCL, Imperial College London, ETH Zurich".into(),
            link: String::new(),
            anchor: String::new(),
            url: String::new(),
            intro_summary: None,
            intro_sentence: None,
            key_idea: String::new(),
            figure: None,
        };
        let variants = header_variants(&paper);
        assert_eq!(variants[1].0, "Talfan Evans et al.");
        assert_eq!(variants[2].1, "Google DeepMind +3");
        assert_eq!(
            first_author("Nikhil Sardana and Jonathan Frankle"),
            Some("Nikhil Sardana")
        );
        assert_eq!(first_author("Aaron Defazio"), None);
    }

    #[test]
    fn organisations_split_inside_brackets_are_not_shortened() {
        // 2026-03-03, Riemannian Mean Flow.
        let paper = Paper {
            orgs: "Korea Advanced Institute of Science and Technology (KAIST; Mila - Quebec AI Institute; Universite de Montreal; Institut Courtois)".into(),
            position: 0,
            title: "Riemannian Mean Flow".into(),
            authors: "Dongyeop Woo, et al.".into(),
            link: String::new(),
            anchor: String::new(),
            url: String::new(),
            intro_summary: None,
            intro_sentence: None,
            key_idea: String::new(),
            figure: None,
        };
        assert!(header_variants(&paper)
            .iter()
            .all(|(_, orgs)| orgs.matches('(').count() == orgs.matches(')').count()));
    }

    #[test]
    fn one_author_before_et_al_takes_no_comma() {
        // As the 2024-04-30 page writes them.
        assert_eq!(
            one_author_et_al("Saleh Ashkboos, et al."),
            "Saleh Ashkboos et al."
        );
        assert_eq!(
            one_author_et_al("Talfan Evans, Shreya Pathak, Hamza Merzic, et al."),
            "Talfan Evans, Shreya Pathak, Hamza Merzic, et al."
        );
        assert_eq!(one_author_et_al("Yiran Ding et al."), "Yiran Ding et al.");
        assert_eq!(
            one_author_et_al("Nikhil Sardana and Jonathan Frankle"),
            "Nikhil Sardana and Jonathan Frankle"
        );
    }

    #[test]
    fn the_budget_goes_to_the_papers_that_lose_most() {
        let choice = |one: Option<usize>, two: Option<usize>| Choices {
            one: one.map(|i| (i, format!("one {i}"))),
            two: two.map(|i| (i, vec![format!("two {i}a"), format!("two {i}b")])),
            many: Vec::new(),
        };
        let choices = [
            choice(Some(1), Some(0)),
            choice(Some(3), Some(0)),
            choice(Some(0), None),
        ];
        let plans = plan(&choices, 1);
        assert_eq!(plans[0], ["one 1"]);
        assert_eq!(plans[1], ["two 0a", "two 0b"]);
        assert_eq!(plans[2], ["one 0"]);
    }
}
