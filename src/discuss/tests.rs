use super::*;
use crate::model::Paper;

fn announcement() -> Announcement {
    let paper = |position: usize, anchor: &str| Paper {
        position,
        title: format!("Paper {anchor}"),
        authors: "A. Author".into(),
        orgs: "Org".into(),
        link: format!("https://arxiv.org/abs/{position}"),
        anchor: anchor.into(),
        url: format!("https://blog.example/post/#{anchor}"),
        intro_summary: None,
        intro_sentence: None,
        key_idea: "Idea.".into(),
        figure: None,
    };
    Announcement {
        url: "https://blog.example/post/".into(),
        slug: "post".into(),
        title: "A <b>post</b>".into(),
        date: "2026-01-01".into(),
        tags: vec![],
        social_image: None,
        intro_theme: None,
        papers: vec![paper(0, "first"), paper(1, "second")],
    }
}

fn posted(id: &str, role: PostRole) -> PostedPost {
    PostedPost {
        account: "gc".into(),
        platform: PlatformKind::Mastodon,
        remote_id: id.into(),
        url: format!("https://social.example/@gc/{id}"),
        role,
    }
}

fn reply(id: &str, to: &str, html: &str) -> CollectedReply {
    CollectedReply {
        account: "gc".into(),
        remote_id: id.into(),
        in_reply_to: to.into(),
        author_name: "Alice".into(),
        author_handle: "@alice@social.example".into(),
        author_url: "https://social.example/@alice".into(),
        avatar: Some("https://social.example/a.png".into()),
        url: format!("https://social.example/@alice/{id}"),
        created_at: format!("2026-01-02T10:00:0{}Z", id.len() % 10),
        edited_at: None,
        content_html: html.into(),
        spoiler_text: String::new(),
        hidden: false,
        deleted: false,
    }
}

fn thread() -> Vec<PostedPost> {
    vec![
        posted("1", PostRole::Head),
        posted("2", PostRole::Paper { position: 0 }),
        posted("3", PostRole::Paper { position: 1 }),
        posted("4", PostRole::Closing),
    ]
}

#[test]
fn replies_belong_to_the_post_or_paper_they_hang_from_at_any_depth() {
    let replies = vec![
        reply("10", "1", "<p>on the post</p>"),
        reply("11", "2", "<p>on the first paper</p>"),
        reply("12", "11", "<p>under that</p>"),
        reply("13", "12", "<p>deeper</p>"),
        reply("14", "4", "<p>on the closing post</p>"),
        reply("15", "999", "<p>orphan</p>"),
    ];
    let subjects = attribute(&thread(), &replies);
    let of = |id: &str| subjects.get(&("gc".to_owned(), id.to_owned())).copied();
    assert_eq!(of("10"), Some(Subject::Post));
    assert_eq!(of("11"), Some(Subject::Paper(0)));
    assert_eq!(of("12"), Some(Subject::Paper(0)));
    assert_eq!(of("13"), Some(Subject::Paper(0)));
    assert_eq!(of("14"), Some(Subject::Post));
    assert_eq!(of("15"), None);
}

#[test]
fn a_reply_cycle_in_bad_data_does_not_hang() {
    let replies = vec![reply("20", "21", "a"), reply("21", "20", "b")];
    assert!(attribute(&thread(), &replies).is_empty());
}

#[test]
fn hidden_replies_and_their_answers_are_left_out() {
    let mut replies = vec![
        reply("11", "2", "<p>rude</p>"),
        reply("12", "11", "<p>answer to rude</p>"),
        reply("13", "2", "<p>fine</p>"),
    ];
    replies[0].hidden = true;
    let discussion = build(&announcement(), &thread(), &replies);
    let texts: Vec<&str> = discussion.papers[0]
        .replies
        .iter()
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(texts, ["fine"]);
}

#[test]
fn the_discussion_lists_threads_and_replies_per_paper() {
    let replies = vec![
        reply("10", "1", "<p>on the post</p>"),
        reply("11", "3", "<p>on the second</p>"),
    ];
    let discussion = build(&announcement(), &thread(), &replies);
    assert_eq!(discussion.threads.len(), 1);
    assert_eq!(discussion.threads[0].url, "https://social.example/@gc/1");
    assert_eq!(discussion.replies.len(), 1);
    assert!(discussion.papers[0].replies.is_empty());
    assert_eq!(discussion.papers[1].replies[0].text, "on the second");
    assert_eq!(
        discussion.papers[1].threads[0].url,
        "https://social.example/@gc/3"
    );
}

