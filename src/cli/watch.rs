//! `papercast watch`, `run` and `serve`: the long-running commands.

use super::post::print_reports;
use super::{open_app, warn_about_setup, Failure};
use papercast::app::Posting;
use papercast::config::Config;
use papercast::daemon;

pub(crate) async fn watch(config: Config, once: bool, backfill: usize) -> Result<(), Failure> {
    if config.sources.is_empty() {
        return Err(Failure::config(anyhow::anyhow!(
            "no feeds to watch: add a [[sources]] table to your config file (see \
             `papercast config defaults`)"
        )));
    }
    warn_about_setup(&config, false);
    check_secrets(&config)?;
    let app = open_app(config)?;
    if !once {
        let signal = daemon::stop_signal();
        let tasks = daemon::Tasks {
            watch: Some(backfill),
            publish: true,
            replies: false,
            web: None,
        };
        return daemon::run(app, tasks, stopped_by(signal))
            .await
            .map_err(|e| anyhow::Error::from(e).into());
    }
    let mut failed = 0;
    let sources = &app.config.sources;
    let mut polls =
        std::pin::pin!(app.poll_sources(sources, (0..sources.len()).collect(), backfill));
    while let Some((_, report)) = futures_util::StreamExt::next(&mut polls).await {
        let report = report.map_err(anyhow::Error::from)?;
        failed += print_source_report(&report);
        if backfill > 0 && polled_before(&report.poll) {
            println!(
                "{}: --backfill {backfill} did nothing: it applies to a feed's first poll \
                 only, and this feed was polled before; `papercast announce URL` announces \
                 an older post",
                report.source
            );
        }
    }
    for (id, result) in app.publish_due(papercast::app::watcher::ACTOR).await {
        match result {
            Ok(Posting::Ran(report)) => failed += print_reports(&[report]),
            Ok(Posting::Busy { owner }) => {
                println!("draft {id}: being posted by another papercast ({owner})")
            }
            Ok(Posting::Interrupted { .. }) => {}
            Err(error) => {
                failed += 1;
                eprintln!("papercast: {error}");
            }
        }
    }
    if failed > 0 {
        return Err(anyhow::anyhow!(
            "{failed} problem(s); see above. Failed feeds and pages are tried again at the \
             next poll"
        )
        .into());
    }
    Ok(())
}

/// Whether a poll found the feed seen before (so `--backfill` had nothing to do).
fn polled_before(poll: &papercast::app::watcher::PollOutcome) -> bool {
    use papercast::app::watcher::PollOutcome;
    matches!(
        poll,
        PollOutcome::NotModified
            | PollOutcome::Fetched {
                first_run: false,
                ..
            }
    )
}

/// Prints one source's poll; returns how many problems it had.
pub(crate) fn print_source_report(report: &papercast::app::watcher::SourceReport) -> usize {
    use papercast::app::watcher::PollOutcome;
    use papercast::store::EntryOutcome;
    let name = &report.source;
    let mut problems = 0;
    match &report.poll {
        PollOutcome::NotModified => println!("{name}: unchanged (304 Not Modified)"),
        PollOutcome::Fetched {
            entries,
            first_run: true,
            recorded,
        } => println!(
            "{name}: first poll: {entries} entries, {recorded} recorded as seen, {} announced",
            report.entries.len()
        ),
        PollOutcome::Fetched { entries, .. } => {
            println!("{name}: {entries} entries, {} new", report.entries.len())
        }
        // The watcher has logged the failure with its next try: said once, not twice.
        PollOutcome::Failed { .. } => problems += 1,
    }
    for entry in &report.entries {
        let drafts: Vec<String> = entry
            .drafts
            .iter()
            .map(|(account, id, state)| format!("draft {id} for `{account}` ({state})"))
            .collect();
        match entry.outcome {
            EntryOutcome::Drafted => {
                println!("  {} <{}>: {}", entry.title, entry.url, drafts.join(", "))
            }
            EntryOutcome::NoAccounts => println!(
                "  {} <{}>: no accounts are configured, so no draft was made",
                entry.title, entry.url
            ),
            _ => {
                problems += 1;
                println!(
                    "  {} <{}>: NOT DRAFTED: {}",
                    entry.title,
                    entry.url,
                    entry.error.as_deref().unwrap_or("unknown error")
                );
            }
        }
    }
    problems
}

/// A future that completes on SIGTERM/SIGINT, logging which.
pub(crate) async fn stopped_by(
    signal: impl std::future::Future<Output = Result<&'static str, daemon::DaemonError>>,
) {
    match signal.await {
        Ok(name) => tracing::info!("{name} received"),
        Err(error) => tracing::error!("{error}; stopping"),
    }
}

/// `papercast run` (with `backfill`) or `papercast serve` (without).
pub(crate) async fn run_daemon(config: Config, backfill: Option<usize>) -> Result<(), Failure> {
    // `run` watches the feeds and posts what is due at once; `serve` posts only what a
    // moderator approves, and says so then.
    if backfill.is_some() {
        check_secrets(&config)?;
    }
    let listener = papercast::web::bind(&config.web.listen)
        .await
        .map_err(Failure::config)?;
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.web.listen.clone());
    let secrets = papercast::web::WebSecrets::from_env(&config.web);
    if backfill.is_some() && config.sources.is_empty() {
        tracing::warn!("no [[sources]] are configured: no feed is watched");
    }
    warn_about_setup(&config, true);
    let app = open_app(config)?;
    println!("papercast: the moderators' page is at http://{address}/");
    let signal = daemon::stop_signal();
    let tasks = daemon::Tasks {
        watch: backfill,
        // What moderators approve on the page is posted by this process too.
        publish: true,
        replies: backfill.is_some(),
        web: Some((listener, secrets)),
    };
    daemon::run(app, tasks, stopped_by(signal))
        .await
        .map_err(|e| anyhow::Error::from(e).into())
}

/// Every account's secret is read at start, as `announce` does: a missing token is
/// named at once (exit 2), not after drafts were made and the first post failed.
fn check_secrets(config: &Config) -> Result<(), Failure> {
    for account in &config.accounts {
        papercast::platform::credentials(account).map_err(|error| {
            Failure::config(anyhow::anyhow!(
                "{error}; papercast checks every account's secret before it starts"
            ))
        })?;
    }
    Ok(())
}
