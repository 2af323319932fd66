//! Extraction checked against the real blog corpus and its ground truth.

use super::*;
use serde_json::Value;
use std::path::PathBuf;

/// The real blog corpus: `PAPERCAST_CORPUS`, or `shared/corpus/graphcore-research`
/// beside the checkout.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("PAPERCAST_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/graphcore-research")
        }
    }
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (set PAPERCAST_CORPUS to the corpus directory)",
            path.display()
        )
    })
}

fn page(slug: &str) -> String {
    read(corpus_dir().join("site").join(slug).join("index.html"))
}

/// Slugs of the site's post pages, split into (Papers of the Month, others) by whether
/// the corpus has ground truth for them.
fn slugs() -> (Vec<String>, Vec<String>) {
    let site = corpus_dir().join("site");
    let mut entries: Vec<String> = std::fs::read_dir(&site)
        .unwrap_or_else(|e| panic!("reading {}: {e}", site.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("index.html").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| name.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .collect();
    entries.sort();
    let expected = corpus_dir().join("expected");
    entries
        .into_iter()
        .partition(|slug| expected.join(format!("{slug}.json")).is_file())
}

fn expected(slug: &str) -> Value {
    let path = corpus_dir().join("expected").join(format!("{slug}.json"));
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("parsing {slug}.json: {e}"))
}

fn page_url(slug: &str) -> String {
    format!("https://graphcore-research.github.io/{slug}/")
}

fn opt_str(value: &Value) -> Option<&str> {
    value.as_str()
}

/// Every difference between the extraction of `slug` and its ground truth.
fn differences(slug: &str) -> Vec<String> {
    let truth = expected(slug);
    let got = match extract(&page(slug), &page_url(slug)) {
        Ok(got) => got,
        Err(e) => return vec![format!("{slug}: extraction failed: {e}")],
    };
    let mut diffs = Vec::new();
    let d = &mut diffs;
    same(d, slug, "url", &got.url, opt_str(&truth["url"]));
    same(d, slug, "slug", &got.slug, opt_str(&truth["slug"]));
    same(d, slug, "title", &got.title, opt_str(&truth["title"]));
    same(d, slug, "date", &got.date, opt_str(&truth["date"]));
    same(
        d,
        slug,
        "social_image",
        got.social_image.as_deref().unwrap_or("<none>"),
        opt_str(&truth["social_image"]),
    );
    let want_tags: Vec<&str> = truth["tags"]
        .as_array()
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if got.tags != want_tags {
        diffs.push(format!(
            "{slug} tags: got {:?}, want {want_tags:?}",
            got.tags
        ));
    }
    let want_papers = truth["papers"].as_array().cloned().unwrap_or_default();
    if got.papers.len() != want_papers.len() {
        diffs.push(format!(
            "{slug} papers: got {}, want {}",
            got.papers.len(),
            want_papers.len()
        ));
    }
    for (paper, want) in got.papers.iter().zip(&want_papers) {
        let at = &format!("{slug} paper {}", paper.position);
        let d = &mut diffs;
        let check = |d: &mut Vec<String>, field: &str, got: &str, want: Option<&str>| {
            same(d, at, field, got, want)
        };
        check(d, "title", &paper.title, opt_str(&want["title"]));
        check(d, "authors", &paper.authors, opt_str(&want["authors"]));
        check(d, "orgs", &paper.orgs, opt_str(&want["orgs"]));
        check(d, "link", &paper.link, opt_str(&want["link"]));
        check(d, "anchor", &paper.anchor, opt_str(&want["anchor"]));
        check(d, "url", &paper.url, opt_str(&want["url"]));
        match (&paper.figure, opt_str(&want["figure_alt"])) {
            (Some(figure), Some(alt)) => {
                check(d, "figure alt", &figure.alt, Some(alt));
                if !figure
                    .url
                    .starts_with("https://graphcore-research.github.io/")
                {
                    d.push(format!("{at} figure url not absolute: {}", figure.url));
                }
            }
            (None, None) => {}
            (got, want) => d.push(format!("{at} figure: got {got:?}, want alt {want:?}")),
        }
        if let Some(summary) = opt_str(&want["intro_summary"]) {
            check(
                d,
                "intro_summary",
                paper.intro_summary.as_deref().unwrap_or("<none>"),
                Some(summary),
            );
        }
        if paper.summary().is_empty() {
            d.push(format!("{at}: nothing to announce as its summary"));
        }
        let has_key_idea = want["has_key_idea"].as_bool().unwrap_or(false);
        if has_key_idea == paper.key_idea.is_empty() {
            d.push(format!(
                "{at} key_idea: has_key_idea is {has_key_idea} but got {:?}",
                paper.key_idea
            ));
        }
    }
    diffs
}

fn same(diffs: &mut Vec<String>, at: &str, field: &str, got: &str, want: Option<&str>) {
    if Some(got) != want {
        diffs.push(format!("{at} {field}: got {got:?}, want {want:?}"));
    }
}

#[test]
fn every_papers_of_the_month_page_matches_its_ground_truth() {
    let (potm, _) = slugs();
    assert_eq!(
        potm.len(),
        21,
        "the corpus has 21 Papers-of-the-Month pages"
    );
    let diffs: Vec<String> = potm.iter().flat_map(|slug| differences(slug)).collect();
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn articles_are_refused_naming_their_category() {
    let (_, articles) = slugs();
    assert!(!articles.is_empty(), "the corpus has articles");
    for slug in articles {
        let url = page_url(&slug);
        match extract(&page(&slug), &url) {
            Err(ExtractError::NotPapersOfTheMonth { url: named, reason }) => {
                assert_eq!(named, url);
                assert!(reason.contains("Articles"), "{slug}: {reason}");
            }
            other => panic!("{slug}: expected NotPapersOfTheMonth, got {other:?}"),
        }
    }
}

#[test]
fn a_page_cut_half_way_is_incomplete() {
    let (potm, _) = slugs();
    for slug in potm {
        let html = page(&slug);
        let mut half = html.len() / 2;
        while !html.is_char_boundary(half) {
            half -= 1;
        }
        let url = page_url(&slug);
        let err = extract(&html[..half], &url).expect_err("half a page");
        assert!(
            matches!(&err, ExtractError::Incomplete { url: named, .. } if *named == url),
            "{slug}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&url) && !message.contains('\n'),
            "{message}"
        );
    }
}

#[test]
fn a_post_without_reviews_has_no_papers() {
    // The real page with its reviews' metadata rows renamed away.
    let html = page("2025-10-07-potm").replace("potm-meta-row", "renamed-row");
    let url = page_url("2025-10-07-potm");
    let err = extract(&html, &url).expect_err("no reviews");
    assert!(
        matches!(&err, ExtractError::NoPapers { url: named, .. } if *named == url),
        "{err:?}"
    );
}

#[test]
fn figures_resolve_against_the_page_they_were_fetched_from() {
    let html = page("2025-10-07-potm");
    let got = extract(&html, "http://127.0.0.1:8000/2025-10-07-potm/").expect("extracts");
    // The canonical URL stays the blog's own, whatever server the page came from.
    assert_eq!(
        got.url,
        "https://graphcore-research.github.io/2025-10-07-potm/"
    );
    let figure = got.papers[0].figure.as_ref().expect("a figure");
    assert_eq!(
        figure.url,
        "http://127.0.0.1:8000/potm/2025/09/flowrl/figure_1.png"
    );

    // A saved file has no server behind it: figures then come from the blog.
    let got = extract(&html, "file:///tmp/saved/index.html").expect("extracts");
    let figure = got.papers[0].figure.as_ref().expect("a figure");
    assert_eq!(
        figure.url,
        "https://graphcore-research.github.io/potm/2025/09/flowrl/figure_1.png"
    );
}

#[test]
fn a_figure_hidden_in_a_code_block_is_not_the_first_figure() {
    let got = extract(&page("2025-05-07-potm"), &page_url("2025-05-07-potm")).expect("extracts");
    let m1 = &got.papers[2];
    assert!(m1.title.starts_with("M1:"), "{}", m1.title);
    let figure = m1.figure.as_ref().expect("a figure");
    assert!(
        figure
            .url
            .ends_with("/potm/2025/04/mamba-reasoning/tab1.png"),
        "{figure:?}"
    );
}

#[test]
fn prose_intros_give_the_sentence_that_links_to_the_paper() {
    let got = extract(&page("2025-06-02-potm"), &page_url("2025-06-02-potm")).expect("extracts");
    assert_eq!(got.papers[1].intro_summary, None);
    assert_eq!(
        got.papers[1].intro_sentence.as_deref(),
        Some(
            "We also looked into AlphaEvolve, an evolutionary algorithm from Google DeepMind \
             that generates and refine prompts for Gemini that can advance the state-of-the-art \
             in algorithm design."
        )
    );
    // Prose without links to the reviews names no paper: the key idea stands in.
    let got = extract(&page("2024-01-29-potm"), &page_url("2024-01-29-potm")).expect("extracts");
    assert!(got.papers.iter().all(|p| p.intro_summary.is_none()));
    assert!(got.papers[0]
        .summary()
        .starts_with(&got.papers[0].key_idea[..20]));
}

#[test]
fn the_key_idea_leaves_out_captions_and_sub_headings() {
    let got = extract(&page("2025-12-08-potm"), &page_url("2025-12-08-potm")).expect("extracts");
    let key_idea = &got.papers[0].key_idea;
    assert!(
        key_idea.starts_with("Now we know that optimizers like Muon"),
        "{key_idea}"
    );
    assert!(!key_idea.contains("Background Throughout"), "{key_idea}");
    assert!(!key_idea.contains("  ") && key_idea.trim() == key_idea);
}

#[test]
fn a_prose_sentence_holding_maths_gives_way_to_the_key_idea() {
    let got = extract(&page("2025-04-06-potm"), &page_url("2025-04-06-potm")).expect("extracts");
    assert_eq!(got.papers[0].intro_summary, None);
    assert!(!got.papers[0].summary().contains("\\("));
    assert_eq!(
        got.papers[3].intro_sentence.as_deref(),
        Some("Finally, EPFL share a flow-matching GNN model for generating small molecules for drug design (drug-generating).")
    );
}

#[test]
fn a_review_without_its_paper_link_is_reported_by_title() {
    let real = page("2025-10-07-potm");
    let url = page_url("2025-10-07-potm");
    let flowrl_link = "<a href=\"https://arxiv.org/abs/2509.15207\" target=\"_blank\">";
    assert_eq!(
        real.matches(flowrl_link).count(),
        2,
        "metadata row and footer"
    );

    // Without the metadata row's link, the footer's "See the paper" stands in.
    let got = extract(&real.replacen(flowrl_link, "<a>", 1), &url).expect("extracts");
    assert_eq!(got.papers[0].link, "https://arxiv.org/abs/2509.15207");

    let err = extract(&real.replace(flowrl_link, "<a>"), &url).expect_err("no link");
    assert!(
        matches!(&err, ExtractError::Malformed { reason, .. } if reason.contains("FlowRL: Matching")),
        "{err:?}"
    );
}

#[test]
fn dates_are_read_only_when_well_formed() {
    assert_eq!(
        date_prefix("2025-10-07 00:00:00+00:00").as_deref(),
        Some("2025-10-07")
    );
    assert_eq!(
        date_prefix("2025-10-07-potm").as_deref(),
        Some("2025-10-07")
    );
    assert_eq!(date_prefix("2025-13-07"), None);
    assert_eq!(date_prefix("October 7, 2025"), None);
    assert_eq!(date_prefix("2025-1é-07"), None);
}

#[test]
fn prose_intros_name_papers_without_links_and_give_the_theme() {
    // 2024-04-30: the intro names each paper by the short name before its title's colon.
    let got = extract(&page("2024-04-30-potm"), &page_url("2024-04-30-potm")).expect("extracts");
    let sentence = got.papers[0].intro_sentence.as_deref().unwrap_or_default();
    assert!(
        sentence.starts_with("The first paper, TriForce, looks at efficient LLM inference"),
        "{sentence}"
    );
    let quarot = got.papers[1].intro_sentence.as_deref().unwrap_or_default();
    assert!(
        quarot.starts_with("The second highlighted work, QuaRot,"),
        "{quarot}"
    );
    // The sentence after it carries on about QuaRot ("It elegantly demonstrates …").
    assert!(quarot.contains(" It elegantly demonstrates"), "{quarot}");
    assert_eq!(
        got.intro_theme.as_deref(),
        Some("For our April selection of AI research papers, there is a clear common thread: efficient LLM inference.")
    );
    // 2024-12-30: "The Memory Layers architecture …" names "Memory Layers at Scale".
    let got = extract(&page("2024-12-30-potm"), &page_url("2024-12-30-potm")).expect("extracts");
    let memory = got.papers[2].intro_sentence.as_deref().unwrap_or_default();
    assert!(
        memory.starts_with("The Memory Layers architecture allows"),
        "{memory}"
    );
}

#[test]
fn figures_carry_their_caption() {
    let got = extract(&page("2024-04-30-potm"), &page_url("2024-04-30-potm")).expect("extracts");
    let figure = got.papers[0].figure.as_ref().expect("a figure");
    let caption = figure.caption.as_deref().unwrap_or_default();
    assert!(
        caption.starts_with("Figure 1: TriForce hierarchical decoding."),
        "{caption}"
    );
    // 2025-06-02: an empty alt with a caption right under the image.
    let got = extract(&page("2025-06-02-potm"), &page_url("2025-06-02-potm")).expect("extracts");
    let figure = got.papers[0].figure.as_ref().expect("a figure");
    assert_eq!(figure.alt, "");
    assert_eq!(
        figure.caption.as_deref(),
        Some("Three parallel scaling approaches: Parameter, Inference time, and Parallel computation.")
    );
}
