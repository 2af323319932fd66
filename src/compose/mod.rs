//! Rendering an [`Announcement`] into one thread per platform, each post fitted to the
//! platform's length rules (pure, no I/O; user templates are read once when loaded).
//!
//! A thread is a head post about the blog post, one post per paper (two or more where
//! a paper's facts do not fit one), and an optional closing post inviting replies.
//! Templates decide the wording ([`templates`]); fitting (`fit.rs`) decides lengths and
//! may shorten only a paper's summary, never a title, a name or a URL.

mod fit;
mod hashtags;
mod layout;
mod links;
mod summary;
pub mod templates;

pub use templates::Templates;

use crate::model::{Announcement, Figure, Link, Paper};
use crate::model::{LengthRules, PlatformKind};
use fit::{Summary, SUMMARY_MARK};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use thiserror::Error;

/// A thread as it will be posted on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    pub platform: PlatformKind,
    pub posts: Vec<Post>,
    /// What a person should check before the thread goes out (a figure without a
    /// description).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
            for link in post.links.iter().filter(|l| l.text != l.url) {
                out.push_str(&format!("[link \"{}\" -> {}]\n", link.text, link.url));
            }
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
    /// Every link in the post: the text it shows and where it goes (on Bluesky a
    /// link shows short or as a label; elsewhere its text is the URL).
    pub links: Vec<Link>,
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
    /// More papers or posts than configured: a page that repeats itself, or a post far
    /// longer than the blog writes, is refused rather than posted as a flood.
    #[error("{0}")]
    TooLong(String),
}

/// Options for composing that come from configuration.
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    pub closing_post: bool,
    /// A post with more papers than this is refused.
    pub max_papers: usize,
    /// A thread longer than this many posts is refused.
    pub max_posts: usize,
    /// The most hashtags on the head post (`compose.max_hashtags`).
    pub max_hashtags: usize,
    /// The team's own hashtag for a blog tag, or "" for none (`compose.hashtags`).
    pub hashtags: BTreeMap<String, String>,
}

impl ComposeOptions {
    /// What composing a thread needs from the `[compose]` section.
    pub fn from_config(config: &crate::config::ComposeConfig) -> Self {
        ComposeOptions {
            closing_post: config.closing_post,
            max_papers: config.max_papers,
            max_posts: config.max_posts,
            max_hashtags: config.max_hashtags,
            hashtags: config.hashtags.clone(),
        }
    }
}

impl Default for ComposeOptions {
    fn default() -> Self {
        ComposeOptions {
            closing_post: true,
            max_papers: 12,
            max_posts: 40,
            max_hashtags: 4,
            hashtags: BTreeMap::new(),
        }
    }
}

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
#[derive(Debug, Clone, Serialize)]
struct PaperView<'a> {
    position: usize,
    /// `position + 1`, for "2/4".
    number: usize,
    title: &'a str,
    /// The authors as the post shows them: in full, or "First Author et al." when the
    /// full list leaves too little room.
    authors: String,
    /// The organisations as the post shows them: in full, or "First Org +2".
    orgs: String,
    link: &'a str,
    url: &'a str,
    anchor: &'a str,
    has_figure: bool,
}

