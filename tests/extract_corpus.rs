//! `papercast extract` over HTTP on every real Papers-of-the-Month page of the corpus,
//! compared with the ground truth field by field; and the pages it must refuse.

mod support;

use serde_json::Value;
use support::site::{Links, SiteServer};

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Text with leading and trailing punctuation (and white space) removed: the corpus
/// README lets an intro summary differ from the truth there.
fn core(text: &str) -> &str {
    text.trim_matches(|c: char| !c.is_alphanumeric())
}

struct Diffs(Vec<String>);

impl Diffs {
    fn field(&mut self, at: &str, field: &str, got: &Value, want: &Value) {
        if got != want {
            self.0.push(format!("{at} {field}: got {got}, want {want}"));
        }
    }
}

fn compare(slug: &str, got: &Value, want: &Value, origin: &str, diffs: &mut Diffs) {
    for field in ["url", "slug", "title", "date", "tags", "social_image"] {
        diffs.field(slug, field, &got[field], &want[field]);
    }
    let empty = Vec::new();
    let got_papers = got["papers"].as_array().unwrap_or(&empty);
    let want_papers = want["papers"].as_array().unwrap_or(&empty);
    if got_papers.len() != want_papers.len() {
        diffs.0.push(format!(
            "{slug} papers: got {}, want {}",
            got_papers.len(),
            want_papers.len()
        ));
    }
    for (i, (got, want)) in got_papers.iter().zip(want_papers).enumerate() {
        let at = format!("{slug} paper {i}");
        for field in [
            "position", "title", "authors", "orgs", "link", "anchor", "url",
        ] {
            diffs.field(&at, field, &got[field], &want[field]);
        }
        diffs.field(
            &at,
            "figure.alt",
            &got["figure"]["alt"],
            &want["figure_alt"],
        );
        if let Some(url) = got["figure"]["url"].as_str() {
            // Figures come from the server the page came from.
            if !url.starts_with(origin) {
                diffs
                    .0
                    .push(format!("{at} figure.url: {url} is not on {origin}"));
            }
        }
        if let Some(want_summary) = want["intro_summary"].as_str() {
            match got["intro_summary"].as_str() {
                Some(summary) if core(summary) == core(want_summary) => {}
                _ => diffs.field(
                    &at,
                    "intro_summary",
                    &got["intro_summary"],
                    &want["intro_summary"],
                ),
            }
        }
        let key_idea = got["key_idea"].as_str().unwrap_or("");
        if want["has_key_idea"] == Value::Bool(true) && key_idea.trim().is_empty() {
            diffs
                .0
                .push(format!("{at} key_idea: empty, but the review has one"));
        }
    }
}

#[test]
fn every_corpus_page_extracts_as_its_ground_truth() {
    let site = SiteServer::start(Links::Keep);
    let slugs = support::potm_slugs();
    assert_eq!(
        slugs.len(),
        21,
        "the corpus has 21 Papers-of-the-Month pages"
    );
    let mut diffs = Diffs(Vec::new());
    for slug in &slugs {
        let url = site.url(&format!("/{slug}/"));
        let out = support::papercast(
            &std::env::temp_dir(),
            &["extract", &url, "--format", "json"],
        );
        if !out.status.success() {
            diffs.0.push(format!(
                "{slug}: papercast failed: {}",
                stderr_of(&out).trim()
            ));
            continue;
        }
        match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(got) => compare(
                slug,
                &got,
                &support::expected(slug),
                &site.origin,
                &mut diffs,
            ),
            Err(e) => diffs.0.push(format!("{slug}: output is not JSON: {e}")),
        }
    }
    assert!(
        diffs.0.is_empty(),
        "{} differences from the ground truth:\n{}",
        diffs.0.len(),
        diffs.0.join("\n")
    );
}

#[test]
fn an_article_is_refused_in_one_line_naming_the_url() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url("/2025-06-11-cube-root-formats/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&url) && err.contains("not a Papers of the Month post"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_truncated_page_is_reported_incomplete_in_one_line_naming_the_url() {
    let site = SiteServer::start(Links::Keep);
    let url = site.url("/_test/truncated/2025-10-07-potm/");
    let out = support::papercast(&std::env::temp_dir(), &["extract", &url]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains(&url) && err.contains("incomplete"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
