//! Replies to papercast's threads as discussion links: which post or paper each reply
//! answers, and the published discussion as JSON and an embeddable HTML fragment (pure).

use crate::compose::PostRole;
use crate::model::Announcement;
use crate::model::PlatformKind;
use serde::Serialize;
use std::collections::HashMap;

/// One post of a thread as it stands on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedPost {
    pub account: String,
    pub platform: PlatformKind,
    /// The server's id of the post.
    pub remote_id: String,
    /// The post's public URL.
    pub url: String,
    pub role: PostRole,
}

/// A reply as collected from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedReply {
    pub account: String,
    /// The server's id of the reply.
    pub remote_id: String,
    /// The id of the post it answers (a thread post or another reply).
    pub in_reply_to: String,
    pub author_name: String,
    /// `@user@server`.
    pub author_handle: String,
    pub author_url: String,
    pub avatar: Option<String>,
    pub url: String,
    /// RFC 3339.
    pub created_at: String,
    pub edited_at: Option<String>,
    /// The reply's HTML as the server gave it (not yet sanitised).
    pub content_html: String,
    /// The content warning; empty when none.
    pub spoiler_text: String,
    /// Hidden by a moderator or a rule (or its author is): never published, nor are
    /// the replies under it.
    pub hidden: bool,
    /// Gone from its server: not published, but the replies under it still are (they
    /// are found through it).
    pub deleted: bool,
}

/// What a reply is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The whole blog post (a reply to the head or closing post).
    Post,
    /// The paper at this position.
    Paper(usize),
}

/// A reply's key: remote ids are unique per server, so per account.
pub type ReplyKey = (String, String);

/// Finds what each reply is about by walking up its chain of replies to the thread
/// post it hangs from. Replies whose chain does not reach a thread post (their parent
/// is not collected) are left out of the map, which is keyed by (account, remote id).
pub fn attribute(posts: &[PostedPost], replies: &[CollectedReply]) -> HashMap<ReplyKey, Subject> {
    let key = |account: &str, id: &str| format!("{account}\u{0}{id}");
    let roots: HashMap<String, Subject> = posts
        .iter()
        .map(|p| {
            let subject = match p.role {
                PostRole::Paper { position } => Subject::Paper(position),
                PostRole::Head | PostRole::Closing => Subject::Post,
            };
            (key(&p.account, &p.remote_id), subject)
        })
        .collect();
    let parents: HashMap<String, String> = replies
        .iter()
        .map(|r| {
            (
                key(&r.account, &r.remote_id),
                key(&r.account, &r.in_reply_to),
            )
        })
        .collect();
    let mut subjects = HashMap::new();
    for reply in replies {
        let mut at = key(&reply.account, &reply.in_reply_to);
        // Bounded by the number of replies, so that a cycle in bad data cannot hang us.
        for _ in 0..=replies.len() {
            if let Some(subject) = roots.get(&at) {
                subjects.insert((reply.account.clone(), reply.remote_id.clone()), *subject);
                break;
            }
            match parents.get(&at) {
                Some(parent) => at = parent.clone(),
                None => break,
            }
        }
    }
    subjects
}

