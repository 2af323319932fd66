//! Composition from `Announcement` values: what goes in each post, how summaries are
//! shortened, when posts split, and how user templates override the bundled ones.

use super::*;
use crate::model::{Announcement, Figure, Paper};
use crate::model::{LengthRules, PlatformKind};

const POST_URL: &str = "https://graphcore-research.github.io/2025-10-07-potm/";

fn paper(position: usize, title: &str, summary: Option<&str>, key_idea: &str) -> Paper {
    let anchor: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    Paper {
        position,
        title: title.into(),
        authors: "Xuekai Zhu, et al.".into(),
        orgs: "Shanghai AI Laboratory".into(),
        link: format!("https://arxiv.org/abs/2509.1520{position}"),
        url: format!("{POST_URL}#{anchor}"),
        anchor,
        intro_summary: summary.map(str::to_owned),
        key_idea: key_idea.into(),
        figure: Some(Figure {
            url: format!("https://graphcore-research.github.io/potm/2025/09/fig{position}.png"),
            alt: "Distribution matching vs reward maximisation".into(),
        }),
    }
}

fn announcement(papers: Vec<Paper>) -> Announcement {
    Announcement {
        url: POST_URL.into(),
        slug: "2025-10-07-potm".into(),
        title: "September Papers: The L in ML Stands for LLMs".into(),
        date: "2025-10-07".into(),
        tags: vec![
            "LLMs".into(),
            "fine-tuning".into(),
            "efficient inference".into(),
        ],
        social_image: None,
        papers,
    }
}

fn flowrl() -> Paper {
    paper(
        0,
        "FlowRL: Matching Reward Distributions for LLM Reasoning",
        Some("FlowRL uses GFlowNets to train LLMs on full reward distributions, promoting diverse reasoning paths instead of just reward maximization."),
        "Rather than maximising reward, FlowRL matches the full reward distribution. This keeps reasoning diverse.",
    )
}

fn options() -> ComposeOptions {
    ComposeOptions { closing_post: true }
}

fn compose_on(announcement: &Announcement, rules: &LengthRules) -> Thread {
    compose(announcement, &Templates::bundled(), rules, &options()).expect("composes")
}

fn paper_texts(thread: &Thread, position: usize) -> Vec<&str> {
    thread
        .posts
        .iter()
        .filter(|p| p.role == PostRole::Paper { position })
        .map(|p| p.text.as_str())
        .collect()
}

fn assert_all_fit(thread: &Thread, rules: &LengthRules) {
    for post in &thread.posts {
        assert!(rules.fits(&post.text), "{post:#?}");
        assert_eq!(post.length, rules.count(&post.text));
        assert_eq!(post.limit, rules.max);
    }
}

#[test]
fn a_thread_has_a_head_a_post_per_paper_and_a_closing_post() {
    let a = announcement(vec![flowrl()]);
    let rules = LengthRules::mastodon(500, 23);
    let thread = compose_on(&a, &rules);
    assert_eq!(thread.platform, PlatformKind::Mastodon);
    let roles: Vec<PostRole> = thread.posts.iter().map(|p| p.role).collect();
    assert_eq!(
        roles,
        [
            PostRole::Head,
            PostRole::Paper { position: 0 },
            PostRole::Closing
        ]
    );
    let head = &thread.posts[0].text;
    assert!(head.starts_with(&a.title), "{head}");
    assert!(head.contains("1 paper "), "{head}");
    assert!(head.contains(POST_URL), "{head}");
    assert!(
        head.contains("#LLMs #FineTuning #EfficientInference"),
        "{head}"
    );

    let post = &thread.posts[1];
    let p = &a.papers[0];
    for fact in [&p.title, &p.authors, &p.orgs, &p.link, &p.url] {
        assert!(post.text.contains(fact.as_str()), "{fact} in {}", post.text);
    }
    // The intro summary, whole: it fits Mastodon's 500.
    assert!(post
        .text
        .contains(p.intro_summary.as_deref().unwrap_or_default()));
    assert_eq!(post.images, p.figure.iter().cloned().collect::<Vec<_>>());
    assert_all_fit(&thread, &rules);

    let without_closing = compose(
        &a,
        &Templates::bundled(),
        &rules,
        &ComposeOptions {
            closing_post: false,
        },
    )
    .expect("composes");
    assert_eq!(without_closing.posts.len(), 2);
}

