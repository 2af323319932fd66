//! Composition on the real corpus: every ground-truth post, on every platform, gives a
//! thread whose posts all fit and that carries every paper's facts; snapshots of a few
//! rendered threads show the effect of a template change.
//!
//! Extraction is tested elsewhere: these tests build each `Announcement` from the
//! corpus ground truth (`expected/<slug>.json`), with the two things it lacks taken
//! from the real page: the text of each review's "The key idea" section and the URL of
//! the figure whose alt text the ground truth names.

mod support;

use papercast::compose::{compose, ComposeOptions, Post, PostRole, Templates, Thread};
use papercast::platform::{LengthRules, PlatformKind};
use papercast::{Announcement, Figure, Paper};
use scraper::{ElementRef, Html, Selector};

fn text_of(element: ElementRef) -> String {
    element
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The elements of a review: the siblings after its `<h2 id=anchor>` up to the next `<h2>`.
fn section<'a>(page: &'a Html, anchor: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(&format!("h2[id=\"{anchor}\"]")).expect("selector");
    let heading = page
        .select(&selector)
        .next()
        .unwrap_or_else(|| panic!("no <h2 id={anchor}> on the page"));
    heading
        .next_siblings()
        .filter_map(ElementRef::wrap)
        .take_while(|e| e.value().name() != "h2")
        .collect()
}

