//! Choosing what a paper's post says about it, the way the team's editor would: the
//! team's own words first (the intro's bullet, else the intro's sentences about the
//! paper), else the review's sentences that say what the paper does (not its
//! background); the intro's narration ("The first paper, TriForce, looks at …",
//! "Last up is DataRater, where …") rewritten into a plain statement that starts with
//! the paper or its claim. A summary is always whole sentences: the options are the
//! same text in fewer sentences, then other sources, never a sentence cut short.

use crate::extract::names::{aliases, mention_with};
use crate::extract::split_sentences;
use crate::model::Paper;
use unicode_segmentation::UnicodeSegmentation;

/// The longest summary offered first, in graphemes (a post has room for more only on
/// Mastodon, and a reader skims).
const LONGEST_SUMMARY: usize = 320;

/// Words an intro uses to lead from one paper to the next.
const OPENERS: &[&str] = &[
    "First up, ",
    "First, ",
    "Firstly, ",
    "Next, ",
    "Next up, ",
    "Then, ",
    "Finally, ",
    "Lastly, ",
    "Last but not least, ",
    "Also, ",
    "And ",
    "At the same time, ",
    "In addition, ",
    "Additionally, ",
    "Meanwhile, ",
    "Second, ",
    "Third, ",
];

/// Narration that introduces a paper as the object of the sentence ("We start with
/// Titans, which …").
const INTRODUCING: &[&str] = &[
    "we start with",
    "we begin with",
    "we kick off with",
    "we look at",
    "we also look at",
    "we also looked into",
    "we also looked at",
    "we looked at",
    "we looked into",
    "we then look at",
    "we next look at",
    "we finish with",
    "we end with",
    "we close with",
    "we cover",
    "we also cover",
    "we review",
    "we discuss",
    "we explore",
    "we also explore",
    "last up is",
    "next up is",
    "first up is",
    "next is",
    "then there is",
    "then there's",
    "this is followed by",
    "followed by",
    "our first pick is",
    "our top pick is",
];

/// Openings that mean a sentence is narration or background, not a statement about
/// the paper.
const NOT_A_CLAIM: &[&str] = &[
    "the first paper",
    "the second paper",
    "the third paper",
    "the last paper",
    "the final paper",
    "in our first paper",
    "in the first paper",
    "our first paper",
    "first up",
    "first,",
    "next,",
    "next up",
    "then,",
    "finally,",
    "lastly,",
    "last up",
    "last but not least",
    "we also",
    "we start",
    "we look",
    "we then",
    "this is followed",
    "followed by",
    "the latter",
    "the former",
    "also,",
    "and ",
    "as ",
    "while ",
    "recently",
    "in recent years",
    "over the past",
    "there has been",
    "there is ",
    "it is well known",
    "it is often",
    "it is commonly",
    "it is widely",
    "we often",
    "if you",
    "many previous",
    "most previous",
    "prior work",
    "compared to",
    "compared with",
    "in contrast",
    "unlike ",
    "previous work",
    "with the ",
    "despite ",
    "although ",
    "since ",
];

/// Background or motivation in the middle of a sentence.
const BACKGROUND_PHRASES: &[&str] = &[
    "is a dynamic research field",
    "is an active research",
    "have become increasingly",
    "has become increasingly",
    "are getting increasingly",
    "are becoming increasingly",
    "is becoming increasingly",
];

/// Sentences that need the sentence before them to be understood.
const ANAPHORA: &[&str] = &[
    "This ",
    "It ",
    "Its ",
    "They ",
    "These ",
    "Their ",
    "Such ",
    "That ",
    "Here ",
    "However",
    "But ",
    "So ",
    "Thus",
    "Hence",
    "Therefore",
    "Moreover",
    "Furthermore",
    "In this ",
];

/// The summaries a paper's post may carry, best first: each is one or more whole
/// sentences; the later ones are shorter or from a less preferred source.
pub(crate) fn options(paper: &Paper) -> Vec<String> {
    let mut sources: Vec<Vec<String>> = Vec::new();
    let names = Names {
        title: &paper.title,
        aliases: aliases(&paper.key_idea),
    };
    if let Some(bullet) = paper
        .intro_summary
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        sources.push(from_intro(&tidy_bullet(bullet), &names));
    }
    if let Some(sentences) = paper
        .intro_sentence
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        sources.push(from_intro(sentences, &names));
    }
    let review = from_review(&paper.key_idea, &names);
    sources.push(review.clone());
    // The figure's caption often states the finding in a sentence ("The authors
    // demonstrate equivalence between …"), where the review opens with an aside.
    if let Some(caption) = paper.figure.as_ref().and_then(|f| f.caption.as_deref()) {
        sources.push(from_caption(caption, &names));
    }

    let mut out: Vec<String> = Vec::new();
    fn push(out: &mut Vec<String>, text: String) {
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
        }
    }
    for sentences in sources.iter().filter(|s| !s.is_empty()) {
        // As many sentences as read well together, then fewer.
        let mut take = 0;
        let mut length = 0;
        for sentence in sentences {
            let more = graphemes(sentence) + usize::from(take > 0);
            if take > 0 && length + more > LONGEST_SUMMARY {
                break;
            }
            length += more;
            take += 1;
        }
        for k in (1..=take.max(1)).rev() {
            if k == 1 {
                // "QuaRot is taking a more classic … route. It elegantly demonstrates
                // how …": where the second sentence says what the paper does and the
                // first does not, "QuaRot elegantly demonstrates how …" comes first.
                if let Some(second) = standalone_second(sentences, &names) {
                    push(&mut out, second);
                }
            }
            push(
                &mut out,
                short_name_first(sentences[..k].join(" "), &paper.title),
            );
        }
    }
    // When no sentence reads as a statement of what the paper does, the review's
    // opening sentences still say what it is about: better than no summary.
    if out.is_empty() {
        let text = normalise(&paper.key_idea);
        let sentences: Vec<&str> = split_sentences(&text)
            .into_iter()
            .filter(|s| is_whole_sentence(s))
            .collect();
        for k in (1..=sentences.len().min(2)).rev() {
            let joined = sentences[..k].join(" ");
            if k == 1 || graphemes(&joined) <= LONGEST_SUMMARY {
                push(&mut out, joined);
            }
        }
    }
    // Last, any single sentence of the review that stands on its own, shortest first,
    // for a post with little room.
    let mut singles: Vec<&String> = review
        .iter()
        .filter(|s| !ANAPHORA.iter().any(|a| s.starts_with(a)) && !leans_back(s))
        .collect();
    singles.sort_by_key(|s| graphemes(s));
    for sentence in singles {
        push(&mut out, short_name_first(sentence.clone(), &paper.title));
    }
    // For a post with less room still (X beside a long title): the same whole
    // sentences without their asides, "(rather than grid-like)" or a closing
    // ", improving over …" — still whole sentences, never cut with "…".
    let mut plainer: Vec<String> = out
        .iter()
        .filter(|o| split_sentences(o).len() == 1)
        .filter_map(|o| without_asides(o))
        .filter(|o| is_statement(o, true))
        .collect();
    plainer.sort_by_key(|s| std::cmp::Reverse(graphemes(s)));
    for sentence in plainer {
        push(&mut out, sentence);
    }
    out
}