#[test]
fn the_summary_is_shortened_at_a_word_with_an_ellipsis_and_nothing_else_is_cut() {
    let long =
        "FlowRL uses GFlowNets to train LLMs on full reward distributions, promoting diverse \
                reasoning paths instead of just reward maximization, which the authors show \
                improves results on maths and code benchmarks.";
    let mut p = flowrl();
    p.intro_summary = Some(long.into());
    let a = announcement(vec![p.clone()]);
    let rules = LengthRules::x();
    let thread = compose_on(&a, &rules);
    assert_all_fit(&thread, &rules);
    let texts = paper_texts(&thread, 0);
    assert_eq!(texts.len(), 1, "{texts:#?}");
    let text = texts[0];
    for fact in [&p.title, &p.authors, &p.orgs, &p.link, &p.url] {
        assert!(text.contains(fact.as_str()), "{fact} in {text}");
    }
    let summary_line = text.split("\n\n").nth(1).expect("the summary paragraph");
    let kept = summary_line
        .strip_suffix('…')
        .expect("ends with an ellipsis");
    assert!(long.starts_with(kept), "{kept}");
    // Cut between words.
    assert_eq!(long.as_bytes()[kept.len()], b' ', "{kept}");
    assert!(fit::graphemes(kept) >= fit::MIN_SUMMARY_GRAPHEMES, "{kept}");
}

#[test]
fn the_key_idea_gives_its_first_sentences_when_the_intro_has_no_summary() {
    let key_idea = "Co-training a small model with a large model is an efficient strategy for \
                    filtering datasets. It saves on overall training costs. "
        .repeat(6);
    let p = paper(0, "Bad Students Make Great Teachers", None, key_idea.trim());
    let a = announcement(vec![p]);
    let rules = LengthRules::mastodon(500, 23);
    let thread = compose_on(&a, &rules);
    let text = paper_texts(&thread, 0)[0];
    let summary = text.split("\n\n").nth(1).expect("summary paragraph");
    // Whole sentences from the start, no more than the key-idea budget.
    assert!(key_idea.starts_with(summary), "{summary}");
    assert!(summary.ends_with('.'), "{summary}");
    assert!(fit::graphemes(summary) <= KEY_IDEA_SUMMARY_GRAPHEMES);
    assert!(summary.len() < key_idea.trim().len());
    assert_all_fit(&thread, &rules);
}

#[test]
fn a_paper_that_does_not_fit_one_post_is_split_and_keeps_every_fact() {
    // Bluesky counts URLs in full: a long review anchor and long affiliations leave
    // no room for a summary.
    let mut p = paper(
        0,
        "ADMIRE-BayesOpt: Accelerated Data MIxture RE-weighting for Language Models with Bayesian Optimization",
        Some("ADMIRE-BayesOpt investigates how to weight different data sources when they are mixed to make a single training dataset."),
        "",
    );
    p.orgs = "Thomson Reuters Foundational Research, Imperial College London, University of West Virginia, Graphcore".into();
    let a = announcement(vec![p.clone()]);
    let rules = LengthRules::bluesky();
    let thread = compose_on(&a, &rules);
    assert_all_fit(&thread, &rules);
    let texts = paper_texts(&thread, 0);
    assert!(texts.len() >= 2, "{texts:#?}");
    for fact in [&p.title, &p.authors, &p.orgs, &p.link, &p.url] {
        assert!(
            texts.iter().any(|t| t.contains(fact.as_str())),
            "`{fact}` whole in one of {texts:#?}"
        );
    }
    // The summary is kept, shortened only at a word boundary and not below the
    // minimum.
    let intro = p.intro_summary.as_deref().unwrap_or_default();
    let kept = texts
        .iter()
        .flat_map(|t| t.split("\n\n"))
        .find(|paragraph| paragraph.starts_with("ADMIRE-BayesOpt investigates"))
        .expect("the summary is in the paper's posts");
    let kept = kept.strip_suffix('…').unwrap_or(kept);
    assert!(intro.starts_with(kept), "{kept}");
    assert!(fit::graphemes(kept) >= fit::MIN_SUMMARY_GRAPHEMES, "{kept}");
    // The figure goes with the first of the paper's posts only.
    let images: Vec<usize> = thread
        .posts
        .iter()
        .filter(|post| post.role == PostRole::Paper { position: 0 })
        .map(|post| post.images.len())
        .collect();
    assert_eq!(images[0], 1);
    assert!(images[1..].iter().all(|n| *n == 0));
}

