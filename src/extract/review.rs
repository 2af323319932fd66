//! One paper's review on the page: its heading, its metadata row, its first figure and
//! its "The key idea" section.
//!
//! Each review is an `<h2 id=…>` followed by a `div.potm-meta-row` holding the authors,
//! the organisations and the link to the paper; the review runs to the next `<h2>`.

use super::text::{fold, plain, text_of};
use scraper::ElementRef;

/// What the page says about one reviewed paper, before URLs are made absolute.
pub struct Review<'a> {
    pub anchor: String,
    pub title: String,
    pub authors: String,
    pub orgs: String,
    /// The paper's link as written (`href`), if the review has one.
    pub link: Option<String>,
    /// The first image a reader sees.
    pub figure: Option<ReviewFigure<'a>>,
    pub key_idea: String,
}

/// A review's figure before its URL is made absolute.
pub struct ReviewFigure<'a> {
    /// The `src` as written.
    pub src: &'a str,
    pub alt: String,
    pub caption: Option<String>,
}

/// Cuts the article's top-level elements into sections, one per `<h2>`, and reads the
/// sections that are paper reviews (those with a metadata row).
pub fn reviews<'a>(blocks: &[ElementRef<'a>]) -> Vec<Review<'a>> {
    let mut found = Vec::new();
    let mut heads = blocks
        .iter()
        .enumerate()
        .filter(|(_, e)| e.value().name() == "h2")
        .map(|(i, _)| i)
        .peekable();
    while let Some(head) = heads.next() {
        let end = heads.peek().copied().unwrap_or(blocks.len());
        if let Some(review) = review(blocks[head], &blocks[head + 1..end]) {
            found.push(review);
        }
    }
    found
}

fn review<'a>(heading: ElementRef<'a>, body: &[ElementRef<'a>]) -> Option<Review<'a>> {
    let anchor = heading.value().id()?.to_owned();
    let meta = body
        .iter()
        .flat_map(|block| self_and_descendants(*block))
        .find(|e| has_class(*e, "potm-meta-row"))?;
    let title = plain(heading);
    let mut review = Review {
        anchor,
        // A theme's permalink marker ("¶"), if the site turns it on, is not part of the
        // title.
        title: title.trim_end_matches(['¶', ' ']).to_owned(),
        authors: String::new(),
        orgs: String::new(),
        link: None,
        figure: None,
        key_idea: String::new(),
    };
    for field in meta.child_elements().filter(|e| has_class(*e, "potm-meta")) {
        let icon = field
            .descendent_elements()
            .find(|e| e.value().name() == "i" && has_class(*e, "potm-meta-icon"));
        let is = |class: &str| icon.is_some_and(|i| has_class(i, class));
        if is("fa-people-group") {
            review.authors = plain(field);
        } else if is("fa-building-columns") {
            review.orgs = plain(field);
        } else if let Some(href) = first_link(field) {
            review.link.get_or_insert(href.to_owned());
        }
    }
    if review.link.is_none() {
        // Every review also ends with "See the paper for more".
        review.link = body
            .iter()
            .flat_map(|block| self_and_descendants(*block))
            .find(|e| has_class(*e, "potm-footer-link"))
            .and_then(first_link)
            .map(str::to_owned);
    }
    // Images in a code block are text, not elements, so the first `<img>` element is
    // the first figure a reader sees.
    review.figure = body
        .iter()
        .flat_map(|block| self_and_descendants(*block))
        .find(|e| e.value().name() == "img" && e.value().attr("src").is_some() && !is_emoji(*e))
        .and_then(|img| {
            let src = img.value().attr("src")?;
            let alt = super::text::normalise(img.value().attr("alt").unwrap_or(""));
            Some(ReviewFigure {
                src,
                alt,
                caption: caption(img),
            })
        });
    review.key_idea = key_idea(body);
    Some(review)
}

/// The caption of an image: the `<figcaption>` of the `<figure>` it is in, or the
/// element right after the paragraph that holds it when that is a `<figcaption>` (alone
/// or centred) or a paragraph that is all emphasis (`<p><em>Figure 2: …</em></p>`).
fn caption(img: ElementRef<'_>) -> Option<String> {
    let ancestors = || img.ancestors().filter_map(ElementRef::wrap);
    if let Some(figure) = ancestors().find(|e| e.value().name() == "figure") {
        if let Some(caption) = figure
            .descendent_elements()
            .find(|e| e.value().name() == "figcaption")
        {
            return Some(plain(caption)).filter(|c| !c.is_empty());
        }
    }
    let holder = ancestors().find(|e| e.value().name() == "p")?;
    let next = holder.next_siblings().find_map(ElementRef::wrap)?;
    let text = match next.value().name() {
        "figcaption" => plain(next),
        "center" => next
            .child_elements()
            .find(|e| e.value().name() == "figcaption")
            .map(plain)?,
        "p" => {
            let children: Vec<_> = next.child_elements().collect();
            let all_emphasis = children.len() == 1
                && matches!(children[0].value().name(), "em" | "i")
                && plain(children[0]) == plain(next);
            if !all_emphasis {
                return None;
            }
            plain(next)
        }
        _ => return None,
    };
    Some(text).filter(|c| !c.is_empty())
}

/// The text of the "The key idea" section: from its heading to the next heading of the
/// same or a higher level (or a rule), without headings and figure captions.
fn key_idea(body: &[ElementRef<'_>]) -> String {
    let Some((at, level)) = body.iter().enumerate().find_map(|(i, e)| {
        let level = heading_level(*e)?;
        let title = fold(&plain(*e));
        let title = title.strip_prefix("the").unwrap_or(&title);
        matches!(title, "keyidea" | "keyideas").then_some((i, level))
    }) else {
        return String::new();
    };
    let skip = |name: &str| name == "figcaption" || name.len() == 2 && name.starts_with('h');
    let mut parts = Vec::new();
    for block in &body[at + 1..] {
        if block.value().name() == "hr" || heading_level(*block).is_some_and(|l| l <= level) {
            break;
        }
        if skip(block.value().name()) {
            continue;
        }
        let text = text_of(*block, &skip);
        if !text.is_empty() {
            parts.push(text);
        }
    }
    parts.join(" ")
}

fn heading_level(element: ElementRef<'_>) -> Option<u8> {
    match element.value().name() {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Material for MkDocs renders emoji shortcodes as small images; they are not figures.
fn is_emoji(img: ElementRef<'_>) -> bool {
    img.value()
        .classes()
        .any(|c| matches!(c, "twemoji" | "emojione" | "gemoji"))
}

fn has_class(element: ElementRef<'_>, class: &str) -> bool {
    element.value().classes().any(|c| c == class)
}

fn first_link(element: ElementRef<'_>) -> Option<&str> {
    self_and_descendants(element)
        .filter(|e| e.value().name() == "a")
        .find_map(|e| e.value().attr("href"))
}

fn self_and_descendants<'a>(element: ElementRef<'a>) -> impl Iterator<Item = ElementRef<'a>> {
    element.descendent_elements()
}
