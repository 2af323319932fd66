//! Rendering an [`Announcement`] into one thread per platform, each post fitted to the
//! platform's length rules (pure, no I/O; user templates are read once when loaded).
//!
//! A thread is a head post about the blog post, one post per paper (two or more where
//! a paper's facts do not fit one), and an optional closing post inviting replies.
//! Templates decide the wording ([`templates`]); fitting (`fit.rs`) decides lengths and
//! may shorten only a paper's summary, never a title, a name or a URL.

mod fit;
pub mod templates;

pub use templates::Templates;

use crate::model::{Announcement, Figure, Paper};
use crate::model::{LengthRules, PlatformKind};
use fit::{Summary, SUMMARY_MARK};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;
use unicode_segmentation::UnicodeSegmentation;

/// A thread as it will be posted on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    pub platform: PlatformKind,
    pub posts: Vec<Post>,
}

impl Thread {
    /// The thread as a person reads it: each post with its counted length against the
    /// limit, and its images with their alt text (`papercast preview`, snapshots).
    pub fn to_text(&self) -> String {
        let mut out = format!("{} ({} posts)\n", self.platform, self.posts.len());
        for (i, post) in self.posts.iter().enumerate() {
            let role = match post.role {
                PostRole::Head => "head".to_owned(),
                PostRole::Paper { position } => format!("paper {position}"),
                PostRole::Closing => "closing".to_owned(),
            };
            out.push_str(&format!(
                "\n--- {}/{} {role} [{}/{}]\n{}\n",
                i + 1,
                self.posts.len(),
                post.length,
                post.limit,
                post.text
            ));
            for image in &post.images {
                out.push_str(&format!("[image {} | alt: {}]\n", image.url, image.alt));
            }
        }
        out
    }
}

/// One post of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub role: PostRole,
    pub text: String,
    /// The text's length as the platform counts it.
    pub length: usize,
    /// The platform's limit that `length` must not exceed.
    pub limit: usize,
    pub images: Vec<Figure>,
}

/// What a post of the thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PostRole {
    /// The head post, about the whole blog post.
    Head,
    /// A post about the paper at this position on the page (a paper whose facts need
    /// more than one post has several in a row).
    Paper { position: usize },
    /// The closing post inviting replies.
    Closing,
}

#[derive(Debug, Error)]
pub enum ComposeError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("reading templates: {path}: {source}; check compose.templates_dir")]
    TemplateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    DoesNotFit(String),
}

/// Options for composing that come from configuration.
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    pub closing_post: bool,
}

/// The most graphemes of "The key idea" taken as a summary, in whole sentences
/// (at least one), before fitting shortens it further.
const KEY_IDEA_SUMMARY_GRAPHEMES: usize = 280;

/// Words an intro uses to lead from one paper to the next, meaningless in a post
/// of its own.
const INTRO_OPENERS: &[&str] = &[
    "First up, ",
    "First, ",
    "Next, ",
    "Next up, ",
    "Then, ",
    "Finally, ",
    "Lastly, ",
    "Last but not least, ",
];

/// What templates see of the blog post.
#[derive(Debug, Serialize)]
struct PostView<'a> {
    title: &'a str,
    url: &'a str,
    date: &'a str,
    slug: &'a str,
    tags: &'a [String],
}

/// What templates see of a paper.
#[derive(Debug, Serialize)]
struct PaperView<'a> {
    position: usize,
    /// `position + 1`, for "2/4".
    number: usize,
    title: &'a str,
    authors: &'a str,
    orgs: &'a str,
    link: &'a str,
    url: &'a str,
    anchor: &'a str,
    has_figure: bool,
}

/// Everything a template can use; `paper` is none and `summary` empty outside the
/// paper template.
#[derive(Debug, Serialize)]
struct Context<'a> {
    platform: &'static str,
    post: &'a PostView<'a>,
    papers: &'a [PaperView<'a>],
    count: usize,
    hashtags: &'a [String],
    paper: Option<&'a PaperView<'a>>,
    summary: &'a str,
}