/// A sentence without its bracketed asides and a closing participle clause ("…,
/// improving over the popular speculative decoding technique."), when it has any.
fn without_asides(sentence: &str) -> Option<String> {
    let end = sentence
        .chars()
        .last()
        .filter(|c| matches!(c, '.' | '!' | '?'))?;
    let mut text = sentence[..sentence.len() - end.len_utf8()].to_owned();
    // Bracketed asides, innermost first.
    while let Some(open) = text.rfind(" (") {
        let Some(close) = text[open..].find(')') else {
            break;
        };
        text.replace_range(open..open + close + 1, "");
    }
    // The last clause when it opens with a participle: ", improving …", ", showing …".
    if let Some(at) = text.rfind(", ") {
        let next = text[at + 2..].split_whitespace().next().unwrap_or_default();
        if next.ends_with("ing") && next.chars().all(char::is_lowercase) && at > 40 {
            text.truncate(at);
        }
    }
    let text = format!("{}{end}", text.trim_end());
    (text != sentence && graphemes(&text) >= 40).then_some(text)
}

/// How prose may name a paper: its title, and the names its review gives it.
struct Names<'p> {
    title: &'p str,
    aliases: Vec<String>,
}

impl Names<'_> {
    fn mention(&self, text: &str) -> Option<std::ops::Range<usize>> {
        mention_with(text, self.title, &self.aliases)
    }
}

fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// An intro bullet without the words that lead into it ("First up, ") or out of it
/// ("; and").
fn tidy_bullet(text: &str) -> String {
    let mut text = text.trim_end();
    loop {
        let before = text;
        text = text.trim_end_matches([';', ',', ' ']);
        for connector in [" and", " or"] {
            if let Some(rest) = text.strip_suffix(connector) {
                text = rest;
            }
        }
        if text == before {
            break;
        }
    }
    let mut text = text.to_owned();
    if text.ends_with(|c: char| c.is_alphanumeric()) {
        text.push('.');
    }
    text
}

/// The intro's sentences about a paper as plain statements: the first rewritten to
/// start with the paper or its claim; the ones after it kept while they read on from
/// it. Empty when the first cannot be made a statement.
fn from_intro(text: &str, names: &Names<'_>) -> Vec<String> {
    let title = names.title;
    let mut sentences: Vec<String> = split_sentences(&normalise(text))
        .into_iter()
        .map(str::to_owned)
        .collect();
    // A bullet that opens with the title in italics: the title is in the post already.
    if sentences
        .first()
        .is_some_and(|first| is_title(first, title))
    {
        sentences.remove(0);
    }
    let mut out = Vec::new();
    let mut subject: Option<String> = None;
    for (i, sentence) in sentences.iter().enumerate() {
        if i == 0 {
            match rewrite_opening(sentence, names) {
                Opening::Statement(text) => out.push(text),
                Opening::NameOnly(name) => subject = Some(name),
                Opening::Unusable => return Vec::new(),
            }
            continue;
        }
        let sentence = match subject.take() {
            // "We start with the Byte Latent Transformer. This modifies …" →
            // "The Byte Latent Transformer modifies …".
            Some(name) => match sentence
                .strip_prefix("This ")
                .or_else(|| sentence.strip_prefix("It "))
            {
                Some(rest) => format!("{name} {rest}"),
                None => return Vec::new(),
            },
            None => sentence.clone(),
        };
        if !is_statement(&sentence, out.is_empty()) {
            break;
        }
        out.push(sentence);
    }
    if out.first().is_some_and(|first| !is_statement(first, true)) {
        return Vec::new();
    }
    out
}

/// The sentences of the review's key idea from the first that says what the paper
/// does: background and motivation before it are skipped, and so are sentences that
/// hold TeX.
fn from_review(key_idea: &str, names: &Names<'_>) -> Vec<String> {
    let title = names.title;
    let text = normalise(key_idea);
    let sentences: Vec<String> = split_sentences(&text)
        .into_iter()
        .map(without_summing_up)
        .map(|s| without_building_on(&s))
        .map(|s| with_subject(&s, names))
        .collect();
    let usable = |s: &String| is_statement(s, true) && !is_title(s, title) && !leans_back(s);
    // The first sentence that says what the paper does, if one of the first few does
    // (one that adds to another claim, "The paper also introduces a second …", only
    // when none comes before it); else the first that can stand on its own.
    let claims = |s: &String| usable(s) && makes_a_claim(s, names);
    let start = sentences
        .iter()
        .take(5)
        .position(|s| claims(s) && !adds_to_another(s))
        .or_else(|| sentences.iter().take(5).position(claims))
        .or_else(|| sentences.iter().position(usable));
    let Some(start) = start else {
        return Vec::new();
    };
    let mut out = vec![sentences[start].clone()];
    for sentence in &sentences[start + 1..] {
        if !is_statement(sentence, false) {
            break;
        }
        out.push(sentence.clone());
    }
    out
}

