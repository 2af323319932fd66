//! Reading Bluesky posts as papercast's statuses (pure): the AppView's thread, post and
//! notification views into [`ServerStatus`], and a post's text with its facets into the
//! HTML a discussion shows.
//!
//! A Bluesky post has no HTML, no visibility and no edits: its text and facets are the
//! whole content, every post is public, and a changed post is a deleted one. A quote
//! post of a thread post answers it, like a reply: for a discussion it is one.

use crate::model::{Engagement, ServerStatus};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// A post as the AppView shows it (`app.bsky.feed.defs#postView`): what papercast reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostView {
    pub uri: String,
    #[serde(default)]
    pub author: Profile,
    #[serde(default)]
    pub record: Value,
    pub reply_count: Option<u64>,
    pub repost_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile {
    #[serde(default)]
    pub did: String,
    #[serde(default)]
    pub handle: String,
    pub display_name: Option<String>,
    pub avatar: Option<String>,
    #[serde(default)]
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Label {
    #[serde(default)]
    pub val: String,
}

/// A notification (`app.bsky.notification.listNotifications`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Notification {
    pub uri: String,
    #[serde(default)]
    pub author: Profile,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub record: Value,
    #[serde(default)]
    pub indexed_at: String,
}

/// The reasons of the notifications that may carry a reply to a thread post.
pub(super) const ANSWER_REASONS: [&str; 3] = ["reply", "mention", "quote"];

impl Notification {
    pub fn status(&self) -> Option<ServerStatus> {
        status_of(&self.uri, &self.author, &self.record)
    }
}

impl PostView {
    pub fn status(&self) -> Option<ServerStatus> {
        status_of(&self.uri, &self.author, &self.record)
    }

    /// Bluesky's four counts; one the AppView leaves out is unknown, not 0.
    pub fn engagement(&self) -> Engagement {
        Engagement {
            replies: self.reply_count,
            reposts: self.repost_count,
            likes: self.like_count,
            quotes: self.quote_count,
        }
    }
}

/// Every post under a thread view, at any depth (the post itself left out), and the
/// post itself first when `with_root`.
pub(super) fn flatten(thread: &Value, with_root: bool) -> Vec<PostView> {
    let mut found = Vec::new();
    let mut stack: Vec<(&Value, bool)> = vec![(thread, with_root)];
    while let Some((node, keep)) = stack.pop() {
        // Deleted and blocked posts stand in the tree as `notFoundPost`/`blockedPost`
        // without a `post`: the replies under them are gone from the view too.
        let Some(post) = node.get("post") else {
            continue;
        };
        if keep {
            if let Ok(view) = serde_json::from_value::<PostView>(post.clone()) {
                found.push(view);
            }
        }
        if let Some(replies) = node.get("replies").and_then(Value::as_array) {
            stack.extend(replies.iter().rev().map(|r| (r, true)));
        }
    }
    found
}

/// The status of a post record by `author` at `uri`; `None` when the record is not a
/// post papercast can read (no time, or not a post at all).
fn status_of(uri: &str, author: &Profile, record: &Value) -> Option<ServerStatus> {
    let rkey = rkey_of(uri)?;
    let created_at = time(record.get("createdAt")?.as_str()?)?;
    let text = record.get("text").and_then(Value::as_str).unwrap_or("");
    let facets = record.get("facets").and_then(Value::as_array);
    let parent = record
        .pointer("/reply/parent/uri")
        .and_then(Value::as_str)
        .or_else(|| quoted(record));
    let profile = format!("https://bsky.app/profile/{}", profile_key(author));
    Some(ServerStatus {
        id: uri.to_owned(),
        in_reply_to: parent.map(str::to_owned),
        author_id: author.did.clone(),
        author_handle: format!("@{}", author.handle),
        author_name: author.display_name.clone().unwrap_or_default(),
        author_url: profile.clone(),
        author_avatar: author.avatar.clone().filter(|a| !a.trim().is_empty()),
        author_bot: author.labels.iter().any(|l| l.val == "bot"),
        url: format!("{profile}/post/{rkey}"),
        visibility: "public".into(),
        created_at,
        edited_at: None,
        content_html: text_html(text, facets.map(Vec::as_slice).unwrap_or(&[])),
        spoiler_text: self_labels(record).join(", "),
    })
}

