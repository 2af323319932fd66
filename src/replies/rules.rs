//! Decisions about replies that need no I/O: when a thread is read again, which
//! replies auto-hide rules hide, which replies are questions, and the answer's text.

use crate::discuss::plain_text;
use crate::store::ServerStatus;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Auto-hide rules, from `[replies]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub hide_bots: bool,
    /// Lower case.
    pub hide_keywords: Vec<String>,
}

impl Rules {
    pub fn new(hide_bots: bool, keywords: &[String]) -> Self {
        Rules {
            hide_bots,
            hide_keywords: keywords
                .iter()
                .map(|k| k.trim().to_lowercase())
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    /// Why a rule hides `status`, if one does.
    pub fn hides(&self, status: &ServerStatus) -> Option<String> {
        if self.hide_bots && status.author_bot {
            return Some("the author's server marks it as a bot".into());
        }
        if self.hide_keywords.is_empty() {
            return None;
        }
        let text = format!(
            "{}\n{}",
            status.spoiler_text,
            plain_text(&status.content_html)
        )
        .to_lowercase();
        self.hide_keywords
            .iter()
            .find(|keyword| text.contains(keyword.as_str()))
            .map(|keyword| format!("it contains “{keyword}”"))
    }
}

/// Whether a thread's replies are due to be read again: after a quarter of the time
/// since its latest activity (a reply, an edit, or the thread itself), within
/// `[min, max]`. Busy threads are read often, quiet ones rarely.
pub fn due(
    checked_at: Option<DateTime<Utc>>,
    activity_at: Option<DateTime<Utc>>,
    posted_at: DateTime<Utc>,
    now: DateTime<Utc>,
    min: Duration,
    max: Duration,
) -> bool {
    let Some(checked_at) = checked_at else {
        return true;
    };
    let latest = activity_at.map_or(posted_at, |a| a.max(posted_at));
    let quiet = (now - latest).to_std().unwrap_or(Duration::ZERO);
    let interval = (quiet / 4).clamp(min, max);
    (now - checked_at).to_std().unwrap_or(Duration::ZERO) >= interval
}

/// Whether a reply asks something: its own words (mentions and links left out) hold
/// a question mark.
pub fn is_question(html: &str) -> bool {
    plain_text(html)
        .split_whitespace()
        .filter(|word| !word.starts_with('@') && !word.contains("://"))
        .any(|word| word.contains('?') || word.contains('？'))
}

/// The longest paper title quoted in an answer, in characters.
const MAX_TITLE: usize = 120;

/// papercast's answer to a question: the author's handle (so that it notifies them),
/// and the link to the section of the blog post about what they asked about.
pub fn answer_text(handle: &str, title: &str, url: &str) -> String {
    let title = title.trim();
    let title = match title.char_indices().nth(MAX_TITLE) {
        Some((cut, _)) => format!("{}…", title[..cut].trim_end()),
        None => title.to_owned(),
    };
    format!("{handle} Thanks for asking! Our review of “{title}” has more: {url}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(html: &str) -> ServerStatus {
        ServerStatus {
            id: "1".into(),
            in_reply_to: Some("0".into()),
            author_id: "9".into(),
            author_handle: "@ann@social.example".into(),
            author_name: "Ann".into(),
            author_url: "https://social.example/@ann".into(),
            author_avatar: None,
            author_bot: false,
            url: "https://social.example/@ann/1".into(),
            visibility: "public".into(),
            created_at: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            edited_at: None,
            content_html: html.into(),
            spoiler_text: String::new(),
        }
    }

    #[test]
    fn rules_hide_bots_and_keywords_in_any_case() {
        let rules = Rules::new(true, &["Crypto Giveaway".into(), " ".into()]);
        assert_eq!(rules.hide_keywords, ["crypto giveaway"]);
        assert_eq!(rules.hides(&status("<p>Nice paper</p>")), None);
        let spam = status("<p>Free CRYPTO <b>giveaway</b>!</p>");
        assert!(
            rules
                .hides(&spam)
                .is_some_and(|r| r.contains("crypto giveaway")),
            "markup does not hide a keyword"
        );
        assert_eq!(rules.hides(&status("<p>crypto-giveaway</p>")), None);
        let mut warned = status("<p>hidden text</p>");
        warned.spoiler_text = "CRYPTO GIVEAWAY".into();
        assert!(rules.hides(&warned).is_some(), "content warnings count");
        let mut bot = status("<p>beep</p>");
        bot.author_bot = true;
        assert!(rules.hides(&bot).is_some());
        assert_eq!(Rules::new(false, &[]).hides(&bot), None);
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).expect("time")
    }

    #[test]
    fn busy_threads_are_read_often_and_quiet_ones_rarely() {
        let min = Duration::from_secs(5 * 60);
        let max = Duration::from_secs(24 * 3600);
        assert!(due(None, None, at(0), at(0), min, max), "never read");
        // Posted 40 min ago, read 6 min ago: a quarter of 40 is 10 > 6.
        assert!(!due(Some(at(34)), None, at(0), at(40), min, max));
        assert!(due(Some(at(29)), None, at(0), at(40), min, max));
        // A reply 8 minutes ago: the floor of 5 minutes applies.
        assert!(due(Some(at(994)), Some(at(992)), at(0), at(1000), min, max));
        assert!(!due(
            Some(at(997)),
            Some(at(992)),
            at(0),
            at(1000),
            min,
            max
        ));
        // Quiet for 30 days: once a day at most.
        let month = 30 * 24 * 60;
        assert!(!due(
            Some(at(month - 23 * 60)),
            None,
            at(0),
            at(month),
            min,
            max
        ));
        assert!(due(
            Some(at(month - 24 * 60)),
            None,
            at(0),
            at(month),
            min,
            max
        ));
    }

    #[test]
    fn questions_are_recognised_by_their_own_words() {
        assert!(is_question("<p>@bot how does this scale?</p>"));
        assert!(is_question("<p>Does it work for <b>MoE</b> ?</p>"));
        assert!(!is_question("<p>Great paper!</p>"));
        assert!(!is_question(
            r#"<p>see <a href="https://x.example/?q=1">https://x.example/?q=1</a></p>"#
        ));
        assert!(!is_question("<p>@what?ever nice</p>"));
    }

    #[test]
    fn answers_name_the_author_and_link_the_section() {
        let text = answer_text(
            "@ann@social.example",
            "FlowRL",
            "https://blog.example/p/#flowrl",
        );
        assert_eq!(
            text,
            "@ann@social.example Thanks for asking! Our review of “FlowRL” has more: \
             https://blog.example/p/#flowrl"
        );
        let long = answer_text("@a", &"x".repeat(500), "https://b.example/");
        assert!(long.chars().count() < 220, "{long}");
        assert!(long.contains("x…”"), "{long}");
    }
}
