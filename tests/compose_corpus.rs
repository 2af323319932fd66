//! Composition on the real corpus: every ground-truth post, on every platform, gives a
//! thread whose posts all fit and that carries every paper's facts; snapshots of a few
//! rendered threads show the effect of a template change.
//!
//! Each `Announcement` comes from the real extractor on the corpus page (extraction
//! itself is checked against the ground truth in `extract_corpus.rs`); the last test
//! runs `papercast preview` over loopback HTTP as a user would.

mod support;

use papercast::compose::{compose, ComposeOptions, Post, PostRole, Templates, Thread};
use papercast::extract::extract;
use papercast::platform::{LengthRules, PlatformKind};
use papercast::{Announcement, Figure};
use support::site::{Links, SiteServer};

/// The real extractor's view of a corpus page, with its canonical URL as base.
fn announcement(slug: &str) -> Announcement {
    let path = support::corpus_dir()
        .join("site")
        .join(slug)
        .join("index.html");
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let url = support::expected(slug)["url"]
        .as_str()
        .expect("ground-truth URL")
        .to_owned();
    extract(&html, &url).unwrap_or_else(|e| panic!("{slug}: {e}"))
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
                let options = ComposeOptions {
                    closing_post,
                    ..ComposeOptions::default()
                };
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
                let head_links_to_post = thread
                    .posts
                    .iter()
                    .filter(|p| p.role == PostRole::Head)
                    .any(|p| p.links.iter().any(|l| l.url == announcement.url));
                assert!(head_links_to_post, "{label}: {head}");
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
                        // On Bluesky a link shows short; its facet carries the URL.
                        let linked = posts
                            .iter()
                            .any(|p| p.links.iter().any(|l| &l.url == exact));
                        assert!(
                            whole || linked,
                            "{label}: `{exact}` is not whole in {texts:#?}"
                        );
                    }
                    // The first author is always there; long lists may show as
                    // "First Author et al." and "Org +3" (in full in `extract`).
                    let first_author = paper
                        .authors
                        .split([',', '&'])
                        .next()
                        .and_then(|a| a.split(" and ").next())
                        .map(|a| a.trim().trim_end_matches(" et al.").trim())
                        .unwrap_or_default();
                    assert!(
                        texts.iter().any(|t| t.contains(first_author)),
                        "{label}: `{first_author}` not whole in {texts:#?}"
                    );
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

fn snapshot(slug: &str) {
    let announcement = announcement(slug);
    let templates = Templates::bundled();
    let options = ComposeOptions::default();
    for platform in PlatformKind::ALL {
        let rules = LengthRules::default_for(platform);
        let thread = compose(&announcement, &templates, &rules, &options).expect("composes");
        insta::assert_snapshot!(format!("{slug}-{platform}"), thread.to_text());
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
        &ComposeOptions::default(),
    )
    .expect("composes");
    insta::assert_json_snapshot!("2025-11-04-potm-x-json", thread);
}

#[test]
fn preview_of_every_corpus_post_fits_every_platform() {
    let site = SiteServer::start(Links::Keep);
    let dir = tempfile::tempdir().expect("temp dir");
    for slug in support::potm_slugs() {
        let url = site.url(&format!("/{slug}/"));
        let out = support::papercast(dir.path(), &["preview", &url, "--format", "json"]);
        assert!(
            out.status.success(),
            "{slug}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let threads: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
        let threads = threads.as_array().expect("an array of threads");
        assert_eq!(threads.len(), 3, "{slug}: one thread per platform");
        let expected = support::expected(&slug);
        for thread in threads {
            let platform = thread["platform"].as_str().expect("platform");
            let posts = thread["posts"].as_array().expect("posts");
            let mut texts = Vec::new();
            for post in posts {
                let (length, limit) = (
                    post["length"].as_u64().expect("length"),
                    post["limit"].as_u64().expect("limit"),
                );
                assert!(
                    length <= limit,
                    "{slug} on {platform}: {length} > {limit}: {post}"
                );
                texts.push(post["text"].as_str().expect("text"));
            }
            // Every link of every post, with the text it shows (`links`).
            let links: Vec<(&str, &str)> = posts
                .iter()
                .flat_map(|post| post["links"].as_array().expect("links").iter())
                .map(|link| {
                    (
                        link["text"].as_str().expect("shown text"),
                        link["url"].as_str().expect("target"),
                    )
                })
                .collect();
            for (shown, _) in &links {
                assert!(
                    texts.iter().any(|t| t.contains(shown)),
                    "{slug} on {platform}: the link text `{shown}` is in no post"
                );
            }
            for paper in expected["papers"].as_array().expect("papers") {
                let title = paper["title"].as_str().expect("a title");
                assert!(
                    texts.iter().any(|t| t.contains(title)),
                    "{slug} on {platform}: no post has the title `{title}`"
                );
                for key in ["link", "url"] {
                    let url = paper[key].as_str().expect("a URL");
                    assert!(
                        links.iter().any(|(_, target)| *target == url),
                        "{slug} on {platform}: no post links to the {key} `{url}`"
                    );
                }
            }
        }
    }
}
