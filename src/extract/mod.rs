//! Turning a rendered "Papers of the Month" page into an [`Announcement`] (pure, no I/O).
//!
//! The blog is built with MkDocs Material and its blog plugin: the post's metadata sits
//! in the sidebar (`.md-post__meta`: date, category), its tags and body in
//! `<article class="md-content__inner">`, and each review under its own `<h2>` (see
//! [`review`]). The intro before the first review gives each paper's one-line summary
//! (see [`intro`]).

mod depth;
mod intro;
pub mod names;
mod review;
mod text;

use crate::model::{Announcement, Figure, Paper};
use scraper::{ElementRef, Html};
use text::plain;
use thiserror::Error;
use url::Url;

/// Splits prose into its sentences (trimmed): a sentence ends at `.`, `!` or `?`
/// followed by white space and a capital letter, a digit or a quote, so that "e.g. the"
/// stays inside its sentence.
pub fn split_sentences(text: &str) -> Vec<&str> {
    intro::sentences(text)
        .into_iter()
        .map(|(start, end)| text[start..end].trim())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The category the blog gives its monthly posts.
const CATEGORY: &str = "Papers of the Month";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error(
        "{url}: not a Papers of the Month post ({reason}); only posts in that category are announced"
    )]
    NotPapersOfTheMonth { url: String, reason: String },
    #[error("{url}: no papers found on the page ({reason}); if the post does review papers, its layout has changed and papercast needs updating")]
    NoPapers { url: String, reason: String },
    #[error("{url}: the page is incomplete ({reason}); fetch it again")]
    Incomplete { url: String, reason: String },
    #[error("{url}: the page is not laid out as expected ({reason}); the blog's theme may have changed, so papercast needs updating")]
    Malformed { url: String, reason: String },
    #[error("{url}: the page nests its elements more than {limit} deep; no blog post does, so it is refused unread")]
    TooDeep { url: String, limit: usize },
}

impl ExtractError {
    /// Whether reading the same page again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ExtractError::TooDeep { .. })
    }
}

/// Extracts the post and its papers from `html`, fetched from `page_url`.
///
/// Figures are made absolute against `page_url` when it is an http(s) URL, so that they
/// are fetched from where the page came from; otherwise (a saved file) against the
/// post's canonical URL.
///
/// Control characters other than line breaks and tabs are dropped from every text
/// taken from the page: a title carrying ESC[2J or an OSC sequence must not reach a
/// terminal through `extract`, `preview` or `queue list`, nor a post.
pub fn extract(html: &str, page_url: &str) -> Result<Announcement, ExtractError> {
    let mut announcement = extract_raw(html, page_url)?;
    let clean = |text: &mut String| {
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            *text = text
                .chars()
                .filter(|&c| matches!(c, '\n' | '\t') || !c.is_control())
                .collect();
        }
    };
    let Announcement {
        url,
        slug,
        title,
        date,
        tags,
        social_image,
        intro_theme,
        papers,
    } = &mut announcement;
    for text in [url, slug, title, date]
        .into_iter()
        .chain(tags.iter_mut())
        .chain(social_image.iter_mut())
        .chain(intro_theme.iter_mut())
    {
        clean(text);
    }
    for paper in papers {
        let Paper {
            title,
            authors,
            orgs,
            link,
            anchor,
            url,
            intro_summary,
            intro_sentence,
            key_idea,
            figure,
            ..
        } = paper;
        for text in [title, authors, orgs, link, anchor, url, key_idea]
            .into_iter()
            .chain(intro_summary.iter_mut())
            .chain(intro_sentence.iter_mut())
        {
            clean(text);
        }
        if let Some(figure) = figure {
            clean(&mut figure.url);
            clean(&mut figure.alt);
            if let Some(caption) = &mut figure.caption {
                clean(caption);
            }
        }
        // A paper's link goes into a post and its figure is fetched: a `file:`,
        // `javascript:` or other non-http(s) one is dropped (no link, no figure).
        let web = |link: &str| {
            Url::parse(link)
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "http" | "https"))
        };
        if !web(&paper.link) {
            paper.link.clear();
        }
        if paper.figure.as_ref().is_some_and(|f| !web(&f.url)) {
            paper.figure = None;
        }
    }
    Ok(announcement)
}

