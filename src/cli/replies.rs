//! `papercast replies` and `papercast discussions`: collect, moderate and print replies.

use super::args::{DiscussionFormat, Format, RepliesCommand, ReportFormat};
use super::render::render_reply_list;
use super::{open_store, print_json, select_accounts, Failure, EXIT_ACCOUNT_FAILED};
use papercast::app::{targets, Secrets};
use papercast::config::Config;
use papercast::store::ReplyStore;

pub(crate) async fn replies(config: &Config, command: RepliesCommand) -> Result<(), Failure> {
    if let (RepliesCommand::List { .. }, Some(why)) = (&command, super::no_store_yet(config)) {
        println!("no replies recorded ({why})");
        return Ok(());
    }
    let store = open_store(config)?;
    let store = &*store;
    match command {
        RepliesCommand::Sync { accounts } => sync(config, store, &accounts).await?,
        RepliesCommand::List { post, format } => list(store, post.as_deref(), format)?,
        RepliesCommand::Hide { reply, reason, by } => {
            let by = super::actor_name(by.as_deref());
            let record = find_reply(store, &reply)?;
            store
                .set_reply_hidden(record.id, true, &by, reason.as_deref())
                .map_err(anyhow::Error::from)?;
            println!(
                "reply {} by {} is hidden: {}",
                record.id, record.status.author_handle, record.status.url
            );
        }
        RepliesCommand::Unhide { reply, by } => {
            let by = super::actor_name(by.as_deref());
            let record = find_reply(store, &reply)?;
            store
                .set_reply_hidden(record.id, false, &by, None)
                .map_err(anyhow::Error::from)?;
            println!(
                "reply {} by {} is shown again{}",
                record.id,
                record.status.author_handle,
                if record.author_hidden {
                    " (but its author is hidden: `papercast replies unhide-author`)"
                } else {
                    ""
                }
            );
        }
        RepliesCommand::HideAuthor { handle, reason, by } => hide_author(
            store,
            &handle,
            reason.as_deref(),
            &super::actor_name(by.as_deref()),
        )?,
        RepliesCommand::UnhideAuthor { handle } => {
            let canonical = papercast::store::canonical_handle(&handle);
            let was = store
                .unhide_author(&canonical)
                .map_err(anyhow::Error::from)?;
            if !was {
                return Err(Failure::from(anyhow::anyhow!(
                    "@{canonical} is not a hidden author (`papercast replies list` shows them)"
                )));
            }
            println!("@{canonical} is shown again");
        }
    }
    Ok(())
}

/// `replies sync`: reads the accounts' threads and mentions, and records the replies.
async fn sync(config: &Config, store: &dyn ReplyStore, accounts: &[String]) -> Result<(), Failure> {
    use papercast::replies::{self, SyncMode, SyncSettings};
    let accounts = select_accounts(config, accounts)?;
    let targets = targets(config, &accounts, Secrets::Required);
    let settings = SyncSettings::from_config(config);
    let started = std::time::Instant::now();
    let report = replies::sync(
        store,
        &targets,
        &settings,
        SyncMode::All,
        chrono::Utc::now(),
    )
    .await;
    for account in &report.accounts {
        for error in &account.errors {
            eprintln!("papercast: {error}");
        }
        if let Some(reason) = &account.unsupported {
            println!("{}: skipped: {reason}", account.account);
            continue;
        }
        println!(
            "{}: read {} thread(s) in {} request(s): {} new, {} edited, {} deleted, \
             {} restored; {} hidden by rules, {} answered; counts changed on {} post(s){}",
            account.account,
            account.threads_read,
            account.requests,
            account.added,
            account.edited,
            account.deleted,
            account.restored,
            account.hidden_by_rules,
            account.answered,
            account.counts_changed,
            if account.stopped {
                " (stopped early)"
            } else {
                ""
            }
        );
    }
    tracing::info!("replies sync took {:.2} s", started.elapsed().as_secs_f64());
    let failed = report.failed();
    if failed > 0 {
        return Err(Failure {
            code: EXIT_ACCOUNT_FAILED,
            error: anyhow::anyhow!(
                "{failed} of {} account(s) had errors; what was read is recorded, \
                 and the next sync tries the rest again",
                report.accounts.len()
            ),
        });
    }
    Ok(())
}