/// The handle in a profile link, or the DID when the handle is not a valid one.
fn profile_key(author: &Profile) -> &str {
    if author.handle.is_empty() || author.handle == "handle.invalid" {
        &author.did
    } else {
        &author.handle
    }
}

/// The URI of the post a record quotes (`app.bsky.embed.record`, or with media).
fn quoted(record: &Value) -> Option<&str> {
    let embed = record.get("embed")?;
    let uri = match embed.get("$type").and_then(Value::as_str)? {
        "app.bsky.embed.record" => embed.pointer("/record/uri"),
        "app.bsky.embed.recordWithMedia" => embed.pointer("/record/record/uri"),
        _ => None,
    }?;
    uri.as_str().filter(|u| u.contains("/app.bsky.feed.post/"))
}

/// The author's own content labels on a post (`nudity`, `graphic-media`, …): the
/// discussion shows them as a content warning before the text.
fn self_labels(record: &Value) -> Vec<String> {
    record
        .pointer("/labels/values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("val")?.as_str())
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn rkey_of(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let (_, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
    (collection == "app.bsky.feed.post" && !rkey.is_empty()).then_some(rkey)
}

pub(super) fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A post's text as HTML: escaped, its link facets as links and its mentions as links
/// to the profile, blank lines as paragraphs and line breaks as `<br>`. Facets count
/// UTF-8 bytes; one that does not fall on character boundaries, or overlaps the one
/// before, is left as plain text.
pub(super) fn text_html(text: &str, facets: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = facets
        .iter()
        .filter_map(|facet| {
            let start = usize::try_from(facet.pointer("/index/byteStart")?.as_u64()?).ok()?;
            let end = usize::try_from(facet.pointer("/index/byteEnd")?.as_u64()?).ok()?;
            let features = facet.get("features")?.as_array()?;
            let href = features
                .iter()
                .find_map(|f| match f.get("$type")?.as_str()? {
                    "app.bsky.richtext.facet#link" => f.get("uri")?.as_str().map(str::to_owned),
                    "app.bsky.richtext.facet#mention" => f
                        .get("did")?
                        .as_str()
                        .map(|did| format!("https://bsky.app/profile/{did}")),
                    "app.bsky.richtext.facet#tag" => f.get("tag")?.as_str().map(|tag| {
                        format!(
                            "https://bsky.app/hashtag/{}",
                            url::form_urlencoded::byte_serialize(tag.as_bytes())
                                .collect::<String>()
                        )
                    }),
                    _ => None,
                })?;
            (start < end
                && end <= text.len()
                && text.is_char_boundary(start)
                && text.is_char_boundary(end))
            .then_some((start, end, href))
        })
        .collect();
    spans.sort_by_key(|(start, _, _)| *start);
    let mut inline = String::new();
    let mut at = 0;
    for (start, end, href) in spans {
        if start < at {
            continue;
        }
        inline.push_str(&escape(&text[at..start]));
        inline.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            escape(&href),
            escape(&text[start..end])
        ));
        at = end;
    }
    inline.push_str(&escape(&text[at..]));
    // Escaping keeps line breaks as they are, so paragraphs can be cut after it.
    let inline = inline.replace("\r\n", "\n");
    inline
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect()
}

/// Text as HTML text (and attribute values in double quotes).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile() -> Value {
        json!({"did": "did:plc:alice", "handle": "alice.test", "displayName": "Alice",
               "avatar": "https://cdn.example/a.jpg"})
    }

    #[test]
    fn a_reply_view_becomes_a_public_status_with_its_parent_and_links() {
        let view: PostView = serde_json::from_value(json!({
            "uri": "at://did:plc:alice/app.bsky.feed.post/3kreply",
            "cid": "bafy",
            "author": profile(),
            "record": {
                "$type": "app.bsky.feed.post",
                "text": "Does FlowRL need a reward model?",
                "createdAt": "2026-11-30T10:00:00.000Z",
                "reply": {
                    "root": {"uri": "at://did:plc:bot/app.bsky.feed.post/head", "cid": "x"},
                    "parent": {"uri": "at://did:plc:bot/app.bsky.feed.post/paper", "cid": "y"}
                }
            },
            "replyCount": 2, "repostCount": 0, "likeCount": 5,
            "indexedAt": "2026-11-30T10:00:01.000Z"
        }))
        .expect("a post view");
        let status = view.status().expect("a status");
        assert_eq!(
            status.in_reply_to.as_deref(),
            Some("at://did:plc:bot/app.bsky.feed.post/paper")
        );
        assert_eq!(
            status.url,
            "https://bsky.app/profile/alice.test/post/3kreply"
        );
        assert_eq!(status.author_handle, "@alice.test");
        assert_eq!(status.author_name, "Alice");
        assert!(status.is_public());
        assert_eq!(
            status.content_html,
            "<p>Does FlowRL need a reward model?</p>"
        );
        // The quote count is missing from the view: unknown, not zero.
        assert_eq!(
            view.engagement(),
            Engagement {
                replies: Some(2),
                reposts: Some(0),
                likes: Some(5),
                quotes: None
            }
        );
    }

    #[test]
    fn a_quote_answers_the_post_it_quotes() {
        let record = json!({
            "text": "Worth reading",
            "createdAt": "2026-11-30T10:00:00Z",
            "embed": {"$type": "app.bsky.embed.recordWithMedia",
                      "record": {"record": {"uri": "at://did:plc:bot/app.bsky.feed.post/paper", "cid": "c"}},
                      "media": {}}
        });
        let profile: Profile = serde_json::from_value(profile()).expect("profile");
        let status = status_of("at://did:plc:alice/app.bsky.feed.post/q", &profile, &record)
            .expect("status");
        assert_eq!(
            status.in_reply_to.as_deref(),
            Some("at://did:plc:bot/app.bsky.feed.post/paper")
        );
        // A record that is not a post, or has no time, is no status.
        assert!(status_of("at://did:plc:alice/app.bsky.feed.like/q", &profile, &record).is_none());
        assert!(status_of(
            "at://did:plc:alice/app.bsky.feed.post/q",
            &profile,
            &json!({"text": "x"})
        )
        .is_none());
    }

    #[test]
    fn text_is_escaped_and_facets_become_links_on_byte_offsets() {
        let text = "Über <b>this</b> — see arxiv.org/abs/1 @bob.test\n\nsecond\nline";
        let link_start = text.find("arxiv").expect("link");
        let link_end = link_start + "arxiv.org/abs/1".len();
        let at = text.find("@bob").expect("mention");
        let facets = [
            json!({"index": {"byteStart": link_start, "byteEnd": link_end},
                   "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://arxiv.org/abs/1"}]}),
            json!({"index": {"byteStart": at, "byteEnd": at + 9},
                   "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}]}),
            // Inside a multi-byte character: ignored.
            json!({"index": {"byteStart": 1, "byteEnd": 3},
                   "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://evil.example/"}]}),
        ];
        let html = text_html(text, &facets);
        assert_eq!(
            html,
            "<p>Über &lt;b&gt;this&lt;/b&gt; — see <a href=\"https://arxiv.org/abs/1\">arxiv.org/abs/1</a> \
             <a href=\"https://bsky.app/profile/did:plc:bob\">@bob.test</a></p><p>second<br>line</p>"
        );
        // A sanitiser keeps the links and finds no tag in the text.
        let cleaned = ammonia::clean(&html);
        assert!(
            cleaned.contains("href=\"https://arxiv.org/abs/1\""),
            "{cleaned}"
        );
        assert!(!cleaned.contains("<b>"), "{cleaned}");
    }

    #[test]
    fn a_thread_flattens_to_every_post_under_it_and_skips_gone_ones() {
        let post = |uri: &str| {
            json!({"uri": uri, "author": profile(),
                   "record": {"text": uri, "createdAt": "2026-11-30T10:00:00Z"}})
        };
        let thread = json!({
            "post": post("at://a/app.bsky.feed.post/head"),
            "replies": [
                {"post": post("at://a/app.bsky.feed.post/one"),
                 "replies": [{"post": post("at://a/app.bsky.feed.post/two")}]},
                {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://a/app.bsky.feed.post/gone", "notFound": true},
                {"post": post("at://a/app.bsky.feed.post/three")}
            ]
        });
        let uris: Vec<String> = flatten(&thread, false).into_iter().map(|v| v.uri).collect();
        assert_eq!(
            uris,
            [
                "at://a/app.bsky.feed.post/one",
                "at://a/app.bsky.feed.post/two",
                "at://a/app.bsky.feed.post/three"
            ]
        );
        assert_eq!(flatten(&thread, true).len(), 4);
    }
}