/// The sentence of a figure's caption that says what the paper shows, if one does
/// (most captions describe the figure: "A visualization of the Architecture.").
fn from_caption(caption: &str, names: &Names<'_>) -> Vec<String> {
    let text = normalise(caption);
    split_sentences(&text)
        .into_iter()
        .map(|s| s.to_owned())
        .find(|s| {
            // Most captions describe the figure ("The left shows …", "Results are
            // shown with …"): only a sentence whose subject is the paper or its
            // authors states the finding.
            let lower = s.to_lowercase();
            let about_the_paper = ["the authors ", "we ", "they ", "this paper ", "this work "]
                .iter()
                .any(|subject| lower.starts_with(subject))
                || names.mention(s).is_some_and(|at| at.start == 0);
            about_the_paper
                && is_statement(s, true)
                && !leans_back(s)
                && makes_a_claim(s, names)
                // "The ADMIRE-BayesOpt loop." names the paper but says nothing.
                && s.split_whitespace().any(|w| {
                    FINITE_VERBS.contains(&w.trim_matches(|c: char| !c.is_alphabetic()))
                })
                && !s.to_lowercase().starts_with("figure")
        })
        .into_iter()
        .collect()
}

/// Words a review uses to sum up what came before it ("In short, the authors …"):
/// in a post there is nothing before, so the sentence starts after them.
const SUMMING_UP: &[&str] = &[
    "In short, ",
    "In summary, ",
    "In a nutshell, ",
    "Put simply, ",
    "Simply put, ",
    "In other words, ",
];

/// A review sentence as a post can carry it: without words that sum up what came
/// before, and without pointers at the page's figures ("the headline results
/// (below)"), which a post does not have.
fn without_summing_up(sentence: &str) -> String {
    let sentence = [" (below)", " (above)"]
        .iter()
        .fold(sentence.to_owned(), |text, pointer| {
            text.replace(pointer, "")
        });
    SUMMING_UP
        .iter()
        .find_map(|lead| strip_prefix_ci(&sentence, lead))
        .map(|rest| capitalise(rest.trim_start()))
        .unwrap_or(sentence)
}

/// Participle phrases that tie a sentence to work before it ("Building upon this
/// observation and prior work, this paper introduces …"): the sentence starts at its
/// subject instead.
const BUILDING_ON: &[&str] = &[
    "Building upon ",
    "Building on ",
    "Based on ",
    "Inspired by ",
    "Motivated by ",
    "Following ",
    "Extending ",
];

/// Subjects a main clause after such a phrase starts with.
const SUBJECTS: &[&str] = &[
    "the authors ",
    "this paper ",
    "this work ",
    "the paper ",
    "they ",
    "we ",
    "the researchers ",
];

/// "Building upon BitNet b1.58, which …, the authors describe …" → "The authors
/// describe …"; unchanged when no subject follows a comma.
fn without_building_on(sentence: &str) -> String {
    if !BUILDING_ON.iter().any(|lead| sentence.starts_with(lead)) {
        return sentence.to_owned();
    }
    let mut from = 0;
    while let Some(at) = sentence[from..].find(", ") {
        let rest = &sentence[from + at + 2..];
        let lower = rest.to_lowercase();
        if SUBJECTS.iter().any(|s| lower.starts_with(s)) {
            return capitalise(rest);
        }
        from += at + 2;
    }
    sentence.to_owned()
}

/// A sentence with no subject ("Enable extreme compression by …!") gets the paper's
/// short name as its subject ("QuIP# enables extreme compression by …!").
fn with_subject(sentence: &str, names: &Names<'_>) -> String {
    let short = names
        .title
        .split_once(':')
        .map(|(short, _)| short.trim().to_owned())
        .filter(|short| !short.is_empty() && short.split_whitespace().count() <= 4);
    // "This paper introduces a method …" → "LongRoPE introduces a method …": the
    // paper's own name reads better, and is shorter.
    if let Some(short) = &short {
        for generic in ["This paper ", "This work ", "The paper "] {
            if let Some(rest) = sentence.strip_prefix(generic) {
                if rest.starts_with(char::is_lowercase) {
                    return format!("{short} {rest}");
                }
            }
        }
    }
    let Some((first, rest)) = sentence.split_once(' ') else {
        return sentence.to_owned();
    };
    if !is_base_verb(first) {
        return sentence.to_owned();
    }
    let subject = short
        .or_else(|| names.aliases.first().cloned())
        .unwrap_or_else(|| "The paper".to_owned());
    let verb = first.to_lowercase();
    let verb = if verb.ends_with(['s', 'x', 'h']) {
        format!("{verb}es")
    } else if let Some(stem) = verb.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{verb}s")
    };
    format!("{subject} {verb} {rest}")
}

/// "Enable", "Train", "Use": a verb in its base form opening a sentence (an imperative,
/// or a claim with its subject left out).
fn is_base_verb(word: &str) -> bool {
    let lower = word.to_lowercase();
    word.starts_with(char::is_uppercase)
        && FINITE_VERBS.contains(&lower.as_str())
        && !lower.ends_with('s')
        && !matches!(
            lower.as_str(),
            "is" | "are"
                | "was"
                | "were"
                | "has"
                | "have"
                | "had"
                | "can"
                | "could"
                | "will"
                | "would"
                | "may"
                | "might"
                | "does"
                | "do"
                | "did"
        )
}

/// A sentence that adds to a claim made elsewhere ("The paper also introduces a
/// second innovation: …"), which reads as a sequel on its own.
fn adds_to_another(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    lower.split_whitespace().take(6).any(|w| w == "also")
        || lower.contains("a second ")
        || lower.contains("another ")
}

/// The second of a paper's sentences standing on its own, its "It" or "This" made the
/// paper's name, when it says what the paper does and the first does not.
fn standalone_second(sentences: &[String], names: &Names<'_>) -> Option<String> {
    let (first, second) = (sentences.first()?, sentences.get(1)?);
    let claims = |s: &str| {
        let lower = s.to_lowercase();
        CLAIM_CUES.iter().any(|cue| lower.contains(cue))
    };
    if claims(first) || !claims(second) {
        return None;
    }
    let rest = second
        .strip_prefix("It ")
        .or_else(|| second.strip_prefix("This "))?;
    let name = &first[names.mention(first)?];
    let standalone = format!("{name} {rest}");
    is_statement(&standalone, true).then_some(standalone)
}

/// Words that say what a paper does or finds.
const CLAIM_CUES: &[&str] = &[
    "the authors",
    "this paper",
    "this work",
    "the paper",
    "they ",
    "we ",
    "propos",
    "introduc",
    "present",
    "show",
    "demonstrat",
    "find",
    "found",
    "achiev",
    "outperform",
    "enabl",
    "develop",
    "extend",
    "improv",
];