/// The paragraphs under the review's "The key idea" heading.
fn key_idea(section: &[ElementRef]) -> String {
    section
        .iter()
        .skip_while(|e| !(e.value().name() == "h3" && text_of(**e) == "The key idea"))
        .skip(1)
        .take_while(|e| !matches!(e.value().name(), "h2" | "h3"))
        .filter(|e| e.value().name() == "p")
        .map(|e| text_of(*e))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The review's image whose alt text is `alt`, with its absolute URL.
fn figure(section: &[ElementRef], alt: &str, page_url: &url::Url) -> Option<Figure> {
    let img = Selector::parse("img").expect("selector");
    section.iter().flat_map(|e| e.select(&img)).find_map(|img| {
        let img_alt = img.attr("alt")?.split_whitespace().collect::<Vec<_>>();
        if img_alt.join(" ") != alt {
            return None;
        }
        let src = page_url.join(img.attr("src")?).ok()?;
        Some(Figure {
            url: src.to_string(),
            alt: alt.to_owned(),
        })
    })
}

fn announcement(slug: &str) -> Announcement {
    let expected = support::expected(slug);
    let path = support::corpus_dir()
        .join("site")
        .join(slug)
        .join("index.html");
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let page = Html::parse_document(&html);
    let str_of = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    let page_url = url::Url::parse(&str_of(&expected, "url")).expect("ground-truth URL");
    let papers = expected["papers"]
        .as_array()
        .expect("papers")
        .iter()
        .map(|p| {
            let anchor = str_of(p, "anchor");
            let section = section(&page, &anchor);
            let figure = p["figure_alt"]
                .as_str()
                .and_then(|alt| figure(&section, alt, &page_url));
            if p["figure_alt"].is_string() {
                assert!(figure.is_some(), "{slug} {anchor}: figure not found");
            }
            Paper {
                position: p["position"].as_u64().expect("position") as usize,
                title: str_of(p, "title"),
                authors: str_of(p, "authors"),
                orgs: str_of(p, "orgs"),
                link: str_of(p, "link"),
                url: str_of(p, "url"),
                intro_summary: p["intro_summary"].as_str().map(str::to_owned),
                key_idea: key_idea(&section),
                figure,
                anchor,
            }
        })
        .collect();
    Announcement {
        url: page_url.to_string(),
        slug: str_of(&expected, "slug"),
        title: str_of(&expected, "title"),
        date: str_of(&expected, "date"),
        tags: expected["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        social_image: expected["social_image"].as_str().map(str::to_owned),
        papers,
    }
}

fn all_rules() -> Vec<LengthRules> {
    let mut rules: Vec<LengthRules> = PlatformKind::ALL
        .iter()
        .map(|p| LengthRules::default_for(*p))
        .collect();
    // The smallest Mastodon limit the configuration accepts.
    rules.push(LengthRules::mastodon(100, 23));
    rules
}

fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn paper_posts(thread: &Thread, position: usize) -> Vec<&Post> {
    thread
        .posts
        .iter()
        .filter(|p| p.role == PostRole::Paper { position })
        .collect()
}

#[test]
fn every_ground_truth_post_fits_every_platform_and_keeps_every_fact() {
    let slugs = support::potm_slugs();
    assert_eq!(
        slugs.len(),
        21,
        "the corpus has 21 Papers-of-the-Month posts"
    );
    let templates = Templates::bundled();
    let mut threads = 0;
    for slug in &slugs {
        let announcement = announcement(slug);
        for rules in all_rules() {
            for closing_post in [true, false] {
                let options = ComposeOptions { closing_post };
                let thread = compose(&announcement, &templates, &rules, &options)
                    .unwrap_or_else(|e| panic!("{slug} on {}: {e}", rules.platform));
                threads += 1;
                let label = format!("{slug} on {} (max {})", rules.platform, rules.max);
                for post in &thread.posts {
                    assert!(rules.fits(&post.text), "{label}: {post:#?}");
                    assert_eq!(post.length, rules.count(&post.text), "{label}");
                    assert_eq!(post.limit, rules.max, "{label}");
                    assert!(!post.text.trim().is_empty(), "{label}: empty post");
                }
                assert_eq!(thread.posts[0].role, PostRole::Head, "{label}");
                let head: String = thread
                    .posts
                    .iter()
                    .filter(|p| p.role == PostRole::Head)
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                assert!(head.contains(&announcement.title), "{label}: {head}");
                assert!(head.contains(&announcement.url), "{label}: {head}");
                assert_eq!(
                    thread.posts.last().map(|p| p.role == PostRole::Closing),
                    Some(closing_post),
                    "{label}"
                );
                for paper in &announcement.papers {
                    let posts = paper_posts(&thread, paper.position);
                    assert!(!posts.is_empty(), "{label}: no post for {}", paper.title);
                    let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
                    let joined = normalised(&texts.join(" "));
                    for exact in [&paper.title, &paper.link, &paper.url] {
                        // A title longer than a whole post (105 characters against
                        // Mastodon's smallest limit, 100) can only continue in the next.
                        let whole = if rules.fits(exact) {
                            texts.iter().any(|t| t.contains(exact.as_str()))
                        } else {
                            joined.contains(&normalised(exact))
                        };
                        assert!(whole, "{label}: `{exact}` is not whole in {texts:#?}");
                    }
                    for name in [&paper.authors, &paper.orgs] {
                        assert!(
                            joined.contains(&normalised(name)),
                            "{label}: `{name}` was cut in {texts:#?}"
                        );
                    }
                    let expected_images: Vec<Figure> = paper.figure.iter().cloned().collect();
                    assert_eq!(
                        posts[0].images.iter().map(|f| &f.url).collect::<Vec<_>>(),
                        expected_images.iter().map(|f| &f.url).collect::<Vec<_>>(),
                        "{label}: the figure goes with the paper's first post"
                    );
                    for image in &posts[0].images {
                        assert!(rules.alt_fits(&image.alt), "{label}");
                    }
                }
            }
        }
    }
    assert_eq!(threads, 21 * 4 * 2);
}

/// A thread as a person reads it, for snapshots.
fn render(thread: &Thread) -> String {
    let mut out = format!("{} ({} posts)\n", thread.platform, thread.posts.len());
    for (i, post) in thread.posts.iter().enumerate() {
        let role = match post.role {
            PostRole::Head => "head".to_owned(),
            PostRole::Paper { position } => format!("paper {position}"),
            PostRole::Closing => "closing".to_owned(),
        };
        out.push_str(&format!(
            "\n--- {}/{} {role} [{}/{}]\n{}\n",
            i + 1,
            thread.posts.len(),
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

fn snapshot(slug: &str) {
    let announcement = announcement(slug);
    let templates = Templates::bundled();
    let options = ComposeOptions { closing_post: true };
    for platform in PlatformKind::ALL {
        let rules = LengthRules::default_for(platform);
        let thread = compose(&announcement, &templates, &rules, &options).expect("composes");
        insta::assert_snapshot!(format!("{slug}-{platform}"), render(&thread));
    }
}

#[test]
fn snapshot_2024_01_29_key_idea_summaries() {
    snapshot("2024-01-29-potm");
}

#[test]
fn snapshot_2025_09_08_long_affiliations() {
    snapshot("2025-09-08-potm");
}

#[test]
fn snapshot_2025_10_07_intro_summaries_and_real_figures() {
    snapshot("2025-10-07-potm");
}

#[test]
fn snapshot_2026_03_03_long_summaries() {
    snapshot("2026-03-03-potm");
}

#[test]
fn snapshot_json_shape_of_a_thread() {
    let announcement = announcement("2025-11-04-potm");
    let thread = compose(
        &announcement,
        &Templates::bundled(),
        &LengthRules::x(),
        &ComposeOptions { closing_post: true },
    )
    .expect("composes");
    insta::assert_json_snapshot!("2025-11-04-potm-x-json", thread);
}
