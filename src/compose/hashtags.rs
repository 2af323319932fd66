//! The head post's hashtags: from the post's tags, in CamelCase (screen readers read
//! `#EfficientInference` as two words), the team's own spelling where
//! `compose.hashtags` gives one, near-duplicates merged (#LLM / #LLMs, #Inference
//! inside #EfficientInference), the tags that match the papers' titles and summaries
//! most first, at most `compose.max_hashtags`.

use super::ComposeOptions;
use crate::model::Announcement;

/// Tags written as acronyms, in the spelling a hashtag should use.
const ACRONYMS: &[&str] = &[
    "LLM", "LLMs", "LM", "LMs", "RAG", "GNN", "GNNs", "AGI", "AI", "ML", "RL", "MoE", "MoEs",
    "DNA", "VAE", "SSM", "SSMs", "GPU", "GPUs", "NLP", "CoT", "FP8", "FP4", "MuP",
];

/// The hashtags for the post, best first.
pub(crate) fn choose(
    announcement: &Announcement,
    summaries: &[Vec<String>],
    options: &ComposeOptions,
) -> Vec<String> {
    let mut text = String::new();
    for (i, paper) in announcement.papers.iter().enumerate() {
        text.push_str(&paper.title);
        text.push(' ');
        if let Some(first) = summaries.get(i).and_then(|s| s.first()) {
            text.push_str(first);
        }
        text.push(' ');
    }
    let text = key(&text);
    let mut ranked: Vec<(usize, usize, String)> = Vec::new();
    for (order, tag) in announcement.tags.iter().enumerate() {
        let Some(hashtag) = hashtag_for(tag, options) else {
            continue;
        };
        let score = relevance(tag, &text);
        ranked.push((score, order, hashtag));
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, _, hashtag) in ranked {
        let new = key(&hashtag);
        let duplicate = out.iter().any(|kept| {
            let kept = key(kept);
            kept == new || kept.contains(&new) || new.contains(&kept)
        });
        if !duplicate {
            out.push(hashtag);
        }
        if out.len() >= options.max_hashtags {
            break;
        }
    }
    out
}

/// The hashtag for one tag: the configured one ("" = none), else the tag in
/// CamelCase; `None` for a tag that makes no hashtag (no letters).
fn hashtag_for(tag: &str, options: &ComposeOptions) -> Option<String> {
    let configured = options.hashtags.get(tag).or_else(|| {
        options
            .hashtags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(tag))
            .map(|(_, v)| v)
    });
    if let Some(configured) = configured {
        let body = configured.trim().trim_start_matches('#');
        return (!body.is_empty()).then(|| format!("#{body}"));
    }
    let words: Vec<&str> = tag
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if !words.iter().any(|w| w.chars().any(char::is_alphabetic)) {
        return None;
    }
    let body: String = words.iter().map(|w| camel_word(w)).collect();
    Some(format!("#{body}"))
}

fn camel_word(word: &str) -> String {
    if let Some(acronym) = ACRONYMS.iter().find(|a| a.eq_ignore_ascii_case(word)) {
        return (*acronym).to_owned();
    }
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How much the papers are about `tag`: how many of its words their titles and
/// summaries use, the whole tag counting double.
fn relevance(tag: &str, text: &str) -> usize {
    // Words nearly every post's papers use say nothing about this post.
    const GENERIC: &[&str] = &[
        "of", "the", "and", "for", "in", "on", "to", "with", "model", "learning", "training",
        "language",
    ];
    let words: Vec<String> = tag
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .map(key)
        .filter(|w| !GENERIC.contains(&w.as_str()))
        .collect();
    let whole = key(tag);
    let mut score = words.iter().filter(|w| text.contains(w.as_str())).count();
    if words.len() > 1 && text.contains(&whole) {
        score += 2;
    }
    score
}

/// A spelling-insensitive key: letters and digits, lower case, British "s" for "z",
/// no plural "s".
fn key(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'z' { 's' } else { c })
        .collect();
    folded
        .split_whitespace()
        .map(|w| w.strip_suffix('s').filter(|s| s.len() > 1).unwrap_or(w))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Paper;

    fn post(tags: &[&str], titles: &[&str]) -> Announcement {
        Announcement {
            url: "https://graphcore-research.github.io/2024-02-29-potm/".into(),
            slug: "2024-02-29-potm".into(),
            title: "February Papers: Longer RoPEs & Better Quantisation".into(),
            date: "2024-02-29".into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            social_image: None,
            papers: titles
                .iter()
                .enumerate()
                .map(|(position, title)| Paper {
                    position,
                    title: (*title).into(),
                    authors: String::new(),
                    orgs: String::new(),
                    link: String::new(),
                    anchor: String::new(),
                    url: String::new(),
                    intro_summary: None,
                    intro_sentence: None,
                    key_idea: String::new(),
                    figure: None,
                })
                .collect(),
            intro_theme: None,
        }
    }

    #[test]
    fn tags_become_camel_case_merged_and_ranked_by_the_papers() {
        // 2024-02-29's tags, as the blog has them.
        let announcement = post(
            &[
                "LLMs",
                "efficient-inference",
                "fine-tuning",
                "inference",
                "long-context",
                "position-embeddings",
                "quantisation",
                "speculative-decoding",
            ],
            &[
                "LongRoPE: Extending LLM Context Window Beyond 2 Million Tokens",
                "QuIP#: Even Better LLM Quantization with Hadamard Incoherence and Lattice Codebooks",
                "Speculative Streaming: Fast LLM Inference without Auxiliary Models",
                "FP6-LLM: Efficiently Serving Large Language Models Through FP6-Centric Algorithm-System Co-Design",
            ],
        );
        let got = choose(&announcement, &[], &ComposeOptions::default());
        assert_eq!(got.len(), 4);
        assert!(got.contains(&"#LLMs".to_owned()), "{got:?}");
        assert!(got.contains(&"#Quantisation".to_owned()), "{got:?}");
        // #Inference is inside #EfficientInference: only one of them.
        let inference = got.iter().filter(|t| t.contains("Inference")).count();
        assert_eq!(inference, 1, "{got:?}");
        assert!(got.iter().all(|t| t[1..].starts_with(char::is_uppercase)));
    }

    #[test]
    fn near_duplicates_merge_and_configured_tags_win() {
        // 2026-02-10 has both "LLM" and "llm".
        let announcement = post(
            &["LLM", "llm", "llms", "diffusion", "memory"],
            &["Conditional Memory via Scalable Lookup"],
        );
        let mut options = ComposeOptions::default();
        let got = choose(&announcement, &[], &options);
        assert_eq!(
            got.iter().filter(|t| t.starts_with("#LLM")).count(),
            1,
            "{got:?}"
        );
        assert_eq!(got[0], "#Memory");
        options
            .hashtags
            .insert("diffusion".into(), "#DiffusionModels".into());
        options.hashtags.insert("memory".into(), String::new());
        let got = choose(&announcement, &[], &options);
        assert!(got.contains(&"#DiffusionModels".to_owned()), "{got:?}");
        assert!(!got.contains(&"#Memory".to_owned()), "{got:?}");
    }
}