/// Whether a sentence of the review says what the paper does (it names the paper, its
/// authors, or a finding).
fn makes_a_claim(sentence: &str, names: &Names<'_>) -> bool {
    let lower = sentence.to_lowercase();
    // "Introducing sparsity into a model causes …": an activity as the subject is
    // background, whatever the gerund's verb.
    let lower = match lower.split_once(' ') {
        Some((first, rest)) if first.ends_with("ing") => rest.to_owned(),
        _ => lower,
    };
    names.mention(sentence).is_some()
        || CLAIM_CUES.iter().any(|cue| lower.contains(cue))
        // "When should you distil a small model …?" asks; it does not claim.
        || PRESCRIPTIONS.iter().any(|p| lower.contains(p)) && !sentence.ends_with('?')
}

/// Words a review uses when it states the paper's thesis in its own voice ("The
/// architecture of diffusion models should be modified to …").
const PRESCRIPTIONS: &[&str] = &[" should ", " must ", " needs to ", " need to "];

/// A summary that opens with the paper's whole title opens with its short name
/// instead ("LATMiX: Learnable Affine … of LLMs generalises" → "LATMiX generalises").
fn short_name_first(summary: String, title: &str) -> String {
    match (summary.strip_prefix(title), title.split_once(':')) {
        (Some(rest), Some((short, _)))
            if rest.starts_with(' ') && rest.trim_start().starts_with(char::is_lowercase) =>
        {
            format!("{}{rest}", short.trim())
        }
        _ => summary,
    }
}

/// What the first sentence of the intro about a paper becomes.
#[derive(Debug, PartialEq, Eq)]
enum Opening {
    /// A plain statement.
    Statement(String),
    /// The sentence only introduced the paper ("We start with X."): its name, to be
    /// the subject of the next sentence.
    NameOnly(String),
    /// Narration that does not say what the paper does.
    Unusable,
}

/// Rewrites the intro's narration around the paper's name into a statement that starts
/// with the paper or its claim.
fn rewrite_opening(sentence: &str, names: &Names<'_>) -> Opening {
    let mut text = sentence.trim();
    loop {
        let before = text;
        for opener in OPENERS {
            if let Some(rest) = strip_prefix_ci(text, opener) {
                text = rest.trim_start();
            }
        }
        if text == before {
            break;
        }
    }
    let Some(at) = names.mention(text) else {
        // "Stable Molecule Generation that uses …": a name the intro gave the paper,
        // then a relative clause with no main verb.
        let text = capitalise(&without_relative_after_name(text));
        return if is_statement(&text, true) {
            Opening::Statement(text)
        } else {
            Opening::Unusable
        };
    };
    let before = text[..at.start].trim();
    let before_lower = before.trim_end_matches(',').trim().to_lowercase();
    let mut name = text[at.clone()].to_owned();
    let after = &text[at.end..];
    // "the Byte Latent Transformer" keeps its article.
    let (lead, article) = match before_lower.strip_suffix(" the") {
        Some(lead) => (lead.trim().to_owned(), true),
        None if before_lower == "the" => (String::new(), true),
        None => (before_lower.clone(), false),
    };
    if article {
        name = format!("the {name}");
    }
    let ordinal_paper = is_ordinal_paper(&lead);
    let in_form = lead == "in" || lead.starts_with("in ") && is_ordinal_paper(&lead[3..]);
    let introducing = INTRODUCING.contains(&lead.as_str());
    let appositive = after
        .strip_prefix(", ")
        .filter(|rest| rest.starts_with("a ") || rest.starts_with("an "));

    let statement = if lead.is_empty() && !article || ordinal_paper || introducing || in_form {
        let after_comma = after.strip_prefix(", ").map(str::trim_start);
        let subject_follows = after_comma.is_some()
            || after.split_whitespace().next().is_some_and(|word| {
                word.starts_with(char::is_uppercase)
                    || matches!(
                        word,
                        "they" | "the" | "we" | "a" | "an" | "it" | "researchers" | "authors"
                    )
            });
        if in_form && subject_follows {
            let rest = after_comma.unwrap_or_else(|| after.trim_start());
            format!("In {name}, {rest}")
        } else if after.trim() == "." || after.trim().is_empty() {
            return Opening::NameOnly(capitalise(&name));
        } else if let Some(rest) = after
            .strip_prefix(" that ")
            .or_else(|| after.strip_prefix(" which "))
            .or_else(|| after_comma.and_then(|r| r.strip_prefix("which ")))
            .or_else(|| after_comma.and_then(|r| r.strip_prefix("that ")))
        {
            format!("{name} {rest}")
        } else if let Some(clause) = after_comma.and_then(|r| r.strip_prefix("where ")) {
            match active_voice(clause, &name) {
                Some(active) => active,
                None => format!("In {name}, {clause}"),
            }
        } else if let Some(rest) = appositive {
            format!("{name} is {rest}")
        } else if let Some(rest) = after_comma {
            if rest.starts_with(|c: char| c.is_lowercase()) && !rest.starts_with("the ") {
                format!("{name} {rest}")
            } else {
                format!("In {name}, {rest}")
            }
        } else if after.starts_with(' ')
            && after.trim_start().starts_with(|c: char| c.is_lowercase())
        {
            format!("{name}{after}")
        } else {
            return Opening::Unusable;
        }
    } else if let Some(rest) = appositive {
        // "… make sure to also read our summary of ParetoQ, a new unified framework …"
        format!("{name} is {rest}")
    } else if is_narration(&before_lower) {
        return Opening::Unusable;
    } else {
        text.replacen(" also ", " ", 1)
    };
    let statement = capitalise(statement.trim());
    if is_statement(&statement, true) {
        Opening::Statement(statement)
    } else {
        Opening::Unusable
    }
}