/// Composes the thread for one platform.
pub fn compose(
    announcement: &Announcement,
    templates: &Templates,
    rules: &LengthRules,
    options: &ComposeOptions,
) -> Result<Thread, ComposeError> {
    let platform = rules.platform;
    let post_view = PostView {
        title: &announcement.title,
        url: &announcement.url,
        date: &announcement.date,
        slug: &announcement.slug,
        tags: &announcement.tags,
    };
    let papers: Vec<PaperView> = announcement.papers.iter().map(paper_view).collect();
    let hashtags = hashtags(&announcement.tags);
    let base = Context {
        platform: platform.as_str(),
        post: &post_view,
        papers: &papers,
        count: papers.len(),
        hashtags: &[],
        paper: None,
        summary: "",
    };
    let mut posts = Vec::new();

    // Head: with as many hashtags as fit, in tag order; none when not even one does.
    let mut head = None;
    for k in (0..=hashtags.len()).rev() {
        let text = fit::tidy(&templates.render(
            templates::HEAD,
            platform,
            &Context {
                hashtags: &hashtags[..k],
                ..base
            },
        )?);
        if k == 0 || rules.fits(&text) {
            head = Some(text);
            break;
        }
    }
    let head = head.unwrap_or_default();
    for text in fit::fit(
        &head,
        &Summary::default(),
        &[&announcement.title, &announcement.url],
        rules,
    )? {
        posts.push(make_post(PostRole::Head, text, Vec::new(), rules));
    }

    for (paper, view) in announcement.papers.iter().zip(&papers) {
        let rendered = templates.render(
            templates::PAPER,
            platform,
            &Context {
                paper: Some(view),
                summary: SUMMARY_MARK,
                ..base
            },
        )?;
        let images: Vec<Figure> = paper
            .figure
            .iter()
            .map(|figure| Figure {
                url: figure.url.clone(),
                alt: fit::shorten_alt(&figure.alt, rules.max_alt),
            })
            .collect();
        let texts = fit::fit(
            &rendered,
            &summary_of(paper),
            &[
                &paper.title,
                &paper.authors,
                &paper.orgs,
                &paper.link,
                &paper.url,
            ],
            rules,
        )?;
        let role = PostRole::Paper {
            position: paper.position,
        };
        for (i, text) in texts.into_iter().enumerate() {
            // The figure goes with the paper's first post.
            let images = if i == 0 { images.clone() } else { Vec::new() };
            posts.push(make_post(role, text, images, rules));
        }
    }

    if options.closing_post {
        let closing = templates.render(templates::CLOSING, platform, &base)?;
        for text in fit::fit(&closing, &Summary::default(), &[&announcement.url], rules)? {
            posts.push(make_post(PostRole::Closing, text, Vec::new(), rules));
        }
    }

    for (i, post) in posts.iter().enumerate() {
        if post.text.is_empty() {
            return Err(ComposeError::DoesNotFit(format!(
                "post {} of the {platform} thread is empty; check the templates",
                i + 1
            )));
        }
        if !rules.fits(&post.text) {
            return Err(ComposeError::DoesNotFit(format!(
                "post {} of the {platform} thread counts {} of at most {}",
                i + 1,
                post.length,
                post.limit
            )));
        }
    }
    Ok(Thread { platform, posts })
}

/// Renders every template once, on every platform, with a stand-in post and paper, so
/// that a user template that cannot render (a misspelt variable) is reported when the
/// templates load rather than when a thread is due.
pub(crate) fn check_templates(templates: &Templates) -> Result<(), ComposeError> {
    let tags = ["tag".to_owned()];
    let post = PostView {
        title: "Title",
        url: "https://example.org/post/",
        date: "2026-01-01",
        slug: "post",
        tags: &tags,
    };
    let papers = [PaperView {
        position: 0,
        number: 1,
        title: "Title",
        authors: "Authors",
        orgs: "Organisations",
        link: "https://example.org/paper",
        url: "https://example.org/post/#title",
        anchor: "title",
        has_figure: true,
    }];
    let hashtags = ["#tag".to_owned()];
    for platform in PlatformKind::ALL {
        let base = Context {
            platform: platform.as_str(),
            post: &post,
            papers: &papers,
            count: papers.len(),
            hashtags: &hashtags,
            paper: None,
            summary: "",
        };
        templates.render(templates::HEAD, platform, &base)?;
        templates.render(
            templates::PAPER,
            platform,
            &Context {
                paper: Some(&papers[0]),
                summary: SUMMARY_MARK,
                ..base
            },
        )?;
        templates.render(templates::CLOSING, platform, &base)?;
    }
    Ok(())
}

