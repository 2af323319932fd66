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
        intro_sentence: None,
        key_idea: key_idea.into(),
        figure: Some(Figure {
            url: format!("https://graphcore-research.github.io/potm/2025/09/fig{position}.png"),
            alt: "Distribution matching vs reward maximisation".into(),
            caption: None,
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
        intro_theme: None,
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
    ComposeOptions::default()
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

/// Whether the thread links to `url`, whatever text shows it.
fn links_to(thread: &Thread, url: &str) -> bool {
    thread.posts.iter().any(|p| {
        p.links
            .iter()
            .any(|l| l.url == url && p.text.contains(&l.text))
    })
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
    // "September Papers" posted in October: not "this month".
    assert!(
        head.contains("read in September, one per post below"),
        "{head}"
    );
    assert!(head.contains(POST_URL), "{head}");
    for tag in ["#LLMs", "#FineTuning", "#EfficientInference"] {
        assert!(head.contains(tag), "{tag} in {head}");
    }

    let post = &thread.posts[1];
    let p = &a.papers[0];
    // The authors as a post shows them: one author before "et al." without a comma.
    let authors = layout::one_author_et_al(&p.authors);
    assert_eq!(authors, "Xuekai Zhu et al.");
    for fact in [&p.title, &authors, &p.orgs, &p.link, &p.url] {
        assert!(post.text.contains(fact.as_str()), "{fact} in {}", post.text);
    }
    // The intro summary, whole: it fits Mastodon's 500.
    assert!(post
        .text
        .contains(p.intro_summary.as_deref().unwrap_or_default()));
    assert_eq!(post.images, p.figure.iter().cloned().collect::<Vec<_>>());
    assert_eq!(post.links.len(), 2);
    assert_all_fit(&thread, &rules);

    let without_closing = compose(
        &a,
        &Templates::bundled(),
        &rules,
        &ComposeOptions {
            closing_post: false,
            ..ComposeOptions::default()
        },
    )
    .expect("composes");
    assert_eq!(without_closing.posts.len(), 2);
}

#[test]
fn a_summary_too_long_for_the_post_is_never_cut_short() {
    let long = "FlowRL uses GFlowNets to train LLMs on full reward distributions, promoting \
                diverse reasoning paths instead of just reward maximization, which the \
                authors show improves results on maths and code benchmarks.";
    let mut p = flowrl();
    p.intro_summary = Some(long.into());
    let a = announcement(vec![p.clone()]);
    let rules = LengthRules::x();
    let thread = compose_on(&a, &rules);
    assert_all_fit(&thread, &rules);
    let texts = paper_texts(&thread, 0);
    assert!(texts.iter().all(|t| !t.contains('…')), "{texts:#?}");
    // The whole sentence, in a post of its own beside the header's post.
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains(long)), "{texts:#?}");
    assert!(texts[0].contains(&p.title));
    assert!(links_to(&thread, &p.link) && links_to(&thread, &p.url));
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
    // Whole sentences from the start, not all of them.
    assert!(key_idea.starts_with(summary), "{summary}");
    assert!(summary.ends_with('.'), "{summary}");
    assert!(summary.len() < key_idea.trim().len());
    assert_all_fit(&thread, &rules);
}