/// `replies list`: the recorded replies of a post, or of every post.
fn list(store: &dyn ReplyStore, post: Option<&str>, format: Format) -> Result<(), Failure> {
    use papercast::replies::discussions;
    let posts = match post {
        Some(post) => by_post_key(post, |key| {
            discussions::list(store, Some(key)).map(|p| Some(p).filter(|p| !p.is_empty()))
        })?
        .ok_or_else(|| not_posted(post))?,
        None => discussions::list(store, None).map_err(anyhow::Error::from)?,
    };
    match format {
        Format::Json => print_json(&posts)?,
        Format::Text => {
            print!("{}", render_reply_list(&posts));
            let authors = store.hidden_authors().map_err(anyhow::Error::from)?;
            if !authors.is_empty() {
                println!("\nhidden authors:");
                for author in authors {
                    println!(
                        "  @{} (by {}{})",
                        author.handle,
                        author.by,
                        author.reason.map(|r| format!(": {r}")).unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// `replies hide-author`: hides every reply by an author, now and later.
fn hide_author(
    store: &dyn ReplyStore,
    handle: &str,
    reason: Option<&str>,
    by: &str,
) -> Result<(), Failure> {
    use papercast::replies::discussions;
    let canonical = papercast::store::canonical_handle(handle);
    if !canonical.contains('@') || canonical.starts_with('@') || canonical.ends_with('@') {
        return Err(Failure::from(anyhow::anyhow!(
            "`{handle}` is not a full handle; write it as @user@server, as \
             `papercast replies list` shows it"
        )));
    }
    let new = store
        .hide_author(&canonical, by, reason)
        .map_err(anyhow::Error::from)?;
    let recorded = discussions::list(store, None)
        .map_err(anyhow::Error::from)?
        .iter()
        .flat_map(|post| &post.replies)
        .filter(|r| papercast::store::canonical_handle(&r.handle) == canonical)
        .count();
    if recorded == 0 {
        eprintln!(
            "papercast: no recorded reply is by @{canonical} yet; check the spelling \
             against `papercast replies list`"
        );
    }
    println!(
        "@{canonical} {} ({recorded} recorded replies)",
        if new {
            "is hidden: none of their replies is published"
        } else {
            "was hidden already"
        }
    );
    Ok(())
}

/// A post given on the command line as the store may know it: as given, then (for a
/// URL without one) with the trailing slash that post URLs have.
pub(crate) fn post_keys(post: &str) -> Vec<String> {
    let post = post.trim();
    let mut keys = vec![post.to_owned()];
    if post.contains("://") && !post.ends_with('/') && !post.contains(['#', '?']) {
        keys.push(format!("{post}/"));
    }
    keys
}

/// The first answer of `find` for any spelling of `post`.
pub(crate) fn by_post_key<T>(
    post: &str,
    mut find: impl FnMut(&str) -> Result<Option<T>, papercast::store::StoreError>,
) -> Result<Option<T>, Failure> {
    for key in post_keys(post) {
        if let Some(found) = find(&key).map_err(anyhow::Error::from)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

pub(crate) fn not_posted(post: &str) -> Failure {
    Failure::from(anyhow::anyhow!(
        "no posted thread of `{post}` is recorded; give the post's URL or slug as \
         `papercast announce` used it (`papercast replies list` shows every post)"
    ))
}

pub(crate) fn find_reply(
    store: &dyn ReplyStore,
    reply: &str,
) -> Result<papercast::store::ReplyRecord, Failure> {
    let found = match reply.trim().parse::<i64>() {
        Ok(id) => store.reply(id),
        Err(_) => store.reply_by_url(reply.trim()),
    }
    .map_err(anyhow::Error::from)?;
    found.ok_or_else(|| {
        Failure::from(anyhow::anyhow!(
            "no reply `{reply}` is recorded; give an id or URL from `papercast replies list`"
        ))
    })
}

pub(crate) fn discussions(
    config: &Config,
    post: Option<&str>,
    format: DiscussionFormat,
    export: Option<&std::path::Path>,
) -> Result<(), Failure> {
    use papercast::replies::discussions;
    if let Some(why) = super::no_store_yet(config) {
        return Err(anyhow::anyhow!("no discussions: {why}").into());
    }
    let store = open_store(config)?;
    let store = &*store;
    if let Some(dir) = export {
        let report = discussions::export(store, dir).map_err(anyhow::Error::from)?;
        for path in &report.written {
            println!("wrote {}", path.display());
        }
        println!(
            "{} file(s) written, {} already up to date, in {}",
            report.written.len(),
            report.unchanged,
            dir.display()
        );
        return Ok(());
    }
    let Some(post) = post else {
        return Err(Failure::config(anyhow::anyhow!(
            "give a post's URL or slug, or --export DIR"
        )));
    };
    let discussion = by_post_key(post, |key| discussions::discussion(store, key))?
        .ok_or_else(|| not_posted(post))?;
    match format {
        DiscussionFormat::Json => print!("{}", discussions::to_json(&discussion)),
        DiscussionFormat::Html => {
            println!(
                "{}",
                discussions::to_html(&discussion).map_err(anyhow::Error::from)?
            )
        }
    }
    Ok(())
}

/// `papercast report`: what each post and paper drew.
pub(crate) fn report(
    config: &Config,
    post: Option<&str>,
    format: ReportFormat,
) -> Result<(), Failure> {
    use papercast::replies::report;
    let store = open_store(config)?;
    let reports = match post {
        Some(post) => vec![
            by_post_key(post, |key| report::report(store.as_ref(), key))?
                .ok_or_else(|| not_posted(post))?,
        ],
        None => report::reports(store.as_ref()).map_err(anyhow::Error::from)?,
    };
    match format {
        ReportFormat::Json => match post {
            Some(_) => print_json(&reports[0])?,
            None => print_json(&reports)?,
        },
        ReportFormat::Csv => print!(
            "{}",
            report::to_csv(&reports)
                .map_err(|e| anyhow::anyhow!("writing the report as CSV: {e}"))?
        ),
        ReportFormat::Text => print!("{}", super::render::render_report(&reports)),
    }
    Ok(())
}
