//! The text renderers of the command line's output (JSON goes through `print_json`).

use super::time_text;
use papercast::queue;
use papercast::Announcement;

pub(crate) fn render_queue(drafts: &[queue::DraftSummary]) -> String {
    use comfy_table::{presets, CellAlignment, Table};
    if drafts.is_empty() {
        return "no drafts\n".into();
    }
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header([
        "ID",
        "STATE",
        "ACCOUNT",
        "POSTS",
        "SCHEDULED",
        "POST",
    ]);
    for d in drafts {
        let posts = if d.sent > 0 && d.sent < d.post_count {
            format!("{}/{}", d.sent, d.post_count)
        } else {
            d.post_count.to_string()
        };
        table.add_row([
            d.id.to_string(),
            d.state.as_str().to_owned(),
            d.account.clone(),
            posts,
            time_text(d.scheduled_at),
            format!("{} <{}>", d.post_title, d.post_url),
        ]);
    }
    for column in [0, 3] {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = format!("{}\n", table.trim_fmt());
    // A failed draft says why under the table, so it does not pass for an approved one.
    for d in drafts {
        if let Some(error) = &d.last_error {
            out.push_str(&format!("draft {} failed: {error}\n", d.id));
        }
    }
    out
}

pub(crate) fn render_draft(detail: &queue::DraftDetail) -> String {
    let s = &detail.summary;
    let mut out = format!(
        "draft {}: {} — account `{}` ({}), {} posts, up to {} characters each\n{} <{}>\n",
        s.id,
        s.state,
        s.account,
        s.platform,
        s.post_count,
        detail.rules.max,
        s.post_title,
        s.post_url
    );
    if let Some(at) = s.scheduled_at {
        out.push_str(&format!("scheduled for {}\n", time_text(Some(at))));
    }
    if let Some(reason) = &s.reason {
        out.push_str(&format!("rejected: {reason}\n"));
    }
    if let Some(error) = &s.last_error {
        out.push_str(&format!("last error: {error}\n"));
    }
    if let Some(link) = &s.link {
        out.push_str(&format!("on the server: {link}\n"));
    }
    let allowed: Vec<&str> = detail.allowed.iter().map(|a| a.as_str()).collect();
    out.push_str(&format!(
        "can be: {}\n",
        if allowed.is_empty() {
            "nothing (as it stands)".to_owned()
        } else {
            allowed.join(", ")
        }
    ));
    for post in &detail.posts {
        out.push_str(&format!(
            "\n-- {}/{} [{}/{}{}] {}\n{}\n",
            post.index + 1,
            detail.posts.len(),
            post.length,
            post.limit,
            if post.fits { "" } else { " TOO LONG" },
            post.state,
            post.text
        ));
        for image in &post.images {
            out.push_str(&format!("   [image: {} | alt: {}]\n", image.url, image.alt));
        }
    }
    out.push_str("\nhistory:\n");
    for entry in &detail.audit {
        out.push_str(&format!(
            "  {}  {}: {}{}\n",
            entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
            entry.actor,
            entry.action,
            if entry.details.is_empty() {
                String::new()
            } else {
                format!(" ({})", entry.details)
            }
        ));
    }
    out
}

/// A composed thread as `papercast preview` prints it: posts and papers counted from 1,
/// as the posts themselves count ("1/4").
pub(crate) fn render_thread(thread: &papercast::compose::Thread) -> String {
    use papercast::compose::PostRole;
    let mut out = format!("{} ({} posts)\n", thread.platform, thread.posts.len());
    for (i, post) in thread.posts.iter().enumerate() {
        let role = match post.role {
            PostRole::Head => "head".to_owned(),
            PostRole::Paper { position } => format!("paper {}", position + 1),
            PostRole::Closing => "closing".to_owned(),
        };
        out.push_str(&format!(
            "\n--- {}/{} {role} [{}/{}]\n{}\n",
            i + 1,
            thread.posts.len(),
            post.length,
            post.limit,
            post.text
        ));
        for link in post.links.iter().filter(|l| l.text != l.url) {
            out.push_str(&format!("[link \"{}\" -> {}]\n", link.text, link.url));
        }
        for image in &post.images {
            out.push_str(&format!("[image {} | alt: {}]\n", image.url, image.alt));
        }
    }
    out
}

/// `announce --dry-run`: each account's thread with what would happen to each post and
/// its length against the limit (`kind_of` gives an account's network).
pub(crate) fn render_previews(
    announcement: &Announcement,
    previews: &[papercast::publish::Preview],
    kind_of: impl Fn(&str) -> Option<papercast::model::PlatformKind>,
) -> String {
    use papercast::platform::ServerLimits;
    use papercast::publish::plan::Step;
    let mut out = format!(
        "dry run: nothing is posted or recorded\n{}\n",
        announcement.url
    );
    for preview in previews {
        out.push_str(&format!("\n== {}", preview.account));
        match &preview.limits {
            Ok(limits) => out.push_str(&format!(
                " (server limit {} characters, URLs count {})\n",
                limits.max_characters, limits.characters_reserved_per_url
            )),
            Err(error) => out.push_str(&format!(
                " (server limits unknown: {error}; using Mastodon's defaults)\n"
            )),
        }
        let (posts, plan) = match &preview.thread {
            Ok(thread) => thread,
            Err(error) => {
                out.push_str(&format!("   cannot plan: {error}\n"));
                continue;
            }
        };
        let rules = kind_of(&preview.account).map(|kind| {
            preview
                .limits
                .as_ref()
                .map_or_else(|_| ServerLimits::mastodon_defaults(), Clone::clone)
                .length_rules_for(kind)
        });
        for (post, step) in posts.iter().zip(&plan.steps) {
            let what = match step {
                Step::Keep { remote, .. } => {
                    format!(
                        "already posted: {}",
                        remote.url.as_deref().unwrap_or(&remote.id)
                    )
                }
                Step::Check { .. } => "sent before, fate unknown: would look it up first".into(),
                Step::Send { .. } => "would post".into(),
            };
            let length = rules
                .as_ref()
                .map(|rules| {
                    let length = rules.count(&post.text);
                    let over = if length > rules.max { " TOO LONG" } else { "" };
                    format!(" [{length}/{}{over}]", rules.max)
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "-- {}/{}{length} [{what}]\n{}\n",
                post.index + 1,
                posts.len(),
                post.text
            ));
            for image in &post.images {
                out.push_str(&format!("   [image: {} | alt: {}]\n", image.url, image.alt));
            }
        }
    }
    out
}

pub(crate) fn render_announcement(a: &Announcement) -> String {
    let mut out = format!("{}\n{}  {}\n", a.title, a.date, a.url);
    if !a.tags.is_empty() {
        out.push_str(&format!("tags: {}\n", a.tags.join(", ")));
    }
    for paper in &a.papers {
        out.push_str(&format!("\n{}. {}\n", paper.position + 1, paper.title));
        out.push_str(&format!("   {} ({})\n", paper.authors, paper.orgs));
        out.push_str(&format!(
            "   paper: {}\n   review: {}\n",
            paper.link, paper.url
        ));
        out.push_str(&format!("   summary: {}\n", paper.summary()));
        if let Some(figure) = &paper.figure {
            out.push_str(&format!(
                "   figure: {} [alt: {}]\n",
                figure.url, figure.alt
            ));
        }
    }
    out
}

pub(crate) fn render_reply_list(posts: &[papercast::replies::discussions::ListedPost]) -> String {
    let mut out = String::new();
    for post in posts {
        out.push_str(&format!(
            "== {} ({} replies)\n   {}\n",
            post.title,
            post.replies.len(),
            post.post_url
        ));
        for reply in &post.replies {
            let mut state = reply.state.as_str().to_owned();
            if let Some(by) = &reply.hidden_by {
                state.push_str(&format!(" by {by}"));
                if let Some(reason) = &reply.hidden_reason {
                    state.push_str(&format!(": {reason}"));
                }
            } else if reply.author_hidden {
                state.push_str(" (author hidden)");
            }
            let text: String = reply.text.replace('\n', " ").chars().take(200).collect();
            out.push_str(&format!(
                "  {:>5} [{state}] {} | {} ({}){} {}{}\n        {}\n        {text}\n",
                reply.id,
                reply.about,
                reply.author,
                reply.handle,
                if reply.bot { " [bot]" } else { "" },
                reply.created_at,
                reply
                    .edited_at
                    .as_ref()
                    .map(|t| format!(" (edited {t})"))
                    .unwrap_or_default(),
                reply.url,
            ));
        }
    }
    if posts.is_empty() {
        out.push_str("no announced posts yet\n");
    }
    out
}

/// `papercast report` as text: per post, a table of each subject's counts per network
/// and in total.
pub(crate) fn render_report(reports: &[papercast::replies::report::PostReport]) -> String {
    use comfy_table::{presets, CellAlignment, Table};
    if reports.is_empty() {
        return "no announced posts\n".into();
    }
    let mut out = String::new();
    for report in reports {
        out.push_str(&format!(
            "{} <{}>\nposted {}; {} repl{} in the discussion\n",
            report.title,
            report.post_url,
            &report.posted_at[..report.posted_at.len().min(10)],
            report.discussion_replies,
            if report.discussion_replies == 1 {
                "y"
            } else {
                "ies"
            }
        ));
        let mut table = Table::new();
        table.load_style(presets::NOTHING).set_header([
            "ABOUT", "NETWORK", "ACCOUNT", "REPLIES", "REPOSTS", "LIKES", "QUOTES", "TOTAL",
        ]);
        let mut add = |about: &str,
                       network: &str,
                       account: &str,
                       counts: &papercast::replies::report::Counts| {
            let mut row = vec![about.to_owned(), network.to_owned(), account.to_owned()];
            row.extend(counts.cells());
            table.add_row(row);
        };
        for subject in &report.subjects {
            for n in &subject.networks {
                add(&subject.about, n.platform.as_str(), &n.account, &n.counts);
            }
            add(&subject.about, "all", "", &subject.total);
        }
        for n in &report.networks {
            add("all", n.platform.as_str(), &n.account, &n.counts);
        }
        add("all", "all", "", &report.total);
        for column in 3..8 {
            if let Some(column) = table.column_mut(column) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        out.push_str(&table.to_string());
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use papercast::model::PlatformKind;
    use papercast::queue::{DraftState, DraftSummary};

    fn draft(id: i64, account: &str, sent: usize) -> DraftSummary {
        let now = chrono::Utc::now();
        DraftSummary {
            id,
            announcement_id: 1,
            post_url: "https://blog.example/p/".into(),
            post_title: "Papers of the Month".into(),
            account: account.into(),
            platform: PlatformKind::Mastodon,
            state: DraftState::Pending,
            scheduled_at: None,
            post_count: 5,
            sent,
            origin: "announce".into(),
            decided_by: None,
            decided_at: None,
            reason: None,
            last_error: None,
            next_attempt_at: None,
            link: None,
            edits: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn the_queue_is_a_table_with_one_line_per_draft_in_aligned_columns() {
        let text = render_queue(&[draft(7, "gc", 0), draft(12, "gc-bluesky-long", 2)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].trim_start().starts_with("ID"), "{text}");
        assert!(lines[1].contains("pending") && lines[1].contains("<https://blog.example/p/>"));
        assert!(
            lines[2].contains("2/5"),
            "a partly sent draft says how far: {text}"
        );
        let column = |line: &str, word: &str| line.find(word).expect(word);
        assert_eq!(column(lines[1], "gc "), column(lines[2], "gc-bluesky-long"));
        assert_eq!(render_queue(&[]), "no drafts\n");
    }

    #[test]
    fn a_failed_draft_says_why_under_the_queue() {
        let mut failed = draft(3, "gc", 0);
        failed.state = DraftState::Failed;
        failed.last_error = Some("account `gc`: no token".into());
        let text = render_queue(&[failed, draft(4, "gc", 0)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].contains("failed"), "{text}");
        assert_eq!(lines[3], "draft 3 failed: account `gc`: no token");
    }
}