/// Everything a template can use; `paper` is none and `summary` empty outside the
/// paper template.
#[derive(Debug, Clone, Serialize)]
struct Context<'a> {
    platform: &'static str,
    post: &'a PostView<'a>,
    papers: &'a [PaperView<'a>],
    count: usize,
    hashtags: &'a [String],
    /// The intro's theme line, for the head post (empty when it has none or it does
    /// not fit).
    hook: &'a str,
    /// When the papers are from, as the head post says it: "this month", "in
    /// September", or "recently".
    period: &'a str,
    /// Whether every paper has exactly one post.
    one_per_post: bool,
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
    if announcement.papers.len() > options.max_papers {
        return Err(ComposeError::TooLong(format!(
            "the post has {} papers, more than compose.max_papers = {}; if the page is \
             right, raise compose.max_papers",
            announcement.papers.len(),
            options.max_papers
        )));
    }
    let post_view = PostView {
        title: &announcement.title,
        url: &announcement.url,
        date: &announcement.date,
        slug: &announcement.slug,
        tags: &announcement.tags,
    };
    let papers: Vec<PaperView> = announcement.papers.iter().map(paper_view).collect();
    let summaries: Vec<Vec<String>> = announcement.papers.iter().map(summary::options).collect();
    let hashtags = hashtags::choose(announcement, &summaries, options);
    let period = period(announcement);
    let base = Context {
        platform: platform.as_str(),
        post: &post_view,
        papers: &papers,
        count: papers.len(),
        hashtags: &[],
        hook: "",
        period: &period,
        one_per_post: true,
        paper: None,
        summary: "",
    };
    let mut warnings = Vec::new();

    // The papers first: the head post says whether each has one post.
    let mut laid_out = Vec::new();
    for ((paper, view), options) in announcement.papers.iter().zip(&papers).zip(&summaries) {
        let variants = layout::header_variants(paper)
            .into_iter()
            .map(|(authors, orgs)| {
                let view = PaperView {
                    authors,
                    orgs,
                    ..view.clone()
                };
                templates
                    .render(
                        templates::PAPER,
                        platform,
                        &Context {
                            paper: Some(&view),
                            summary: SUMMARY_MARK,
                            ..base.clone()
                        },
                    )
                    .map(|text| fit::tidy(&text))
            })
            .collect::<Result<Vec<String>, ComposeError>>()?;
        let keep_whole = [
            paper.title.as_str(),
            paper.authors.as_str(),
            paper.orgs.as_str(),
            paper.link.as_str(),
            paper.url.as_str(),
        ];
        laid_out.push(layout::Choices::new(variants, options, &keep_whole, rules)?);
    }
    let budget = layout::extra_posts_allowed(rules, laid_out.len());
    let plans = layout::plan(&laid_out, budget);
    let one_per_post = plans.iter().all(|p| p.len() == 1);

    let mut posts = Vec::new();
    let hook = hook(announcement, &period);
    let head_context = Context {
        one_per_post,
        ..base.clone()
    };
    let head = head_post(templates, platform, &head_context, &hook, &hashtags, rules)?;
    for text in fit::fit(
        &head,
        &Summary::default(),
        &[&announcement.title, &announcement.url],
        rules,
    )? {
        posts.push(make_post(PostRole::Head, text, Vec::new(), rules));
    }

    for (paper, texts) in announcement.papers.iter().zip(plans) {
        let (alt, warning) = alt_text(paper);
        if let Some(warning) = warning {
            warnings.push(warning);
        }
        let images: Vec<Figure> = paper
            .figure
            .iter()
            .map(|figure| Figure {
                url: figure.url.clone(),
                alt: fit::shorten_alt(&alt, rules.max_alt),
                caption: None,
            })
            .collect();
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
        let closing = fit::tidy(&templates.render(templates::CLOSING, platform, &head_context)?);
        for text in fit::fit(&closing, &Summary::default(), &[&announcement.url], rules)? {
            posts.push(make_post(PostRole::Closing, text, Vec::new(), rules));
        }
    }

    if posts.len() > options.max_posts {
        return Err(ComposeError::TooLong(format!(
            "the {platform} thread would be {} posts, more than compose.max_posts = {}; \
             shorten the post or raise compose.max_posts",
            posts.len(),
            options.max_posts
        )));
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
    Ok(Thread {
        platform,
        posts,
        warnings,
    })
}

/// The head post with the hook and as many hashtags as fit: the hook and all of
/// them, else fewer hashtags, else no hook; as rendered when nothing fits (fitting
/// then splits it).
fn head_post(
    templates: &Templates,
    platform: PlatformKind,
    base: &Context<'_>,
    hook: &str,
    hashtags: &[String],
    rules: &LengthRules,
) -> Result<String, ComposeError> {
    let mut tries: Vec<(&str, usize)> = Vec::new();
    for with_hook in [hook, ""] {
        for k in (1..=hashtags.len()).rev() {
            tries.push((with_hook, k));
        }
    }
    tries.push((hook, 0));
    tries.push(("", 0));
    let mut last = String::new();
    for (hook, k) in tries {
        let rendered = templates.render(
            templates::HEAD,
            platform,
            &Context {
                hashtags: &hashtags[..k],
                hook,
                ..base.clone()
            },
        )?;
        let (text, _) = links::resolve(&fit::tidy(&rendered), platform);
        if rules.fits(&text) {
            return Ok(fit::tidy(&rendered));
        }
        last = fit::tidy(&rendered);
    }
    Ok(last)
}

/// The intro's theme line for the head post, true when posted: its "this month"
/// becomes the month the papers are from when the post came out the month after.
fn hook(announcement: &Announcement, period: &str) -> String {
    let Some(theme) = announcement.intro_theme.as_deref() else {
        return String::new();
    };
    if period == "this month" {
        return theme.to_owned();
    }
    let Some(month) = period.strip_prefix("in ") else {
        // No month to name: a theme that says "this month" is left out.
        return if theme.to_lowercase().contains("this month") {
            String::new()
        } else {
            theme.to_owned()
        };
    };
    theme
        .replace("This month", &format!("In {month}"))
        .replace("this month", &format!("in {month}"))
}