/// "Stable Molecule Generation that uses …" → "Stable Molecule Generation uses …":
/// a run of capitalised words, then "that" or "which", then a verb.
fn without_relative_after_name(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let Some(at) = words
        .iter()
        .take(8)
        .position(|w| matches!(*w, "that" | "which"))
    else {
        return text.to_owned();
    };
    let named = at >= 1
        && words[..at]
            .iter()
            .all(|w| w.starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit()));
    let verb = words
        .get(at + 1)
        .is_some_and(|w| w.ends_with('s') && w.starts_with(char::is_lowercase));
    if named && verb {
        let mut out: Vec<&str> = words[..at].to_vec();
        out.extend(&words[at + 1..]);
        out.join(" ")
    } else {
        text.to_owned()
    }
}

/// "the first paper", "the second highlighted work", "our last paper", "the last one".
fn is_ordinal_paper(lead: &str) -> bool {
    let words: Vec<&str> = lead.split_whitespace().collect();
    let Some((last, rest)) = words.split_last() else {
        return false;
    };
    matches!(*last, "paper" | "work" | "one" | "pick" | "study")
        && rest.iter().all(|w| {
            matches!(
                *w,
                "the"
                    | "our"
                    | "first"
                    | "second"
                    | "third"
                    | "fourth"
                    | "next"
                    | "last"
                    | "final"
                    | "highlighted"
                    | "featured"
                    | "selected"
            )
        })
}

/// Text before the paper's name that talks to the reader or about the post.
fn is_narration(before: &str) -> bool {
    INTRODUCING.iter().any(|i| before.starts_with(i))
        || [
            "we ",
            "you ",
            "our ",
            "make sure",
            "if you",
            "this month",
            "this is ",
            "read ",
        ]
        .iter()
        .any(|w| before.starts_with(w) || before.contains(&format!(" {}", w.trim_end())))
}

/// "the problem of dataset quality is addressed." about DataRater →
/// "DataRater addresses the problem of dataset quality."
fn active_voice(clause: &str, name: &str) -> Option<String> {
    let clause = clause.trim();
    let (object, rest) = clause
        .split_once(" is ")
        .or_else(|| clause.split_once(" are "))?;
    let participle_end = rest
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(rest.len());
    let participle = &rest[..participle_end];
    let tail = &rest[participle_end..];
    let verb = present_tense(participle)?;
    if object.split_whitespace().count() > 8 || tail.trim_start().starts_with("by ") {
        return None;
    }
    let object = lowercase_first(object);
    Some(format!("{name} {verb} {object}{tail}"))
}

/// The third-person present of a regular past participle ("addressed" → "addresses").
fn present_tense(participle: &str) -> Option<String> {
    let irregular = [
        ("made", "makes"),
        ("shown", "shows"),
        ("taken", "takes"),
        ("given", "gives"),
        ("built", "builds"),
        ("found", "finds"),
    ];
    if let Some((_, present)) = irregular.iter().find(|(p, _)| *p == participle) {
        return Some((*present).to_owned());
    }
    let stem = participle.strip_suffix("ed")?;
    if stem.len() < 2 {
        return None;
    }
    Some(if let Some(base) = stem.strip_suffix('i') {
        format!("{base}ies")
    } else if stem.ends_with("ss") || stem.ends_with("sh") || stem.ends_with("ch") {
        format!("{stem}es")
    } else if stem.ends_with(['c', 'v', 'z', 'g', 'u', 's'])
        || stem.ends_with("or")
        || stem.ends_with("ur")
        || stem.ends_with("ar")
        || stem.ends_with("ib")
        || stem.ends_with("at")
        || stem.ends_with("os")
        || stem.ends_with("bl")
        || stem.ends_with("kl")
        || stem.ends_with("in") && !stem.ends_with("ain")
    {
        // "introduc-ed", "solv-ed", "investigat-ed", "propos-ed", "tackl-ed".
        format!("{stem}es")
    } else {
        format!("{stem}s")
    })
}

/// Whether a sentence points back at one before it ("aims to achieve this by …"):
/// "this" or "these" not followed by what they name (paper, work, method, …).
fn leans_back(sentence: &str) -> bool {
    let words: Vec<String> = sentence
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(w.as_str(), "this" | "these")
            && !words.get(i + 1).is_some_and(|next| {
                matches!(
                    next.as_str(),
                    "paper" | "work" | "method" | "approach" | "model" | "models" | "study"
                )
            })
    })
}

/// Whether `sentence` can stand as (part of) a summary: a statement, not narration,
/// background, TeX, or a fragment; brackets and quotes closed. `first` = it opens the
/// summary, so it may not lean on a sentence before it.
pub(crate) fn is_statement(sentence: &str, first: bool) -> bool {
    let lower = sentence.to_lowercase();
    starts_well(sentence)
        && graphemes(sentence) >= 25
        && sentence.ends_with(SENTENCE_ENDS)
        // A question ("What are the issues with highly granular and sparse MoEs?")
        // asks what the paper answers.
        && !sentence.ends_with('?')
        && !NOT_A_CLAIM.iter().any(|n| lower.starts_with(n))
        && !BACKGROUND_PHRASES.iter().any(|b| lower.contains(b))
        && !(first
            && ANAPHORA.iter().any(|a| {
                sentence.starts_with(a)
                    && !sentence.starts_with("This paper")
                    && !sentence.starts_with("This work")
            }))
        && !sentence.contains("\\(")
        && !sentence.contains("\\[")
        && !sentence.contains('$')
        && balanced(sentence)
        && !is_fragment(sentence)
}

/// What a sentence may end with.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '"', '”', ')', '。', '！', '？'];

/// A capital, a digit, or a letter of a script without case (Chinese, Japanese).
fn starts_well(sentence: &str) -> bool {
    sentence.chars().next().is_some_and(|c| {
        c.is_uppercase() || c.is_ascii_digit() || (c.is_alphabetic() && !c.is_lowercase())
    })
}

/// A sentence in the plainest sense: a capital to open, a stop to close, brackets and
/// quotes closed, no TeX.
fn is_whole_sentence(sentence: &str) -> bool {
    !sentence.ends_with('?')
        && starts_well(sentence)
        && graphemes(sentence) >= 25
        && sentence.ends_with(SENTENCE_ENDS)
        && !sentence.contains("\\(")
        && !sentence.contains('$')
        && balanced(sentence)
}