#[test]
fn cjk_text_weighs_double_on_x_and_still_fits() {
    let p = paper(
        0,
        "大規模言語モデルの推論効率化に関する研究",
        Some(&"推論を効率化する新しい手法を提案する。".repeat(10)),
        "",
    );
    let a = announcement(vec![p.clone()]);
    let rules = LengthRules::x();
    let thread = compose_on(&a, &rules);
    assert_all_fit(&thread, &rules);
    let texts = paper_texts(&thread, 0);
    assert!(texts.iter().any(|t| t.contains(&p.title)));
    // On Mastodon the same post is counted in graphemes and keeps more summary.
    let mastodon = compose_on(&a, &LengthRules::mastodon(500, 23));
    let summary_len = |thread: &Thread| -> usize {
        paper_texts(thread, 0)
            .iter()
            .map(|t| t.matches('推').count())
            .sum()
    };
    assert!(summary_len(&mastodon) > summary_len(&thread));
}

#[test]
fn hashtags_are_dropped_when_the_head_would_not_fit() {
    let mut a = announcement(vec![flowrl()]);
    a.title = "A ".repeat(100).trim().to_owned();
    a.tags = vec!["reinforcement-learning".into(), "LLMs".into()];
    let rules = LengthRules::x();
    let thread = compose_on(&a, &rules);
    let head = &thread.posts[0].text;
    assert!(!head.contains('#'), "{head}");
    assert!(head.contains(&a.title));
    assert_all_fit(&thread, &rules);
    // With room, they are there.
    let thread = compose_on(&a, &LengthRules::mastodon(500, 23));
    assert!(thread.posts[0]
        .text
        .contains("#ReinforcementLearning #LLMs"));
}

#[test]
fn alt_text_is_shortened_to_the_platform_limit() {
    let mut p = flowrl();
    let alt = "A plot of reward against training steps for each method. ".repeat(40);
    p.figure = Some(Figure {
        url: "https://graphcore-research.github.io/potm/2025/09/flowrl/figure_1.png".into(),
        alt: alt.trim().to_owned(),
    });
    let a = announcement(vec![p]);
    for (rules, max) in [
        (LengthRules::x(), Some(1000)),
        (LengthRules::mastodon(500, 23), Some(1500)),
        (LengthRules::bluesky(), None),
    ] {
        let thread = compose_on(&a, &rules);
        let image = &thread.posts[1].images[0];
        match max {
            Some(max) => {
                assert!(image.alt.chars().count() <= max, "{}", rules.platform);
                assert!(alt.starts_with(image.alt.trim_end_matches('…')));
            }
            None => assert_eq!(image.alt, alt.trim()),
        }
    }
}

