//! `papercast extract`, `preview` and `announce`: a post read, composed, and posted.

use super::args::{Format, PlatformChoice};
use super::render::{render_announcement, render_previews, render_thread};
use super::*;
use anyhow::Context;
use papercast::app::announce::{self, AccountOutcome, Announced, Waiting};
use papercast::app::Posting;
use papercast::compose::{self, ComposeOptions, Templates, Thread};
use papercast::config::Config;
use papercast::publish::Outcome;

pub(crate) async fn extract(
    config: &Config,
    location: &str,
    format: Format,
) -> Result<(), Failure> {
    let announcement = load_announcement(config, location).await?;
    match format {
        Format::Json => print_json(&announcement)?,
        Format::Text => print!("{}", render_announcement(&announcement)),
    }
    Ok(())
}

pub(crate) async fn preview(
    config: &Config,
    location: &str,
    platform: PlatformChoice,
    format: Format,
) -> Result<(), Failure> {
    let templates = Templates::from_config(&config.compose.templates_dir)
        .context("loading the thread templates")
        .map_err(Failure::config)?;
    let announcement = load_announcement(config, location).await?;
    let options = ComposeOptions::from_config(&config.compose);
    let threads = platform
        .platforms()
        .into_iter()
        .map(|kind| {
            let rules = config.compose.rules_for(kind);
            compose::compose(&announcement, &templates, &rules, &options)
                .with_context(|| format!("composing the {kind} thread for {}", announcement.url))
        })
        .collect::<anyhow::Result<Vec<Thread>>>()?;
    // The same warning comes from every platform's thread: say it once.
    let mut warned: Vec<&String> = Vec::new();
    for warning in threads.iter().flat_map(|t| &t.warnings) {
        if !warned.contains(&warning) {
            eprintln!("warning: {warning}");
            warned.push(warning);
        }
    }
    match format {
        Format::Json => print_json(&threads)?,
        Format::Text => {
            for thread in &threads {
                println!("{}", render_thread(thread));
            }
        }
    }
    Ok(())
}

pub(crate) async fn announce(
    config: &Config,
    location: &str,
    names: &[String],
    request: announce::Request,
) -> Result<(), Failure> {
    if request.dry_run && config.accounts.is_empty() && names.is_empty() {
        // Nothing to plan per account: show what `preview` shows, on each network's
        // default limits.
        println!(
            "dry run: no accounts are configured, so this is `papercast preview` on each \
             network's default limits; nothing is posted or recorded\n"
        );
        return preview(config, location, PlatformChoice::All, Format::Text).await;
    }
    let accounts = select_accounts(config, names)?;
    if !request.dry_run {
        // Every account's secret is read before anything is recorded, so that a missing
        // one is named at once instead of after a draft is half-made.
        for account in &accounts {
            papercast::platform::credentials(account).map_err(Failure::config)?;
        }
    }
    let announcement = load_announcement(config, location).await?;
    if request.dry_run {
        // Nothing is written: the store is read only if it exists already.
        let store = if config.store.url.is_some() || config.store.path.exists() {
            Some(open_store(config)?)
        } else {
            None
        };
        let store = store
            .as_ref()
            .map(|s| s.as_ref() as &dyn papercast::store::Store);
        let previews = announce::dry_run(config, store, &announcement, &accounts, request.again)
            .await
            .map_err(|e| match e {
                papercast::app::AppError::Templates(_) => Failure::config(e),
                other => Failure::from(anyhow::Error::from(other)),
            })?;
        let kind_of = |name: &str| {
            config
                .accounts
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.platform.kind())
        };
        print!("{}", render_previews(&announcement, &previews, kind_of));
        return Ok(());
    }
    let store = open_store(config)?;
    let app = papercast::app::App::new(config.clone(), store).map_err(anyhow::Error::from)?;
    let actor = actor_name(None);
    let announced = app
        .announce(&announcement, &accounts, request, &actor)
        .await
        .map_err(anyhow::Error::from)?;
    let outcomes = match announced {
        Announced::Already(threads) => {
            for thread in threads {
                let link = thread.head().map(|h| h.url.clone().unwrap_or(h.id.clone()));
                println!(
                    "{}: {} (already announced; nothing posted)",
                    thread.account,
                    link.unwrap_or_default()
                );
            }
            eprintln!(
                "papercast: {} was already announced on {}; nothing to do \
                 (use --again to post a new thread)",
                announcement.url,
                if accounts.len() == 1 {
                    "its account"
                } else {
                    "every account"
                }
            );
            return Ok(());
        }
        Announced::Accounts(outcomes) => outcomes,
    };
    let failed = print_outcomes(&outcomes);
    if failed > 0 {
        return Err(Failure {
            code: EXIT_ACCOUNT_FAILED,
            error: anyhow::anyhow!("{failed} of {} account(s) failed", accounts.len()),
        });
    }
    Ok(())
}