fn extract_raw(html: &str, page_url: &str) -> Result<Announcement, ExtractError> {
    // html5ever parses half a page without complaint, so look for the end ourselves.
    if !has_closing_html_tag(html) {
        return Err(ExtractError::Incomplete {
            url: page_url.into(),
            reason: format!(
                "it stops after {} bytes without a closing </html> tag",
                html.len()
            ),
        });
    }
    if depth::check_nesting(html, depth::MAX_NESTING).is_err() {
        return Err(ExtractError::TooDeep {
            url: page_url.into(),
            limit: depth::MAX_NESTING,
        });
    }
    let document = Html::parse_document(html);
    let page = Page::read(&document);
    check_category(&page.categories, page_url)?;
    let malformed = |reason: &str| ExtractError::Malformed {
        url: page_url.into(),
        reason: reason.into(),
    };

    let base = Url::parse(page_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let mut post_url = page
        .canonical
        .and_then(|href| resolve(base.as_ref(), href))
        .or_else(|| base.clone())
        .ok_or_else(|| malformed("no canonical link and the page's own URL is not http(s)"))?;
    post_url.set_fragment(None);
    let slug = post_url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .unwrap_or_default()
        .to_owned();

    let article = page
        .article
        .ok_or_else(|| malformed("no <article> element holds the post"))?;
    let blocks: Vec<ElementRef<'_>> = article.child_elements().collect();
    let title = blocks
        .iter()
        .find(|e| e.value().name() == "h1")
        .map(|h1| plain(*h1))
        .filter(|t| !t.is_empty())
        .or(page.head_title)
        .ok_or_else(|| malformed("the post has no title"))?;
    let date = page
        .date
        .or_else(|| date_prefix(&slug))
        .ok_or_else(|| malformed("the post has no publication date"))?;

    let (papers, intro_theme) = papers(
        &blocks,
        &post_url,
        &slug,
        base.as_ref().unwrap_or(&post_url),
    )
    .map_err(|problem| match problem {
        Problem::NoReviews => ExtractError::NoPapers {
            url: page_url.into(),
            reason: "no section has a paper's authors-and-link row".into(),
        },
        Problem::NoLink(title) => malformed(&format!(
            "the review of \"{title}\" has no link to the paper"
        )),
    })?;

    let mut tags = page.tags;
    tags.sort();
    tags.dedup();
    Ok(Announcement {
        slug,
        title,
        date,
        tags,
        social_image: page
            .social_image
            .and_then(|href| resolve(Some(&post_url), href))
            .map(Into::into),
        papers,
        intro_theme,
        url: post_url.into(),
    })
}

fn check_category(categories: &[String], page_url: &str) -> Result<(), ExtractError> {
    let reason = if categories.is_empty() {
        "the page names no blog category".to_owned()
    } else if !categories.iter().any(|c| c.eq_ignore_ascii_case(CATEGORY)) {
        format!("its category is {}", categories.join(", "))
    } else {
        return Ok(());
    };
    Err(ExtractError::NotPapersOfTheMonth {
        url: page_url.into(),
        reason,
    })
}

/// Why a post's papers could not be read.
enum Problem {
    NoReviews,
    /// The title of a review without a link to its paper.
    NoLink(String),
}

/// The reviewed papers, in page order, with what the intro says about them, and the
/// intro's theme line. Links resolve
/// against the post, figures against `figure_base`.
fn papers(
    blocks: &[ElementRef<'_>],
    post_url: &Url,
    slug: &str,
    figure_base: &Url,
) -> Result<(Vec<Paper>, Option<String>), Problem> {
    let reviews = review::reviews(blocks);
    if reviews.is_empty() {
        return Err(Problem::NoReviews);
    }

    // The intro runs from the title to the first section.
    let intro_end = blocks
        .iter()
        .position(|e| e.value().name() == "h2")
        .unwrap_or(blocks.len());
    let intro_start = blocks[..intro_end]
        .iter()
        .position(|e| e.value().name() == "h1")
        .map_or(0, |i| i + 1);
    let known: Vec<intro::Reviewed<'_>> = reviews
        .iter()
        .map(|r| intro::Reviewed {
            anchor: &r.anchor,
            title: &r.title,
            aliases: names::aliases(&r.key_idea),
        })
        .collect();
    let local_anchor = |href: &str| local_anchor(href, post_url, slug);
    let intro = intro::read(&blocks[intro_start..intro_end], &known, &local_anchor);

    let papers = reviews
        .into_iter()
        .zip(intro.summaries.into_iter().zip(intro.sentences))
        .enumerate()
        .map(|(position, (review, (intro_summary, intro_sentence)))| {
            let Some(link) = review
                .link
                .as_deref()
                .and_then(|href| resolve(Some(post_url), href))
            else {
                return Err(Problem::NoLink(review.title));
            };
            let figure = review.figure.and_then(|figure| {
                Some(Figure {
                    url: resolve(Some(figure_base), figure.src)?.into(),
                    alt: figure.alt,
                    caption: figure.caption,
                })
            });
            Ok(Paper {
                position,
                url: format!("{post_url}#{}", review.anchor),
                title: review.title,
                authors: review.authors,
                orgs: review.orgs,
                link: link.into(),
                anchor: review.anchor,
                intro_summary,
                intro_sentence,
                key_idea: review.key_idea,
                figure,
            })
        })
        .collect::<Result<Vec<Paper>, Problem>>()?;
    Ok((papers, intro.theme))
}

/// Whether the document ends with `</html>` (any case, white space and comments aside).
fn has_closing_html_tag(html: &str) -> bool {
    let tail_start = html.len().saturating_sub(4096);
    let tail_start = (tail_start..html.len())
        .find(|i| html.is_char_boundary(*i))
        .unwrap_or(html.len());
    html[tail_start..].to_ascii_lowercase().contains("</html")
}

/// The facts read straight off the page.
struct Page<'a> {
    canonical: Option<&'a str>,
    social_image: Option<&'a str>,
    head_title: Option<String>,
    date: Option<String>,
    categories: Vec<String>,
    tags: Vec<String>,
    article: Option<ElementRef<'a>>,
}

impl<'a> Page<'a> {
    fn read(document: &'a Html) -> Page<'a> {
        let mut page = Page {
            canonical: None,
            social_image: None,
            head_title: None,
            date: None,
            categories: Vec::new(),
            tags: Vec::new(),
            article: None,
        };
        // One walk over the document instead of one per selector.
        for element in document.root_element().descendent_elements() {
            let value = element.value();
            match value.name() {
                "link" if page.canonical.is_none() && value.attr("rel") == Some("canonical") => {
                    page.canonical = value.attr("href");
                }
                "meta"
                    if page.social_image.is_none()
                        && value.attr("property") == Some("og:image") =>
                {
                    page.social_image = value.attr("content");
                }
                "title" if page.head_title.is_none() => {
                    let title = plain(element);
                    let title = title
                        .strip_suffix(" - Graphcore Research")
                        .unwrap_or(&title);
                    page.head_title = Some(title.to_owned()).filter(|t| !t.is_empty());
                }
                "ul" if value.classes().any(|c| c == "md-post__meta") => {
                    page.read_post_meta(element);
                }
                "article" if page.article.is_none() => {
                    page.article = Some(element);
                    page.tags = element
                        .descendent_elements()
                        .filter(|e| e.value().classes().any(|c| c == "md-tag"))
                        .map(plain)
                        .filter(|t| !t.is_empty())
                        .collect();
                }
                _ => {}
            }
        }
        page
    }

    /// The sidebar's metadata list: the publication date and the categories.
    fn read_post_meta(&mut self, meta: ElementRef<'a>) {
        for element in meta.descendent_elements() {
            let value = element.value();
            match value.name() {
                "time" if self.date.is_none() => {
                    self.date = value.attr("datetime").and_then(date_prefix);
                }
                "a" if value
                    .attr("href")
                    .is_some_and(|href| href.contains("category/")) =>
                {
                    let category = plain(element);
                    if !category.is_empty() && !self.categories.contains(&category) {
                        self.categories.push(category);
                    }
                }
                _ => {}
            }
        }
    }
}

/// `YYYY-MM-DD` from the start of `text`, if it starts with a date.
fn date_prefix(text: &str) -> Option<String> {
    let date = text.get(..10)?;
    let shape_ok = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let month: u8 = date[5..7].parse().ok()?;
    let day: u8 = date[8..10].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| date.to_owned())
}

fn resolve(base: Option<&Url>, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    match base {
        Some(base) => base.join(href).ok(),
        None => Url::parse(href).ok(),
    }
}

/// The section id a link points at, when it points into this post.
fn local_anchor(href: &str, post_url: &Url, slug: &str) -> Option<String> {
    let (before, fragment) = href.split_once('#')?;
    let here = before.is_empty()
        || before == "./"
        || before == post_url.as_str()
        || before.trim_end_matches('/').ends_with(&format!("/{slug}"));
    (here && !fragment.is_empty()).then(|| fragment.to_owned())
}

#[cfg(test)]
mod tests;