#[test]
fn hashtags_from_tags() {
    let tags: Vec<String> = [
        "flow map learning",
        "llms",
        "LLMs",
        "long-context",
        "2024",
        "promotoer DNA design",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    assert_eq!(
        hashtags(&tags),
        [
            "#FlowMapLearning",
            "#llms",
            "#LongContext",
            "#PromotoerDNADesign"
        ]
    );
}

#[test]
fn intro_summaries_lose_their_connectors() {
    assert_eq!(
        tidy_intro_summary("First up, SonicMoE tackles issues of fine-grained MoEs."),
        "SonicMoE tackles issues of fine-grained MoEs."
    );
    assert_eq!(
        tidy_intro_summary("Stable Molecule Generation that uses a reward function; and"),
        "Stable Molecule Generation that uses a reward function."
    );
    assert_eq!(
        without_title(
            "Planned Diffusion combines autoregressive planning with text diffusion.",
            "Planned Diffusion"
        )
        .as_deref(),
        Some("Combines autoregressive planning with text diffusion.")
    );
    assert_eq!(
        without_title(
            "LTX-2: Efficient Model. HaCohen et al. propose a joint framework.",
            "LTX-2: Efficient Model"
        )
        .as_deref(),
        Some("HaCohen et al. propose a joint framework.")
    );
    assert_eq!(
        without_title("FlowRL uses GFlowNets.", "FlowRL: Matching"),
        None
    );
}

mod user_templates {
    use super::*;
    use std::fs;

    fn write(dir: &std::path::Path, name: &str, text: &str) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, text).expect("write template");
    }

    #[test]
    fn bundled_templates_render_on_every_platform() {
        let a = announcement(vec![flowrl()]);
        for platform in PlatformKind::ALL {
            let rules = LengthRules::default_for(platform);
            let thread = compose_on(&a, &rules);
            assert_eq!(thread.posts[0].role, PostRole::Head);
            assert!(!paper_texts(&thread, 0).is_empty());
            assert_eq!(thread.posts.last().map(|p| p.role), Some(PostRole::Closing));
            assert_all_fit(&thread, &rules);
        }
        check_templates(&Templates::bundled()).expect("bundled templates render");
        let names = Templates::bundled().describe();
        assert!(
            names.contains(&"paper.txt.j2 (bundled)".to_owned()),
            "{names:?}"
        );
    }

    #[test]
    fn an_empty_templates_dir_setting_means_the_bundled_ones() {
        let templates = Templates::from_config(std::path::Path::new("")).expect("bundled");
        assert_eq!(templates.describe(), Templates::bundled().describe());
    }

    #[test]
    fn user_templates_override_bundled_ones_per_platform() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "paper.txt.j2",
            "{% include \"_label.txt.j2\" %}{{ paper.title }}\n\n{{ summary }}\n\n{{ paper.link }}",
        );
        write(dir.path(), "_label.txt.j2", "Paper {{ paper.number }}: ");
        write(
            dir.path(),
            "x/paper.txt.j2",
            "X! {{ paper.title }} {{ paper.link }}",
        );
        let templates = Templates::from_config(dir.path()).expect("loads");
        let a = announcement(vec![flowrl()]);
        let mastodon =
            compose(&a, &templates, &LengthRules::mastodon(500, 23), &options()).expect("ok");
        assert!(mastodon.posts[1]
            .text
            .starts_with("Paper 1: FlowRL: Matching Reward"));
        let x = compose(&a, &templates, &LengthRules::x(), &options()).expect("ok");
        assert_eq!(
            x.posts[1].text,
            "X! FlowRL: Matching Reward Distributions for LLM Reasoning https://arxiv.org/abs/2509.15200"
        );
        // The head was not overridden.
        assert!(x.posts[0].text.contains("🧵"));
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "head.txt.j2",
            "{{ post.title }}\n\n{% if count %}\n",
        );
        let err = Templates::from_config(dir.path()).expect_err("syntax error");
        let message = err.to_string();
        let path = dir.path().join("head.txt.j2");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("syntax error"), "{message}");
    }

    #[test]
    fn a_misspelt_variable_names_the_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "closing.txt.j2", "Thanks!\n{{ post.titel }}");
        // Reported when the templates load, not when a thread is due.
        let err = Templates::from_config(dir.path()).expect_err("undefined value");
        let message = err.to_string();
        assert!(message.contains("closing.txt.j2"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("undefined"), "{message}");
    }

    #[test]
    fn an_unknown_template_name_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "papers.txt.j2", "{{ paper.title }}");
        let err = Templates::from_config(dir.path()).expect_err("unknown name");
        assert!(
            err.to_string().contains("unknown template `papers.txt.j2`"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_dir_names_the_path_and_the_setting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nowhere");
        let err = Templates::from_config(&missing).expect_err("no such dir");
        let message = err.to_string();
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(message.contains("compose.templates_dir"), "{message}");
    }
}
