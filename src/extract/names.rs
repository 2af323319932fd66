//! Finding where a piece of prose names a paper: by its title, the short name before
//! the title's colon ("TriForce"), its leading words ("Memory Layers" of "Memory Layers
//! at Scale") or a word of the title that only this paper would use (an acronym such as
//! "QuaRot", a name with digits such as "Phi-4").
//!
//! Shared by extraction (which sentences of a prose intro talk about which paper) and
//! composition (rewriting the intro's narration around the name).

use std::ops::Range;

/// Words that end the leading words of a title used as its short name.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the",
    "to", "via", "with", "without", "are", "can", "be", "make", "through",
];

/// Words in titles that many papers use: never a name on their own.
const COMMON_WORDS: &[&str] = &[
    "llm", "llms", "lm", "lms", "ai", "ml", "rl", "gnn", "gnns", "moe", "moes", "rag", "cot",
    "vae", "vaes", "gpu", "gpus", "nlp", "sft", "dit", "mlp", "mlps", "3d", "2d", "ssm", "ssms",
    "kv", "fp4", "fp8", "int4", "int8", "rlvr", "fp16", "bf16", "fp32", "gpt", "llama", "mmlu",
    "flops", "tpu", "tpus", "cpu", "api", "sota",
];

/// The ways prose may name the paper titled `title`, strongest first.
pub fn names_of(title: &str) -> Vec<String> {
    let mut names = vec![title.trim().to_owned()];
    let short = title.split_once(':').map(|(short, _)| short.trim());
    if let Some(short) = short.filter(|s| !s.is_empty()) {
        names.push(short.to_owned());
    }
    let head = short.unwrap_or(title);
    let words: Vec<&str> = head.split_whitespace().collect();
    let leading: Vec<&str> = words
        .iter()
        .take_while(|w| !FUNCTION_WORDS.contains(&w.to_lowercase().as_str()))
        .copied()
        .collect();
    if leading.len() >= 2 && leading.len() < words.len() {
        names.push(leading.join(" "));
    }
    for word in title.split(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '?' | '(' | ')'))
    {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if is_distinctive(word) && !names.iter().any(|n| n == word) {
            names.push(word.to_owned());
        }
    }
    names.retain(|n| n.chars().filter(|c| c.is_alphanumeric()).count() >= 2);
    names
}

/// A word only a few papers would have in their title: mixed case inside the word
/// ("QuaRot", "SµPar"), or letters with digits ("Phi-4", "Graph-R1").
fn is_distinctive(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || COMMON_WORDS.contains(&word.to_lowercase().as_str()) {
        return false;
    }
    // A capital after a lowercase letter ("QuaRot", "SµPar"); a capital after a
    // hyphen is only a compound in title case ("Test-Time", "Mixture-of-Depths").
    let chars: Vec<char> = word.chars().collect();
    let inner_upper = chars
        .windows(2)
        .any(|pair| pair[0].is_lowercase() && pair[1].is_uppercase());
    let digits = word.chars().any(|c| c.is_ascii_digit());
    let non_ascii = word.chars().any(|c| c.is_alphabetic() && !c.is_ascii());
    inner_upper || (digits && letters >= 2) || non_ascii
}

/// Where `text` first names the paper titled `title` (by the strongest name that
/// occurs), as a byte range of `text`.
pub fn mention(text: &str, title: &str) -> Option<Range<usize>> {
    mention_with(text, title, &[])
}

/// [`mention`], also by the paper's `aliases` ([`aliases`]).
pub fn mention_with(text: &str, title: &str, aliases: &[String]) -> Option<Range<usize>> {
    names_of(title)
        .iter()
        .chain(aliases)
        .find_map(|name| find_words(text, name))
}

/// The names a review gives its paper in brackets ("Contextual Position Encoding
/// (CoPE)", "(SµPar)"): distinctive words or acronyms of three letters or more.
pub fn aliases(review: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = review;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else {
            break;
        };
        let inner = after[..close].trim();
        let acronym = inner.chars().filter(|c| c.is_uppercase()).count() >= 3
            && inner.chars().all(|c| c.is_alphanumeric() || c == '-');
        if (is_distinctive(inner) || acronym)
            && !COMMON_WORDS.contains(&inner.to_lowercase().as_str())
            && !inner.contains(' ')
            && !out.iter().any(|a| a == inner)
        {
            out.push(inner.to_owned());
        }
        rest = &after[close..];
    }
    out
}

