//! `papercast queue`: list, show, approve, schedule, reject, edit and re-extract drafts.

use super::args::{Format, QueueArgs, QueueCommand};
use super::post::print_reports;
use super::render::{render_draft, render_queue};
use super::{actor_name, open_app, print_json, time_text, Failure, EXIT_ACCOUNT_FAILED};
use anyhow::Context;
use papercast::app::{App, Posting};
use papercast::config::Config;
use papercast::queue;
use papercast::store::Store;

pub(crate) async fn queue_command(config: Config, args: QueueArgs) -> Result<(), Failure> {
    let actor = actor_name(args.actor.as_deref());
    if let Some(why) = super::no_store_yet(&config) {
        match args.command {
            QueueCommand::List {
                format: Format::Json,
                ..
            } => return Ok(print_json(&Vec::<queue::DraftSummary>::new())?),
            QueueCommand::List { .. } => {
                println!("no drafts ({why})");
                return Ok(());
            }
            QueueCommand::Show { id, .. } => {
                return Err(anyhow::anyhow!("there is no draft {id}: {why}").into())
            }
            _ => {}
        }
    }
    let app = open_app(config)?;
    let store = app.store.as_ref();
    let now = chrono::Utc::now;
    let queue_error = |e: queue::QueueError| Failure::from(anyhow::Error::from(e));
    match args.command {
        QueueCommand::List { state, format } => {
            let mut drafts = queue::list(store).map_err(queue_error)?;
            if let Some(state) = state {
                drafts.retain(|d| d.state == state.state());
            }
            match format {
                Format::Json => print_json(&drafts)?,
                Format::Text => print!("{}", render_queue(&drafts)),
            }
        }
        QueueCommand::Show { id, format } => {
            let detail = queue::show(store, id).map_err(queue_error)?;
            match format {
                Format::Json => print_json(&detail)?,
                Format::Text => print!("{}", render_draft(&detail)),
            }
        }
        QueueCommand::Approve { id, at: Some(at) } | QueueCommand::Schedule { id, at } => {
            let at = queue::state::parse_time(&at, now()).map_err(|e| anyhow::anyhow!(e))?;
            let draft = queue::approve(store, &queue::Request::new(id, &actor), Some(at))
                .map_err(queue_error)?;
            println!(
                "draft {id}: scheduled for {}; `papercast run` posts it then",
                time_text(draft.scheduled_at)
            );
        }
        QueueCommand::Approve { id, at: None } => approve_now(&app, id, &actor).await?,
        QueueCommand::Reject { id, reason } => {
            let draft = queue::reject(store, &queue::Request::new(id, &actor), reason.as_deref())
                .map_err(queue_error)?;
            println!(
                "draft {id}: rejected{}; nothing is posted",
                draft
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
        QueueCommand::Edit { id } => edit_draft(store, id, &actor)?,
        QueueCommand::Reextract { id } => reextract(&app, id, &actor).await?,
    }
    Ok(())
}

/// Approves a draft and posts it at once.
async fn approve_now(app: &App, id: i64, actor: &str) -> Result<(), Failure> {
    let store = app.store.as_ref();
    let queue_error = |e: queue::QueueError| Failure::from(anyhow::Error::from(e));
    let draft =
        queue::approve(store, &queue::Request::new(id, actor), None).map_err(queue_error)?;
    println!("draft {id}: approved; posting it to `{}`", draft.account);
    match app
        .post_draft(id, actor)
        .await
        .map_err(anyhow::Error::from)?
    {
        Posting::Ran(report) => {
            if print_reports(&[report]) > 0 {
                return Err(Failure {
                    code: EXIT_ACCOUNT_FAILED,
                    error: anyhow::anyhow!(
                        "draft {id} failed; `papercast queue approve {id}` tries again"
                    ),
                });
            }
        }
        Posting::Busy { owner } => {
            println!("draft {id}: another papercast ({owner}) is posting it now")
        }
        Posting::Interrupted { sent, posts } => {
            println!("draft {id}: stopped with {sent} of {posts} posts sent; the rest follows")
        }
    }
    Ok(())
}

/// Reads a draft's blog post again and composes the draft afresh if it changed.
async fn reextract(app: &App, id: i64, actor: &str) -> Result<(), Failure> {
    let store = app.store.as_ref();
    let queue_error = |e: queue::QueueError| Failure::from(anyhow::Error::from(e));
    let draft = queue::show(store, id).map_err(queue_error)?;
    let fresh = app
        .read_post(&draft.summary.post_url)
        .await
        .map_err(anyhow::Error::from)?;
    let result = queue::reextract(
        store,
        &queue::Request::new(id, actor),
        &fresh,
        &app.templates,
        &app.compose_options(),
    )
    .map_err(queue_error)?;
    match result {
        queue::Reextracted::Unchanged => {
            println!("draft {id}: the post is unchanged; the draft is left as it is")
        }
        queue::Reextracted::Changed(detail) => println!(
            "draft {id}: the post changed; the thread was composed again ({} posts)",
            detail.posts.len()
        ),
    }
    Ok(())
}

/// Opens the draft's posts in the user's editor and applies the result.
pub(crate) fn edit_draft(store: &dyn Store, id: i64, actor: &str) -> Result<(), Failure> {
    let detail = queue::show(store, id).map_err(anyhow::Error::from)?;
    // An edit that changes nothing says whether an edit is allowed, before the editor.
    queue::edit(store, &queue::Request::new(id, actor), &[]).map_err(anyhow::Error::from)?;
    let path =
        std::env::temp_dir().join(format!("papercast-draft-{id}-{}.txt", std::process::id()));
    std::fs::write(&path, queue::edit_document(&detail))
        .with_context(|| format!("writing {}", path.display()))?;
    let editor = std::env::var("VISUAL")
        .ok()
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    // Through the shell, so that an editor with arguments ("code --wait") works.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("papercast")
        .arg(&path)
        .status()
        .with_context(|| format!("starting the editor `{editor}` (set $EDITOR)"))?;
    if !status.success() {
        return Err(anyhow::anyhow!(
            "the editor `{editor}` failed ({status}); nothing was changed (your text is in {})",
            path.display()
        )
        .into());
    }
    let document = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} back", path.display()))?;
    // Refused if someone else changed the draft while it was in the editor.
    let request = queue::Request::new(id, actor).seen(detail.summary.version);
    match queue::edit_from_document(store, &request, &document) {
        Ok(queue::Edited::Unchanged) => {
            let _ = std::fs::remove_file(&path);
            println!("draft {id}: no post changed");
        }
        Ok(queue::Edited::Changed { posts, detail }) => {
            let _ = std::fs::remove_file(&path);
            for index in &posts {
                let post = &detail.posts[*index];
                println!(
                    "draft {id}: post {}/{} changed ({}/{})",
                    index + 1,
                    detail.posts.len(),
                    post.length,
                    post.limit
                );
            }
        }
        Err(error) => {
            return Err(anyhow::anyhow!(
                "{error}\nnothing was changed; your text is kept in {}",
                path.display()
            )
            .into())
        }
    }
    Ok(())
}