#[test]
fn reply_html_is_made_safe() {
    let html = r#"<p>Hi <script>alert(1)</script><a href="javascript:alert(2)">click</a> <a href="https://arxiv.org/abs/1" onclick="x()">paper</a><img src=x onerror=alert(3)></p>"#;
    let safe = safe_html(html);
    assert!(
        !safe.contains("<script")
            && !safe.contains("javascript:")
            && !safe.contains("onclick")
            && !safe.contains("<img"),
        "{safe}"
    );
    assert!(safe.contains(r#"href="https://arxiv.org/abs/1""#), "{safe}");
    assert!(safe.contains("nofollow"), "{safe}");
}

#[test]
fn plain_text_keeps_paragraphs_and_breaks() {
    assert_eq!(
        plain_text("<p>one<br>two</p><p>three &amp; four</p>"),
        "one\ntwo\n\nthree & four"
    );
}

#[test]
fn the_fragment_escapes_everything_but_the_sanitised_reply() {
    let mut evil = reply("10", "1", "<p><script>alert(1)</script>ok</p>");
    evil.author_name = "<img src=x onerror=alert(1)>".into();
    let discussion = build(&announcement(), &thread(), &[evil]);
    let html = render_html(&discussion).expect("render");
    assert!(
        !html.contains("<script") && !html.contains("<img src=x"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(
        html.contains("Discuss on Mastodon</a>\n — 1 reply"),
        "{html}"
    );
    assert!(html.contains("Paper first"), "{html}");
}

#[test]
fn the_same_id_on_two_servers_is_two_replies() {
    let mut other_thread = thread();
    for post in &mut other_thread {
        post.account = "other".into();
    }
    other_thread[0].remote_id = "1".into();
    let posts: Vec<PostedPost> = thread().into_iter().chain(other_thread).collect();
    let mut on_other = reply("10", "3", "<p>other server</p>");
    on_other.account = "other".into();
    let replies = vec![reply("10", "2", "<p>first server</p>"), on_other];
    let subjects = attribute(&posts, &replies);
    assert_eq!(
        subjects.get(&("gc".to_owned(), "10".to_owned())),
        Some(&Subject::Paper(0))
    );
    assert_eq!(
        subjects.get(&("other".to_owned(), "10".to_owned())),
        Some(&Subject::Paper(1))
    );
}

#[test]
fn deleted_replies_are_left_out_but_the_answers_under_them_stay() {
    let mut replies = vec![
        reply("11", "2", "<p>gone</p>"),
        reply("12", "11", "<p>answer to gone</p>"),
    ];
    replies[0].deleted = true;
    let discussion = build(&announcement(), &thread(), &replies);
    let texts: Vec<&str> = discussion.papers[0]
        .replies
        .iter()
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(texts, ["answer to gone"]);
}

#[test]
fn links_that_are_not_http_are_dropped() {
    let mut evil = reply("10", "1", "<p>hi</p>");
    evil.author_url = "javascript:alert(1)".into();
    evil.avatar = Some("data:image/svg+xml,<svg onload=alert(1)>".into());
    let mut no_link = reply("11", "1", "<p>no link</p>");
    no_link.url = "javascript:alert(2)".into();
    let discussion = build(&announcement(), &thread(), &[evil, no_link]);
    assert_eq!(
        discussion.replies.len(),
        1,
        "a reply without a safe link is left out"
    );
    assert_eq!(discussion.replies[0].author_url, "");
    assert_eq!(discussion.replies[0].avatar, None);
    let html = render_html(&discussion).expect("render");
    assert!(
        !html.contains("javascript:") && !html.contains("data:"),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="papercast-author">Alice</span>"#),
        "{html}"
    );
}

#[test]
fn a_content_warning_folds_the_text() {
    let mut warned = reply("10", "1", "<p>spoilers</p>");
    warned.spoiler_text = "results <b>spoiler</b>".into();
    let discussion = build(&announcement(), &thread(), &[warned]);
    assert_eq!(
        discussion.replies[0].content_warning.as_deref(),
        Some("results <b>spoiler</b>")
    );
    let html = render_html(&discussion).expect("render");
    assert!(
        html.contains("<details class=\"papercast-text\"><summary>results &lt;b&gt;spoiler&lt;&#x2f;b&gt;</summary><p>spoilers</p></details>"),
        "{html}"
    );
}

#[test]
fn links_from_outside_that_are_not_http_become_inert() {
    let mut post = announcement();
    post.papers[0].url = "javascript:alert(1)".into();
    let discussion = build(&post, &thread(), &[]);
    let html = render_html(&discussion).expect("render");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(
        html.contains(r##"<h4><a href="#">Paper first</a></h4>"##),
        "{html}"
    );
}

#[test]
fn reply_html_drops_protocol_relative_and_relative_links() {
    for href in [
        "//evil.example/",
        "/local/path",
        "javascript:alert(1)",
        "file:///etc/passwd",
    ] {
        let html = safe_html(&format!(r#"<p><a href="{href}">look</a></p>"#));
        assert!(!html.contains("href"), "{href}: {html}");
        assert!(html.contains("look"), "the text stays: {html}");
    }
    let html = safe_html(r#"<a href="https://ok.example/">ok</a>"#);
    assert!(html.contains(r#"href="https://ok.example/""#), "{html}");
}