fn make_post(role: PostRole, text: String, images: Vec<Figure>, rules: &LengthRules) -> Post {
    Post {
        role,
        length: rules.count(&text),
        limit: rules.max,
        text,
        images,
    }
}

fn paper_view(paper: &Paper) -> PaperView<'_> {
    PaperView {
        position: paper.position,
        number: paper.position + 1,
        title: &paper.title,
        authors: &paper.authors,
        orgs: &paper.orgs,
        link: &paper.link,
        url: &paper.url,
        anchor: &paper.anchor,
        has_figure: paper.figure.is_some(),
    }
}

/// The post's tags as hashtags: `long-context` → `#LongContext`, `LLMs` → `#LLMs`;
/// tags that make no hashtag (only digits, no letters) are left out, and so are
/// repeats that differ only in case.
pub fn hashtags(tags: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for tag in tags {
        let words: Vec<&str> = tag
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if !words.iter().any(|w| w.chars().any(char::is_alphabetic)) {
            continue;
        }
        let body: String = if words.len() == 1 {
            words[0].to_owned()
        } else {
            words.iter().map(|w| capitalise(w)).collect()
        };
        let key = body.to_lowercase();
        if !seen.contains(&key) {
            seen.push(key);
            out.push(format!("#{body}"));
        }
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn normalise_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The summary to announce for a paper ([`Paper::summary`]), tidied: the intro's
/// summary without the words that lead into it ("First up, ") or out of it ("; and"),
/// or else the first sentences of "The key idea". When it must be shortened, a
/// summary that starts by repeating the paper's title loses the title first.
fn summary_of(paper: &Paper) -> Summary {
    let from_intro = paper
        .intro_summary
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    let text = normalise_whitespace(paper.summary());
    if !from_intro {
        let full = first_sentences(&text, KEY_IDEA_SUMMARY_GRAPHEMES);
        return Summary::new(full.clone(), full);
    }
    let full = tidy_intro_summary(&text);
    let shortenable = without_title(&full, &paper.title).unwrap_or_else(|| full.clone());
    Summary::new(full, shortenable)
}

fn tidy_intro_summary(text: &str) -> String {
    let mut text = text;
    for opener in INTRO_OPENERS {
        if let Some(rest) = text.strip_prefix(opener) {
            text = rest;
            break;
        }
    }
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
    let mut text = capitalise(text);
    if text.ends_with(|c: char| c.is_alphanumeric()) {
        text.push('.');
    }
    text
}

/// `summary` without a leading repeat of `title` ("Planned Diffusion combines…" →
/// "Combines…"), or `None` when it does not start with the title.
fn without_title(summary: &str, title: &str) -> Option<String> {
    let rest = summary.strip_prefix(title)?;
    if !rest.starts_with(|c: char| c.is_whitespace() || c.is_ascii_punctuation()) {
        return None;
    }
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '.' | ',' | ':' | ';' | '-' | '–' | '—')
    });
    (rest.split_whitespace().count() >= 3).then(|| capitalise(rest))
}

/// The first sentences of `text`, as many as fit in `max` graphemes, at least one.
fn first_sentences(text: &str, max: usize) -> String {
    let mut out = String::new();
    for sentence in text.split_sentence_bounds() {
        if !out.is_empty() && fit::graphemes(&out) + fit::graphemes(sentence.trim_end()) > max {
            break;
        }
        out.push_str(sentence);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests;