/// Where `needle` occurs in `text` as whole words, ignoring case, with a hyphen and
/// a space read alike and a plural "s" allowed at its end.
pub fn find_words(text: &str, needle: &str) -> Option<Range<usize>> {
    let needle: Vec<char> = needle.chars().collect();
    if needle.is_empty() {
        return None;
    }
    let same = |a: char, b: char| {
        a == b
            || (matches!(a, '-' | ' ' | '‐') && matches!(b, '-' | ' ' | '‐'))
            || (matches!(a, 's' | 'z') && matches!(b, 's' | 'z'))
            || a.to_lowercase().eq(b.to_lowercase())
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for start in 0..chars.len() {
        if start > 0 && chars[start - 1].1.is_alphanumeric() {
            continue;
        }
        if chars.len() - start < needle.len() {
            break;
        }
        if !needle
            .iter()
            .enumerate()
            .all(|(k, n)| same(chars[start + k].1, *n))
        {
            continue;
        }
        let mut end = start + needle.len();
        if chars.get(end).is_some_and(|(_, c)| *c == 's')
            && !chars.get(end + 1).is_some_and(|(_, c)| c.is_alphanumeric())
        {
            end += 1;
        }
        if chars.get(end).is_some_and(|(_, c)| c.is_alphanumeric()) {
            continue;
        }
        let to = chars.get(end).map_or(text.len(), |(at, _)| *at);
        return Some(chars[start].0..to);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<'t>(text: &'t str, title: &str) -> Option<&'t str> {
        mention(text, title).map(|r| &text[r])
    }

    #[test]
    fn a_paper_is_named_by_its_short_name_even_without_a_link() {
        // 2024-04-30: the intro names each paper by the part of its title before the colon.
        let triforce = "TriForce: Lossless Acceleration of Long Sequence Generation with \
                        Hierarchical Speculative Decoding";
        assert_eq!(
            named(
                "The first paper, TriForce, looks at efficient LLM inference from the angle of \
                 combining speculative decoding and sparse KV techniques",
                triforce
            ),
            Some("TriForce")
        );
        assert_eq!(
            named(
                "Finally, the last paper, Mixture-of-Depths, presents how LLMs can learn to \
                 dynamically and independently allocate FLOPs to tokens",
                "Mixture-of-Depths: Dynamically allocating compute in transformer-based language models"
            ),
            Some("Mixture-of-Depths")
        );
    }

    #[test]
    fn leading_words_and_distinctive_words_name_a_paper() {
        // 2024-12-30: "The Memory Layers architecture", "the Phi-4 paper".
        assert_eq!(
            named(
                "The Memory Layers architecture allows extra parameters to be added",
                "Memory Layers at Scale"
            ),
            Some("Memory Layers")
        );
        assert_eq!(
            named(
                "Finally, the Phi-4 paper presents a rather different FLOPs angle",
                "Phi-4 Technical Report"
            ),
            Some("Phi-4")
        );
        // 2025-02-27: British spelling in the intro, American in the title.
        assert_eq!(
            named(
                "is also at the heart of Matryoshka Quantisation, DeepMind's solution",
                "Matryoshka Quantization"
            ),
            Some("Matryoshka Quantisation")
        );
        // 2024-06-28: "matmul-free LMs" for "Scalable MatMul-free Language Modeling".
        assert_eq!(
            named(
                "Finally, \"matmul-free LMs\" follow the trajectory of BitNet",
                "Scalable MatMul-free Language Modeling"
            ),
            Some("matmul-free")
        );
    }

    #[test]
    fn a_review_names_its_paper_in_brackets() {
        // 2024-06-28: the intro says "CoPE identifies …"; only the review spells it out.
        let review = "This paper proposes Contextual Position Encoding (CoPE), a flexible, \
                      context-dependent technique (see e.g. Figure 1).";
        let aliases = aliases(review);
        assert_eq!(aliases, ["CoPE"]);
        let title = "Contextual Position Encoding: Learning to Count What’s Important";
        let intro = "CoPE identifies deficiencies in current relative positional encodings.";
        assert_eq!(mention_with(intro, title, &aliases), Some(0..4));
    }

    #[test]
    fn a_title_case_compound_does_not_name_a_paper() {
        // 2025-02-27: the intro's closing line about all the papers says
        // "test-time compute", which is not the name of the recurrent-depth paper.
        let title =
            "Scaling up Test-Time Compute with Latent Reasoning: A Recurrent Depth Approach";
        assert!(!names_of(title).iter().any(|n| n == "Test-Time"));
        assert!(
            names_of("QuaRot: Outlier-Free 4-Bit Inference in Rotated LLMs")
                .iter()
                .any(|n| n == "QuaRot")
        );
    }

    #[test]
    fn common_words_do_not_name_a_paper() {
        assert_eq!(
            named(
                "Improving LLM inference is a key research topic",
                "QuaRot: Outlier-Free 4-Bit Inference in Rotated LLMs"
            ),
            None
        );
        assert!(find_words("TriForcex", "TriForce").is_none());
        assert_eq!(find_words("two scaling laws.", "Scaling Law"), Some(4..16));
    }
}