/// Prints each account's outcome of `announce`; returns how many failed.
fn print_outcomes(outcomes: &[(String, AccountOutcome)]) -> usize {
    let mut failed = 0;
    let mut reports = Vec::new();
    for (account, outcome) in outcomes {
        match outcome {
            AccountOutcome::Waiting(waiting) => println!("{account}: {}", waiting_text(waiting)),
            AccountOutcome::Posted {
                posting: Posting::Ran(report),
                ..
            } => reports.push(report),
            AccountOutcome::Posted {
                id,
                posting: Posting::Busy { owner },
            } => println!("{account}: draft {id} is being posted by another papercast ({owner})"),
            AccountOutcome::Posted {
                posting: Posting::Interrupted { sent, posts },
                ..
            } => {
                failed += 1;
                eprintln!(
                    "papercast: account `{account}`: stopped with {sent} of {posts} posts sent"
                );
            }
            AccountOutcome::Failed(error) => {
                failed += 1;
                eprintln!("papercast: {error}");
            }
        }
    }
    failed + print_reports(reports)
}

fn waiting_text(waiting: &Waiting) -> String {
    match waiting {
        Waiting::Review { id } => format!(
            "draft {id} waits for review (`papercast queue show {id}`; \
             `papercast queue approve {id}` posts it)"
        ),
        Waiting::Rejected { id, by, reason } => format!(
            "draft {id} was rejected{}{}; `papercast queue approve {id}` posts it anyway",
            by.as_deref()
                .map(|who| format!(" by {who}"))
                .unwrap_or_default(),
            reason
                .as_deref()
                .map(|why| format!(" ({why})"))
                .unwrap_or_default()
        ),
        Waiting::Scheduled { id, at } => format!(
            "draft {id} is scheduled for {}; `papercast run` posts it then",
            time_text(*at)
        ),
    }
}

/// Prints what the publisher did on each account; returns how many failed.
pub(crate) fn print_reports<'a>(
    reports: impl IntoIterator<Item = &'a papercast::publish::AccountReport>,
) -> usize {
    let mut failed = 0;
    for report in reports {
        match &report.outcome {
            Outcome::Posted { link, posts, sent } => println!(
                "{}: {} ({})",
                report.account,
                link.as_deref().unwrap_or("?"),
                if sent == posts {
                    format!("posted {posts} posts")
                } else {
                    format!("posted the {sent} missing of {posts} posts")
                }
            ),
            Outcome::AlreadyPosted { link } => println!(
                "{}: {} (already announced; nothing posted)",
                report.account,
                link.as_deref().unwrap_or("?")
            ),
            Outcome::Failed { error, sent, posts } => {
                failed += 1;
                eprintln!("papercast: {error}");
                if *posts > 0 {
                    eprintln!(
                        "papercast: account `{}`: {sent} post(s) sent in this run, thread of \
                         {posts}; run `papercast announce` again to resume",
                        report.account
                    );
                }
            }
        }
    }
    failed
}