/// "X that does y." or "An investigation into …" with no verb of its own.
fn is_fragment(sentence: &str) -> bool {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.first().is_some_and(|w| is_base_verb(w)) || is_list_then_colon(sentence) {
        return true;
    }
    let second_is_relative = words
        .get(1)
        .is_some_and(|w| matches!(*w, "that" | "which" | "where"));
    let noun_phrase = (sentence.starts_with("A ") || sentence.starts_with("An "))
        && !words
            .iter()
            .any(|w| FINITE_VERBS.contains(&w.trim_matches(|c: char| !c.is_alphabetic())));
    second_is_relative || noun_phrase
}

/// "Scaling-laws for LLMs, multi-scale quantisation training and scaling test-time
/// compute: it's a rich buffet!": a list of topics before a colon is a line about the
/// whole post, not a statement about one paper.
fn is_list_then_colon(sentence: &str) -> bool {
    let Some((before, _)) = sentence.split_once(": ") else {
        return false;
    };
    let verbless = !before
        .split_whitespace()
        .any(|w| FINITE_VERBS.contains(&w.trim_matches(|c: char| !c.is_alphabetic())));
    before.contains(", ") && (before.contains(" and ") || before.contains(" & ")) && verbless
}

/// Finite verbs summaries use, to tell a sentence from a noun phrase.
const FINITE_VERBS: &[&str] = &[
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "can",
    "could",
    "will",
    "would",
    "may",
    "might",
    "does",
    "do",
    "did",
    "shows",
    "show",
    "finds",
    "find",
    "introduces",
    "introduce",
    "proposes",
    "propose",
    "presents",
    "present",
    "demonstrates",
    "demonstrate",
    "uses",
    "use",
    "explores",
    "explore",
    "improves",
    "improve",
    "outperforms",
    "outperform",
    "achieves",
    "achieve",
    "learns",
    "learn",
    "allows",
    "allow",
    "enables",
    "enable",
    "reduces",
    "reduce",
    "makes",
    "make",
    "builds",
    "build",
    "trains",
    "train",
    "offers",
    "offer",
    "studies",
    "study",
    "investigates",
    "investigate",
    "provides",
    "provide",
    "leads",
    "lead",
    "turns",
    "turn",
    "matches",
    "match",
    "becomes",
    "become",
    "gets",
    "get",
    "takes",
    "take",
    "gives",
    "give",
    "needs",
    "need",
    "requires",
    "require",
    "helps",
    "help",
];

/// Whether every bracket and quote that `text` opens it also closes.
pub(crate) fn balanced(text: &str) -> bool {
    let mut depth_round = 0i32;
    let mut depth_square = 0i32;
    for c in text.chars() {
        match c {
            '(' => depth_round += 1,
            ')' => depth_round -= 1,
            '[' => depth_square += 1,
            ']' => depth_square -= 1,
            _ => {}
        }
        if depth_round < 0 || depth_square < 0 {
            return false;
        }
    }
    let count = |c: char| text.chars().filter(|x| *x == c).count();
    depth_round == 0 && depth_square == 0 && count('“') == count('”') && count('"') % 2 == 0
}