#[test]
fn long_author_and_organisation_lists_shorten_before_the_summary_goes() {
    // 2025-09-08: a long title and four organisations on Bluesky.
    let mut p = paper(
        0,
        "ADMIRE-BayesOpt: Accelerated Data MIxture RE-weighting for Language Models with Bayesian Optimization",
        Some("ADMIRE-BayesOpt that investigates how to weight different data sources when they are mixed to make a single training dataset."),
        "",
    );
    p.authors = "Shengzhuang Chen, Xu Ouyang, Michael Arthur Leopold Pearce, et al.".into();
    p.orgs = "Thomson Reuters Foundational Research, Imperial College London, University of West Virginia, Graphcore".into();
    let a = announcement(vec![p.clone()]);
    let rules = LengthRules::bluesky();
    let thread = compose_on(&a, &rules);
    assert_all_fit(&thread, &rules);
    let texts = paper_texts(&thread, 0);
    assert_eq!(texts.len(), 1, "{texts:#?}");
    let text = texts[0];
    assert!(text.contains(&p.title));
    assert!(text.contains("Shengzhuang Chen et al."), "{text}");
    // The four organisations would push the summary out: left to the review.
    assert!(!text.contains("Imperial College London"), "{text}");
    // The fragment became a sentence, whole.
    assert!(text.contains("ADMIRE-BayesOpt investigates how to weight different data sources when they are mixed to make a single training dataset."), "{text}");
    // Short links, with their full targets.
    assert!(
        text.contains("Paper: arxiv.org/abs/2509.15200\nOur review"),
        "{text}"
    );
    assert!(links_to(&thread, &p.link) && links_to(&thread, &p.url));
    assert_eq!(thread.posts[1].images.len(), 1);
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
    assert!(texts.iter().all(|t| !t.contains('…')));
    // All of the summary is there, across the paper's posts (ten sentences, beside the
    // title and the review's anchor).
    let summary_len: usize = texts.iter().map(|t| t.matches('推').count()).sum();
    assert_eq!(summary_len, 10 + 2, "{texts:#?}");
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
    assert!(thread.posts[0].text.contains("#ReinforcementLearning"));
    assert!(thread.posts[0].text.contains("#LLMs"));
}

#[test]
fn an_alt_text_that_says_nothing_gives_way_to_the_caption_then_to_a_description() {
    let mut p = flowrl();
    p.figure = Some(Figure {
        url: "https://graphcore-research.github.io/potm/2025/09/flowrl/figure_1.png".into(),
        alt: "image".into(),
        caption: Some("Figure 1: Distribution matching versus reward maximisation.".into()),
    });
    let thread = compose_on(&announcement(vec![p.clone()]), &LengthRules::bluesky());
    assert_eq!(
        thread.posts[1].images[0].alt,
        "Distribution matching versus reward maximisation."
    );
    assert!(thread.warnings.is_empty());
    p.figure = Some(Figure {
        url: "https://graphcore-research.github.io/potm/2025/09/flowrl/figure_1.png".into(),
        alt: String::new(),
        caption: None,
    });
    let thread = compose_on(&announcement(vec![p.clone()]), &LengthRules::bluesky());
    assert_eq!(
        thread.posts[1].images[0].alt,
        format!("Figure from the paper “{}”", p.title)
    );
    assert_eq!(thread.warnings.len(), 1, "{:?}", thread.warnings);
    assert_eq!(
        without_figure_label("Figure1 - Increase in Intelligence per Watt"),
        "Increase in Intelligence per Watt"
    );
    assert_eq!(
        without_figure_label("Figure 1(b). The new scaling laws"),
        "The new scaling laws"
    );
}

#[test]
fn an_alt_text_cut_on_the_page_is_trimmed_to_its_last_whole_phrase() {
    // 2024-01-29: the page's alt attribute stops mid-phrase.
    assert_eq!(
        whole_phrases("Equation for reproducible holdout loss selection, aka the"),
        "Equation for reproducible holdout loss selection"
    );
    assert_eq!(
        whole_phrases("Synthetic dataset generation"),
        "Synthetic dataset generation"
    );
    assert_eq!(
        whole_phrases("Schematic of the model and the"),
        "Schematic of the model"
    );
}

#[test]
fn alt_text_is_shortened_to_the_platform_limit() {
    let mut p = flowrl();
    let alt = "A plot of reward against training steps for each method. ".repeat(40);
    p.figure = Some(Figure {
        url: "https://graphcore-research.github.io/potm/2025/09/flowrl/figure_1.png".into(),
        alt: alt.trim().to_owned(),
        caption: None,
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