/// The published discussion of one blog post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discussion {
    pub post_url: String,
    pub title: String,
    /// The head post of each account's thread.
    pub threads: Vec<ThreadLink>,
    /// Visible replies about the whole post.
    pub replies: Vec<Reply>,
    pub papers: Vec<PaperDiscussion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadLink {
    pub account: String,
    pub platform: PlatformKind,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaperDiscussion {
    pub anchor: String,
    pub url: String,
    pub title: String,
    /// The paper's own post in each account's thread.
    pub threads: Vec<ThreadLink>,
    pub replies: Vec<Reply>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The author's display name (or handle when it has none).
    pub author: String,
    pub handle: String,
    pub author_url: String,
    pub avatar: Option<String>,
    pub url: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    /// The reply as plain text.
    pub text: String,
    /// The reply as safe HTML: links, paragraphs and line breaks only.
    pub html: String,
    /// The author's content warning, shown before the text.
    pub content_warning: Option<String>,
    pub platform: PlatformKind,
}

/// The replies that are published, with what each is about: those that hang from a
/// thread post, are not deleted, are neither hidden nor under a hidden reply, and have
/// a link a reader can follow safely.
pub fn published(posts: &[PostedPost], replies: &[CollectedReply]) -> HashMap<ReplyKey, Subject> {
    let mut subjects = attribute(posts, replies);
    let hidden: std::collections::HashSet<(&str, &str)> = replies
        .iter()
        .filter(|r| r.hidden)
        .map(|r| (r.account.as_str(), r.remote_id.as_str()))
        .collect();
    let parents: HashMap<(&str, &str), &str> = replies
        .iter()
        .map(|r| {
            (
                (r.account.as_str(), r.remote_id.as_str()),
                r.in_reply_to.as_str(),
            )
        })
        .collect();
    let under_hidden = |reply: &CollectedReply| {
        let mut at = (reply.account.as_str(), reply.remote_id.as_str());
        for _ in 0..=replies.len() {
            if hidden.contains(&at) {
                return true;
            }
            match parents.get(&at) {
                Some(parent) => at = (reply.account.as_str(), parent),
                None => return false,
            }
        }
        false
    };
    for reply in replies {
        if reply.deleted || under_hidden(reply) || web_url(&reply.url).is_none() {
            subjects.remove(&(reply.account.clone(), reply.remote_id.clone()));
        }
    }
    subjects
}

/// Builds the discussion of `post` from its posted threads and collected replies;
/// hidden replies, and replies that answer a hidden one, are left out.
pub fn build(post: &Announcement, posts: &[PostedPost], replies: &[CollectedReply]) -> Discussion {
    let published = published(posts, replies);
    let platform_of: HashMap<&str, PlatformKind> = posts
        .iter()
        .map(|p| (p.account.as_str(), p.platform))
        .collect();

    let mut visible: Vec<(&CollectedReply, Subject)> = replies
        .iter()
        .filter_map(|r| {
            published
                .get(&(r.account.clone(), r.remote_id.clone()))
                .map(|s| (r, *s))
        })
        .collect();
    visible.sort_by(|(a, _), (b, _)| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.remote_id.cmp(&b.remote_id))
    });
    let to_reply = |r: &CollectedReply| Reply {
        author: if r.author_name.trim().is_empty() {
            r.author_handle.clone()
        } else {
            r.author_name.clone()
        },
        handle: r.author_handle.clone(),
        author_url: web_url(&r.author_url).unwrap_or_default(),
        avatar: r.avatar.as_deref().and_then(web_url),
        url: r.url.clone(),
        created_at: r.created_at.clone(),
        edited_at: r.edited_at.clone(),
        text: plain_text(&r.content_html),
        html: safe_html(&r.content_html),
        content_warning: Some(r.spoiler_text.trim().to_owned()).filter(|w| !w.is_empty()),
        platform: platform_of
            .get(r.account.as_str())
            .copied()
            .unwrap_or(PlatformKind::Mastodon),
    };
    let links = |wanted: &dyn Fn(PostRole) -> bool| {
        posts
            .iter()
            .filter(|p| wanted(p.role) && web_url(&p.url).is_some())
            .map(|p| ThreadLink {
                account: p.account.clone(),
                platform: p.platform,
                url: p.url.clone(),
            })
            .fold(Vec::<ThreadLink>::new(), |mut acc, link| {
                // A paper split over two posts links its first one.
                if !acc.iter().any(|l| l.account == link.account) {
                    acc.push(link);
                }
                acc
            })
    };
    // Networks in a fixed order (then accounts by name), however the threads were
    // recorded: the fragment reads the same on every export.
    let ordered = |mut links: Vec<ThreadLink>| {
        links.sort_by_key(|l| {
            let network = PlatformKind::ALL.iter().position(|k| *k == l.platform);
            (network, l.account.clone())
        });
        links
    };
    Discussion {
        post_url: post.url.clone(),
        title: post.title.clone(),
        threads: ordered(links(&|role| role == PostRole::Head)),
        replies: visible
            .iter()
            .filter(|(_, s)| *s == Subject::Post)
            .map(|(r, _)| to_reply(r))
            .collect(),
        papers: post
            .papers
            .iter()
            .map(|paper| PaperDiscussion {
                anchor: paper.anchor.clone(),
                url: paper.url.clone(),
                title: paper.title.clone(),
                threads: ordered(links(&|role| {
                    role == PostRole::Paper {
                        position: paper.position,
                    }
                })),
                replies: visible
                    .iter()
                    .filter(|(_, s)| *s == Subject::Paper(paper.position))
                    .map(|(r, _)| to_reply(r))
                    .collect(),
            })
            .collect(),
    }
}

/// `url` when it is an http(s) URL: servers send author and avatar links that end up
/// in `href` and `src`, where a `javascript:` URL would run on the blog.
pub fn web_url(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}

/// Adds the `http_url` filter: an http(s) URL as it is, anything else (`javascript:`,
/// `data:`, garbage) as `#`, so that an `href` from outside can never run script.
pub fn add_http_url_filter(env: &mut minijinja::Environment<'_>) {
    env.add_filter("http_url", |url: String| {
        web_url(&url).unwrap_or_else(|| "#".to_owned())
    });
}

/// Reply HTML reduced to what is safe to embed on the blog: paragraphs, line breaks
/// and http(s) links that open as `nofollow`; everything else becomes text or goes.
pub fn safe_html(html: &str) -> String {
    ammonia::Builder::empty()
        .add_tags(["p", "br", "a"])
        .add_tag_attributes("a", ["href"])
        .url_schemes(["http", "https"].into_iter().collect())
        // A relative link has no scheme to check: `//evil.example/` would open another
        // host with the blog's scheme, and a path would point into the blog itself.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer ugc"))
        .clean(html)
        .to_string()
}

/// Reply HTML as plain text: paragraphs and breaks become line breaks.
pub fn plain_text(html: &str) -> String {
    let spaced = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n\n");
    let fragment = scraper::Html::parse_fragment(&spaced);
    let text: String = fragment.root_element().text().collect();
    text.lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// The embeddable HTML fragment: "Discuss on Mastodon · Bluesky — N replies" for the
/// post and per paper, each reply labelled with its network.
pub fn render_html(discussion: &Discussion) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    add_http_url_filter(&mut env);
    env.add_template(
        "discussion.html",
        include_str!("../../templates/discussion.html"),
    )?;
    env.get_template("discussion.html")?.render(
        minijinja::context! { d => minijinja::Value::from(minijinja::value::Serde(discussion)) },
    )
}

#[cfg(test)]
mod tests;
