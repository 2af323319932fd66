//! Recent search (`GET /2/tweets/search/recent`): the part of X's query syntax the
//! test server answers.

use super::state::{invalid_request, mentions, Answer, Request, State, XPost, SEARCH_WINDOW};
use chrono::Utc;

impl State {
    pub(super) fn search(&mut self, request: &Request) -> Answer {
        let Some(query) = request.param("query").filter(|q| !q.trim().is_empty()) else {
            return invalid_request("query", "The `query` query parameter can not be empty");
        };
        let terms = match parse_query(query) {
            Ok(terms) => terms,
            Err(message) => return invalid_request("query", &message),
        };
        let now = Utc::now();
        let lag = self.search_lag;
        let posts: Vec<usize> = (0..self.posts.len())
            .filter(|&i| {
                let p = &self.posts[i];
                let age = (now - p.created_at).to_std().unwrap_or_default();
                !p.deleted
                    && age < SEARCH_WINDOW
                    && age >= lag
                    && terms.iter().all(|t| self.matches(p, t))
            })
            .collect();
        let page = if request.param("pagination_token").is_some() {
            "pagination_token"
        } else {
            "next_token"
        };
        self.post_list(request, posts, page, (10, 100, 10))
    }

    fn matches(&self, post: &XPost, term: &Term) -> bool {
        let name_is = |id: &str, name: &str| {
            self.user_index(id).is_some_and(|u| {
                self.users[u].username.eq_ignore_ascii_case(name) || self.users[u].id == name
            })
        };
        let yes = match &term.kind {
            TermKind::Conversation(id) => &post.conversation_id == id,
            TermKind::From(name) => name_is(&post.author_id, name),
            TermKind::To(name) => post
                .in_reply_to_user_id
                .as_deref()
                .is_some_and(|id| name_is(id, name)),
            TermKind::IsReply => post.in_reply_to.is_some(),
            TermKind::IsQuote => post.quoted.is_some(),
            // There are no reposts as posts here.
            TermKind::IsRetweet => false,
            TermKind::Mention(handle) => mentions(&post.text, handle),
            TermKind::Word(word) => post.text.to_lowercase().contains(word),
        };
        yes != term.negated
    }
}

enum TermKind {
    Conversation(String),
    From(String),
    To(String),
    IsReply,
    IsQuote,
    IsRetweet,
    Mention(String),
    Word(String),
}

struct Term {
    kind: TermKind,
    negated: bool,
}

/// The part of X's search syntax this server answers: terms joined by AND
/// (`conversation_id:`, `from:`, `to:`, `is:reply`, `is:quote`, `is:retweet`, `@name`,
/// words), each may be negated with `-`. Anything else is refused, so that a query
/// the server would answer wrongly fails loudly.
fn parse_query(query: &str) -> Result<Vec<Term>, String> {
    query
        .split_whitespace()
        .map(|raw| {
            let (negated, term) = match raw.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            if term.contains(['(', ')', '"']) || term == "OR" {
                return Err(format!(
                    "This test server answers only terms joined by AND; not `{raw}`."
                ));
            }
            let kind = if let Some(id) = term.strip_prefix("conversation_id:") {
                TermKind::Conversation(id.to_owned())
            } else if let Some(name) = term.strip_prefix("from:") {
                TermKind::From(name.to_owned())
            } else if let Some(name) = term.strip_prefix("to:") {
                TermKind::To(name.to_owned())
            } else if term == "is:reply" {
                TermKind::IsReply
            } else if term == "is:quote" {
                TermKind::IsQuote
            } else if term == "is:retweet" {
                TermKind::IsRetweet
            } else if term.starts_with('@') {
                TermKind::Mention(term.to_lowercase())
            } else if term.contains(':') {
                return Err(format!(
                    "This test server does not know the operator in `{raw}`."
                ));
            } else {
                TermKind::Word(term.to_lowercase())
            };
            Ok(Term { kind, negated })
        })
        .collect()
}