/// When the post's papers are from, as the head post may truthfully say it: the month
/// its title names ("September Papers: …"), "this month" only when that is the month
/// it was published in.
fn period(announcement: &Announcement) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let named = announcement
        .title
        .split(|c: char| !c.is_alphabetic())
        .find_map(|word| MONTHS.iter().position(|m| m.eq_ignore_ascii_case(word)));
    let published: Option<usize> = announcement
        .date
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok());
    match named {
        Some(month) if published == Some(month + 1) => "this month".to_owned(),
        Some(month) => format!("in {}", MONTHS[month]),
        None => "recently".to_owned(),
    }
}

/// Alt text words that say nothing about a figure.
const GENERIC_ALTS: &[&str] = &[
    "image",
    "figure",
    "fig",
    "picture",
    "img",
    "photo",
    "diagram",
    "plot",
    "graph",
    "chart",
    "screenshot",
    "alt",
    "alt text",
];

/// The figure's description: its alt text, else its caption, without a leading
/// "Figure 1:" label; a plain description (and a warning) when it has neither.
fn alt_text(paper: &Paper) -> (String, Option<String>) {
    let Some(figure) = &paper.figure else {
        return (String::new(), None);
    };
    let usable = |text: &str| {
        let text = whole_phrases(&without_figure_label(&normalise_whitespace(text)));
        let bare = text.trim_end_matches(['.', ':']).to_lowercase();
        (!bare.is_empty() && !GENERIC_ALTS.contains(&bare.as_str())).then_some(text)
    };
    if let Some(alt) = usable(&figure.alt) {
        return (alt, None);
    }
    if let Some(caption) = figure.caption.as_deref().and_then(usable) {
        return (caption, None);
    }
    (
        format!("Figure from the paper “{}”", paper.title),
        Some(format!(
            "the figure of “{}” ({}) has no alt text or caption; it goes out described as \
             “Figure from the paper”; add an alt text to the image on the blog",
            paper.title, figure.url
        )),
    )
}

/// Words an alt text cut short on the page ends with ("…, aka the").
const DANGLING: &[&str] = &[
    "the", "a", "an", "of", "aka", "and", "or", "to", "for", "with", "in", "on", "by", "at",
    "from", "as", "i.e.", "e.g.", "is", "are",
];

/// An alt text the page cut mid-phrase ("Equation for reproducible holdout loss
/// selection, aka the") back to its last whole phrase ("Equation for reproducible
/// holdout loss selection"); whole text is unchanged.
fn whole_phrases(text: &str) -> String {
    let mut text = text.trim().to_owned();
    let dangling = |t: &str| {
        t.split_whitespace()
            .last()
            .is_some_and(|w| DANGLING.contains(&w.to_lowercase().as_str()))
    };
    if !dangling(&text) {
        return text;
    }
    match text.rfind([',', ';', '(', '—', '–']) {
        Some(at) if at > 0 => text.truncate(at),
        _ => {
            while dangling(&text) {
                let cut = text.trim_end().rfind(' ').unwrap_or(0);
                text.truncate(cut);
            }
        }
    }
    text.trim_end_matches([' ', ',', ';', ':']).to_owned()
}

/// "Figure 1: A plot…" → "A plot…"; also "Fig. 2.", "Table 1 -", "Figure 1(b).".
fn without_figure_label(text: &str) -> String {
    let lower = text.to_lowercase();
    let Some(rest_at) = ["figure", "fig.", "fig", "table"]
        .iter()
        .find(|label| lower.starts_with(*label))
        .map(|label| label.len())
    else {
        return text.to_owned();
    };
    let rest = text[rest_at..].trim_start();
    let number_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '(' | ')')))
        .unwrap_or(rest.len());
    if number_end == 0 || !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return text.to_owned();
    }
    let after = rest[number_end..].trim_start();
    let after = after
        .strip_prefix([':', '.', '-', '–', '—', '|'])
        .unwrap_or(after)
        .trim_start();
    if after.is_empty() {
        return text.to_owned();
    }
    let mut chars = after.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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
        authors: "Authors".into(),
        orgs: "Organisations".into(),
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
            hook: "A hook.",
            period: "this month",
            one_per_post: true,
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
                ..base.clone()
            },
        )?;
        templates.render(templates::CLOSING, platform, &base)?;
    }
    Ok(())
}

/// A post from its text as fitted, with its links resolved for the platform.
fn make_post(role: PostRole, text: String, images: Vec<Figure>, rules: &LengthRules) -> Post {
    let (text, links) = links::resolve(&text, rules.platform);
    Post {
        role,
        length: rules.count(&text),
        limit: rules.max,
        text,
        links,
        images,
    }
}

fn paper_view(paper: &Paper) -> PaperView<'_> {
    PaperView {
        position: paper.position,
        number: paper.position + 1,
        title: &paper.title,
        authors: paper.authors.clone(),
        orgs: paper.orgs.clone(),
        link: &paper.link,
        url: &paper.url,
        anchor: &paper.anchor,
        has_figure: paper.figure.is_some(),
    }
}

fn normalise_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