/// Whether a sentence is only the paper's title (or its short name).
fn is_title(sentence: &str, title: &str) -> bool {
    let fold = |t: &str| -> String {
        t.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let sentence = fold(sentence);
    sentence == fold(title)
        || title
            .split_once(':')
            .is_some_and(|(short, _)| fold(short) == sentence)
}

fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // "The problem" → "the problem", but an acronym stays.
        Some(first) if !chars.clone().next().is_some_and(char::is_uppercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(title: &str) -> Names<'_> {
        Names {
            title,
            aliases: Vec::new(),
        }
    }

    fn statement(sentence: &str, title: &str) -> String {
        match rewrite_opening(sentence, &names(title)) {
            Opening::Statement(text) => text,
            other => panic!("{sentence:?} gave {other:?}"),
        }
    }

    #[test]
    fn the_intros_narration_becomes_a_statement_about_the_paper() {
        // All from the corpus intros.
        assert_eq!(
            statement(
                "The first paper, TriForce, looks at efficient LLM inference from the angle of combining speculative decoding and sparse KV techniques.",
                "TriForce: Lossless Acceleration of Long Sequence Generation with Hierarchical Speculative Decoding"
            ),
            "TriForce looks at efficient LLM inference from the angle of combining speculative decoding and sparse KV techniques."
        );
        assert_eq!(
            statement(
                "In our first paper, Subliminal Learning addresses the question, \"Can we control or filter the distillation training data?\"",
                "Subliminal Learning: Language models transmit behavioral traits via hidden signals in data"
            ),
            "Subliminal Learning addresses the question, \"Can we control or filter the distillation training data?\""
        );
        assert_eq!(
            statement(
                "Last up is DataRater, where the problem of dataset quality is addressed.",
                "DataRater: Meta-Learned Dataset Curation"
            ),
            "DataRater addresses the problem of dataset quality."
        );
        assert_eq!(
            statement(
                "We also looked into AlphaEvolve, an evolutionary algorithm from Google DeepMind that generates and refine prompts for Gemini.",
                "AlphaEvolve: A coding agent for scientific and algorithmic discovery"
            ),
            "AlphaEvolve is an evolutionary algorithm from Google DeepMind that generates and refine prompts for Gemini."
        );
        assert_eq!(
            statement(
                "This is followed by Inference-Time Scaling for Generalist Reward Modeling, which presents Self-Principled Critique Tuning (SPCT), a method that powers DeepSeek-GRM.",
                "Inference-Time Scaling for Generalist Reward Modeling"
            ),
            "Inference-Time Scaling for Generalist Reward Modeling presents Self-Principled Critique Tuning (SPCT), a method that powers DeepSeek-GRM."
        );
        assert_eq!(
            statement(
                "Next, in ProRL, NVIDIA researchers dive into the evolving topic of large language model reasoning.",
                "ProRL: Prolonged Reinforcement Learning Expands Reasoning Boundaries in Large Language Models"
            ),
            "In ProRL, NVIDIA researchers dive into the evolving topic of large language model reasoning."
        );
    }

    #[test]
    fn a_fragment_without_a_verb_gets_one() {
        // 2025-09-08: the intro's bullets are noun phrases with a relative clause.
        assert_eq!(
            statement(
                "Graph-R1 that takes an agentic RAG approach with a knowledge hypergraph to effectively represent and retrieve information from a corpus of documents.",
                "Graph-R1: Towards Agentic GraphRAG Framework via End-to-end Reinforcement Learning"
            ),
            "Graph-R1 takes an agentic RAG approach with a knowledge hypergraph to effectively represent and retrieve information from a corpus of documents."
        );
        // 2024-09-01: "Spectra, an open suite of …".
        assert_eq!(
            statement(
                "Spectra, an open suite of 54 LLMs and 500+ intermediate checkpoints from 0.1B to 3.9B.",
                "Spectra: A Comprehensive Study of Ternary, Quantized, and FP16 Language Models"
            ),
            "Spectra is an open suite of 54 LLMs and 500+ intermediate checkpoints from 0.1B to 3.9B."
        );
    }

    #[test]
    fn a_name_with_a_relative_clause_gets_its_verb() {
        // 2025-09-08: the bullet's link text is not the paper's title.
        assert_eq!(
            statement(
                "Stable Molecule Generation that uses a force-field based reward function to fine-tune pre-trained 3D molecule generation diffusion models.",
                "Guiding Diffusion Models with Reinforcement Learning for Stable Molecule Generation"
            ),
            "Stable Molecule Generation uses a force-field based reward function to fine-tune pre-trained 3D molecule generation diffusion models."
        );
    }

    #[test]
    fn a_sentence_that_only_introduces_the_paper_lends_its_name_to_the_next() {
        // 2024-12-30.
        let got = from_intro(
            "We start with the Byte Latent Transformer. This modifies the standard transformer to operate on patches, which comprise a variable number of input bytes.",
            &names("Byte Latent Transformer: Patches Scale Better Than Tokens"),
        );
        assert_eq!(
            got,
            ["The Byte Latent Transformer modifies the standard transformer to operate on patches, which comprise a variable number of input bytes."]
        );
    }

    #[test]
    fn narration_that_says_nothing_about_the_paper_is_not_used() {
        // 2025-01-31: the sentence names the papers but says only that we look at them.
        assert_eq!(
            rewrite_opening(
                "Finally, we look at two recent models from DeepSeek; DeepSeek-V3 and DeepSeek-R1.",
                &names("DeepSeek-V3 & DeepSeek-R1 Technical Reports")
            ),
            Opening::Unusable
        );
    }

    #[test]
    fn the_review_gives_the_claim_not_the_background() {
        // 2024-04-30 TriForce: the key idea opens with background.
        let key_idea = "As large language models (LLMs) are getting increasingly used in many applications, efficient inference (in terms of memory, compute and energy) is a dynamic research field. TriForce combines speculative decoding with a sparse KV cache, and shows a 2.3x speed-up on an A100.";
        let got = from_review(key_idea, &names("TriForce: Lossless Acceleration"));
        assert_eq!(
            got,
            ["TriForce combines speculative decoding with a sparse KV cache, and shows a 2.3x speed-up on an A100."]
        );
    }

    #[test]
    fn options_are_whole_sentences_best_first() {
        let paper = Paper {
            position: 0,
            title: "Titans: Learning to Memorize at Test Time".into(),
            authors: "Ali Behrouz, et al.".into(),
            orgs: "Google Research".into(),
            link: "https://arxiv.org/abs/2501.00663".into(),
            anchor: "titans".into(),
            url: "https://graphcore-research.github.io/2025-01-31-potm/#titans".into(),
            intro_summary: None,
            intro_sentence: Some("We start with Titans, which introduces a memory module to architectures that can be updated during inference. This results in a hybrid between attention mechanisms and recurrent models, and unlocks the ability to handle really long sequence lengths.".into()),
            key_idea: "Titans adds a neural long-term memory to attention.".into(),
            figure: None,
        };
        let got = options(&paper);
        assert_eq!(
            got[0],
            "Titans introduces a memory module to architectures that can be updated during inference. This results in a hybrid between attention mechanisms and recurrent models, and unlocks the ability to handle really long sequence lengths."
        );
        assert_eq!(
            got[1],
            "Titans introduces a memory module to architectures that can be updated during inference."
        );
        assert!(got.contains(&"Titans adds a neural long-term memory to attention.".to_owned()));
        assert!(got.iter().all(|o| !o.contains('…')));
    }

    #[test]
    fn a_second_sentence_that_says_what_the_paper_does_stands_on_its_own() {
        // 2024-04-30: the intro's QuaRot sentences.
        let paper = Paper {
            position: 1,
            title: "QuaRot: Outlier-Free 4-Bit Inference in Rotated LLMs".into(),
            authors: "Saleh Ashkboos, et al.".into(),
            orgs: "ETH Zurich".into(),
            link: "https://arxiv.org/abs/2404.00456".into(),
            anchor: "quarot".into(),
            url: "https://graphcore-research.github.io/2024-04-30-potm/#quarot".into(),
            intro_summary: None,
            intro_sentence: Some("The second highlighted work, QuaRot, is taking a more classic, but loved by Graphcore Research team, quantisation route. It elegantly demonstrates how to use Hadamard transforms to solve the outlier problem in the distribution of LLM activations.".into()),
            key_idea: String::new(),
            figure: None,
        };
        let got = options(&paper);
        assert_eq!(
            got[1],
            "QuaRot elegantly demonstrates how to use Hadamard transforms to solve the outlier problem in the distribution of LLM activations."
        );
        assert!(got[2].starts_with("QuaRot is taking a more classic"));
    }

    #[test]
    fn a_sentence_that_points_back_does_not_stand_alone() {
        // 2024-04-30, the review of Mixture-of-Depths.
        assert!(leans_back(
            "Mixture-of-Depths (MoD) aims to achieve this by capping the number of tokens."
        ));
        assert!(!leans_back(
            "This paper proposes Contextual Position Encoding (CoPE)."
        ));
        assert!(!leans_back("The authors show that this method scales."));
    }

    #[test]
    fn the_reviews_thesis_comes_before_a_sentence_that_adds_to_it() {
        // 2024-01-29, Analyzing and Improving the Training Dynamics of Diffusion Models.
        let key_idea = "The architecture of diffusion models should be modified to ensure training signals are stable and predictable. This leads to a significant improvement in the quality of generated images. The paper also introduces a second innovation: post-hoc EMA.";
        let got = from_review(
            key_idea,
            &names("Analyzing and Improving the Training Dynamics of Diffusion Models"),
        );
        assert_eq!(
            got[0],
            "The architecture of diffusion models should be modified to ensure training signals are stable and predictable."
        );
    }

    #[test]
    fn an_activity_as_subject_is_background_not_the_claim() {
        // 2024-06-28, Sparse maximal update parameterization.
        let key_idea = "Introducing sparsity into a model causes its learning dynamics to change, meaning that the optimal hyperparameters (especially learning rate) may be altered. Many previous studies have failed to account for this effect. By applying the principles of µP we can create sparse models with stable hyperparameters.";
        let got = from_review(key_idea, &names("Sparse maximal update parameterization: A holistic approach to sparse training dynamics"));
        assert_eq!(
            got,
            ["By applying the principles of µP we can create sparse models with stable hyperparameters."]
        );
    }

    #[test]
    fn a_sentence_built_on_earlier_work_starts_at_its_subject() {
        // 2024-02-29 LongRoPE and 2024-06-28 MatMul-free.
        assert_eq!(
            without_building_on("Building upon this observation and prior work, this paper introduces a method for greatly extending the context length of pretrained language models."),
            "This paper introduces a method for greatly extending the context length of pretrained language models."
        );
        assert_eq!(
            without_building_on("Building upon BitNet b1.58, which quantises all parameter matrices in a LM into a ternary format, the authors describe a \"matmul-free\" LM."),
            "The authors describe a \"matmul-free\" LM."
        );
        let key_idea = "Language models are generally limited to performing well only on sequence lengths seen during training. Building upon this observation and prior work, this paper introduces a method for greatly extending the context length of pretrained language models using RoPE embeddings.";
        let got = from_review(
            key_idea,
            &names("LongRoPE: Extending LLM Context Window Beyond 2 Million Tokens"),
        );
        assert!(
            got[0].starts_with("LongRoPE introduces a method"),
            "{got:?}"
        );
    }

    #[test]
    fn a_sentence_without_a_subject_gets_the_papers_name() {
        // 2024-02-29 QuIP#: the key idea is an imperative.
        assert_eq!(
            with_subject(
                "Enable extreme compression by transforming weights to something less heavy-tailed!",
                &names("QuIP#: Even Better LLM Quantization with Hadamard Incoherence and Lattice Codebooks")
            ),
            "QuIP# enables extreme compression by transforming weights to something less heavy-tailed!"
        );
        assert!(is_fragment(
            "Enable extreme compression by transforming weights to something less heavy-tailed!"
        ));
    }

    #[test]
    fn a_line_about_the_whole_post_is_not_a_papers_summary() {
        // 2025-02-27: the intro's last line.
        let line = "Scaling-laws for LLMs, multi-scale quantisation training and scaling test-time compute: it's a rich buffet!";
        assert!(!is_statement(line, true));
        // 2026-01-13: the review opens with a question.
        assert!(!is_statement(
            "What are the issues with highly granular and sparse MoEs?",
            true
        ));
        assert!(is_statement(
            "ParetoQ introduces the first unified framework for comparing different bit-width quantisation approaches: a comprehensive analysis.",
            true
        ));
    }

    #[test]
    fn a_caption_that_states_the_finding_is_a_summary() {
        // 2024-06-28 Mamba-2: the review opens with an aside ("If you stare …").
        let got = from_caption(
            "The authors demonstrate equivalence between linear attention and state space models under specific conditions for attention masking structure and state-space rank.",
            &names("Transformers are SSMs: Generalized Models and Efficient Algorithms Through Structured State Space Duality"),
        );
        assert_eq!(got.len(), 1);
        // 2025-04-06 and 2024-10-30: captions that describe the figure.
        assert!(from_caption(
            "Results are shown with up to 8 samples for each method, and are further scaled to 32 samples for ours.",
            &names("Inference-Time Scaling for Generalist Reward Modeling")
        )
        .is_empty());
        assert!(from_caption(
            "The ADMIRE-BayesOpt loop.",
            &names("ADMIRE-BayesOpt: Accelerated Data MIxture RE-weighting for Language Models with Bayesian Optimization")
        )
        .is_empty());
        assert!(from_caption(
            "A visualization of the Architecture. Each block consists of a number of sub-layers.",
            &names("Scaling up Test-Time Compute with Latent Reasoning")
        )
        .is_empty());
    }

    #[test]
    fn a_shorter_whole_sentence_leaves_out_the_asides() {
        // 2024-02-29 Speculative Streaming and QuIP#.
        assert_eq!(
            without_asides("Apple introduced their new speculative streaming method, which makes efficiency gains by asking the model to predict multiple future tokens, improving over the popular speculative decoding technique.").as_deref(),
            Some("Apple introduced their new speculative streaming method, which makes efficiency gains by asking the model to predict multiple future tokens.")
        );
        assert_eq!(
            without_asides("QuIP# enables extreme compression by transforming weights to something less heavy-tailed before quantising with a set of spherical (rather than grid-like) codes!").as_deref(),
            Some("QuIP# enables extreme compression by transforming weights to something less heavy-tailed before quantising with a set of spherical codes!")
        );
        assert_eq!(
            without_asides("TriForce combines speculative decoding with a sparse KV cache."),
            None
        );
    }

    #[test]
    fn participles_become_present_tense() {
        assert_eq!(present_tense("addressed").as_deref(), Some("addresses"));
        assert_eq!(present_tense("studied").as_deref(), Some("studies"));
        assert_eq!(present_tense("introduced").as_deref(), Some("introduces"));
        assert_eq!(
            present_tense("investigated").as_deref(),
            Some("investigates")
        );
        assert_eq!(present_tense("explored").as_deref(), Some("explores"));
    }

    #[test]
    fn a_review_sentence_loses_its_summing_up_and_its_pointers_at_the_page() {
        // From the 2025-04-06 review.
        assert_eq!(
            without_summing_up(
                "In short, the authors looked at the functions learned by layer-norms in a \
                 variety of Transformer models."
            ),
            "The authors looked at the functions learned by layer-norms in a variety of \
             Transformer models."
        );
        assert_eq!(
            without_summing_up("In the headline results (below), the authors take OLMo-1B."),
            "In the headline results, the authors take OLMo-1B."
        );
    }
}
