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
    format!("{}\n", table.trim_fmt())
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

pub(crate) fn render_previews(
    announcement: &Announcement,
    previews: &[papercast::publish::Preview],
) -> String {
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
            out.push_str(&format!(
                "-- {}/{} [{what}]\n{}\n",
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
}
