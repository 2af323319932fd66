//! `papercast run`: the feed watcher, the publisher, the replies loop and the web
//! server as named tasks on one runtime, each a loop that survives a failed round, all
//! stopping together on SIGTERM or SIGINT without half-posting anything.
//!
//! On a stop signal the watcher, the replies loop and the web server end at once
//! (nothing they do is left half-done: drafts are made in single transactions, a feed
//! is recorded as polled only after its entries are handled, replies are recorded one
//! by one). The publisher finishes the post it is
//! sending and starts no other; the rest of that thread is posted at the next start.
//! If the post takes longer than `daemon.shutdown_grace`, papercast stops anyway and
//! the next start looks the post up on the server before sending it again.
//!
//! A task that dies (panics, or ends while papercast is not stopping) is logged at
//! error level at once and stops the daemon with an error: a half-running daemon (say,
//! posting but no longer watching) would look healthy while doing part of its job, and
//! a supervisor that restarts a failed process (systemd, a container runtime) brings
//! back all of it.

use crate::app::App;
use crate::web::{self, WebSecrets, WebState};
use chrono::Utc;
use futures_util::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The actor the daemon's posts are audited as.
pub const ACTOR: &str = "papercast run";

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Web(#[from] web::WebError),
    #[error("the web server stopped: {0}")]
    Serve(std::io::Error),
    #[error("cannot listen for stop signals: {0}")]
    Signal(std::io::Error),
    #[error(
        "the {task} task died ({reason}); papercast stopped so that it can be started \
         again whole (see the log above)"
    )]
    TaskDied { task: &'static str, reason: String },
}

type Task = (&'static str, JoinHandle<()>);

/// The first of the tasks to end, removed from its list (a finished handle must
/// not be polled again); never completes while every task runs.
async fn first_to_end(
    background: &mut Vec<Task>,
    finishing: &mut Vec<Task>,
) -> (&'static str, Result<(), tokio::task::JoinError>) {
    std::future::poll_fn(|cx| {
        for group in [&mut *background, &mut *finishing] {
            for i in 0..group.len() {
                if let std::task::Poll::Ready(result) = std::pin::Pin::new(&mut group[i].1).poll(cx)
                {
                    let (name, _) = group.remove(i);
                    return std::task::Poll::Ready((name, result));
                }
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Why a task that ended by itself counts as dead.
fn death(task: &'static str, result: Result<(), tokio::task::JoinError>) -> DaemonError {
    let reason = match result {
        Ok(()) => "it ended by itself".to_owned(),
        Err(error) if error.is_panic() => {
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            format!("panicked: {message}")
        }
        Err(error) => error.to_string(),
    };
    DaemonError::TaskDied { task, reason }
}

/// Which loops to run.
pub struct Tasks {
    /// Poll the sources (with this backfill on a source's first poll).
    pub watch: Option<usize>,
    /// Post approved and due drafts.
    pub publish: bool,
    /// Collect the replies to posted threads (issue 5's loop).
    pub replies: bool,
    /// Serve the web page on this listener.
    pub web: Option<(tokio::net::TcpListener, WebSecrets)>,
}

/// Runs the chosen loops until `shutdown` completes (or the web server fails), then
/// stops them cleanly.
pub async fn run(
    app: Arc<App>,
    tasks: Tasks,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    // Made first: a page that cannot be set up stops papercast before anything runs.
    let web = match tasks.web {
        Some((listener, secrets)) => Some((
            listener,
            Arc::new(
                WebState::new(&app.config, secrets, Arc::clone(&app.poll_now))?
                    .with_watcher(tasks.watch.is_some())
                    .with_store(Arc::clone(&app.store))
                    .with_app(Arc::clone(&app)),
            ),
        )),
        None => None,
    };
    let mut background: Vec<Task> = Vec::new();
    if let Some(backfill) = tasks.watch {
        let app = Arc::clone(&app);
        background.push((
            "watcher",
            tokio::spawn(watch_loop(app, backfill).instrument(tracing::info_span!("watcher"))),
        ));
    }
    // Tasks that may be half-way through a request to a server when asked to stop:
    // they get `daemon.shutdown_grace` to finish it.
    let mut finishing: Vec<Task> = Vec::new();
    if tasks.publish {
        let app = Arc::clone(&app);
        finishing.push((
            "publisher",
            tokio::spawn(publish_loop(app).instrument(tracing::info_span!("publisher"))),
        ));
    }
    if tasks.replies {
        let app = Arc::clone(&app);
        let replies = async move {
            let targets: Vec<_> = app.config.accounts.iter().map(|a| app.target(a)).collect();
            let settings = crate::replies::SyncSettings::from_config(&app.config);
            crate::replies::run_periodically(
                app.store.as_ref(),
                &targets,
                &settings,
                app.stopped(),
            )
            .await;
        };
        finishing.push((
            "replies",
            tokio::spawn(replies.instrument(tracing::info_span!("replies"))),
        ));
    }
    if !app.notifier.targets().is_empty() {
        let app = Arc::clone(&app);
        finishing.push((
            "notify",
            tokio::spawn(notify_loop(app).instrument(tracing::info_span!("notify"))),
        ));
    }
    let mut server: Option<JoinHandle<std::io::Result<()>>> = None;
    if let Some((listener, state)) = web {
        let stopped = {
            let app = Arc::clone(&app);
            async move { app.stopped().await }
        };
        server = Some(tokio::spawn(
            web::serve(listener, state, stopped).instrument(tracing::info_span!("web")),
        ));
    }

    let mut failure = None;
    tokio::select! {
        () = shutdown => {}
        (task, result) = first_to_end(&mut background, &mut finishing) => {
            let error = death(task, result);
            tracing::error!("{error}");
            failure = Some(error);
        }
        result = async {
            match server.as_mut() {
                Some(server) => server.await,
                None => std::future::pending().await,
            }
        } => {
            server = None;
            failure = Some(match result {
                Ok(Err(error)) => DaemonError::Serve(error),
                Ok(Ok(())) => DaemonError::Serve(std::io::Error::other("it ended by itself")),
                Err(error) => DaemonError::Serve(std::io::Error::other(error.to_string())),
            });
        }
    }
    tracing::info!("stopping");
    app.stop();
    if let Some(server) = server {
        if let Ok(Err(error)) = server.await {
            tracing::warn!("web server: {error}");
        }
    }
    for (name, task) in background {
        if let Err(error) = task.await {
            tracing::error!("{name}: {error}");
        }
    }
    let deadline = tokio::time::Instant::now() + app.config.daemon.shutdown_grace();
    for (name, mut task) in finishing {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!("{name}: {error}"),
            Err(_) => {
                task.abort();
                let _ = task.await;
                tracing::warn!(
                    "{name}: stopped without waiting longer for the request it was making \
                     (daemon.shutdown_grace); the next start looks up on the server what \
                     it sent before sending it again"
                );
            }
        }
    }
    match app.store.release_leases(app.owner()) {
        Ok(0) => {}
        Ok(n) => tracing::info!("released {n} draft(s) for the next start"),
        Err(error) => tracing::warn!("releasing drafts: {error}"),
    }
    tracing::info!("stopped");
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C), naming which.
pub async fn stop_signal() -> Result<&'static str, DaemonError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
        tokio::select! {
            _ = terminate.recv() => Ok("SIGTERM"),
            result = tokio::signal::ctrl_c() => result.map(|()| "SIGINT").map_err(DaemonError::Signal),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map(|()| "Ctrl-C")
            .map_err(DaemonError::Signal)
    }
}

/// Polls each source when it is due, or every source at once when the publish hook
/// asks; wakes the publisher when a draft was approved for posting.
async fn watch_loop(app: Arc<App>, backfill: usize) {
    let sources = app.config.sources.clone();
    if sources.is_empty() {
        tracing::warn!("no [[sources]] are configured: nothing is watched");
        // Ending here would count as the watcher dying.
        app.stopped().await;
        return;
    }
    let mut due = vec![tokio::time::Instant::now(); sources.len()];
    loop {
        let now = tokio::time::Instant::now();
        let ready: Vec<usize> = (0..sources.len()).filter(|&i| due[i] <= now).collect();
        let mut polls = std::pin::pin!(app.poll_sources(&sources, ready, backfill));
        loop {
            let (index, report) = tokio::select! {
                next = polls.next() => match next {
                    Some(next) => next,
                    None => break,
                },
                () = app.stopped() => return,
            };
            let source = &sources[index];
            let wait = match report {
                Ok(report) => {
                    let approved = report.entries.iter().any(|entry| {
                        entry
                            .drafts
                            .iter()
                            .any(|(_, _, state)| *state == crate::queue::DraftState::Approved)
                    });
                    if approved {
                        app.publish_now.notify_one();
                    }
                    (report.next_poll_at - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                }
                Err(error) => {
                    tracing::error!("source `{}`: {error}", source.name);
                    source.poll_every()
                }
            };
            due[index] = tokio::time::Instant::now() + wait;
        }
        let next = due
            .iter()
            .min()
            .copied()
            .unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = app.poll_now.notified() => {
                tracing::info!("publish hook: polling every source now");
                due.fill(tokio::time::Instant::now());
            }
            () = app.stopped() => return,
        }
    }
}

/// Posts what is due, then sleeps until the next scheduled time, the next round, or
/// a wake-up (an approval).
async fn publish_loop(app: Arc<App>) {
    let interval = app.config.daemon.publish_interval();
    loop {
        if app.is_stopping() {
            return;
        }
        app.publish_due(ACTOR).await;
        let now = Utc::now();
        let wait = app
            .next_due(now)
            .and_then(|at| (at - now).to_std().ok())
            .map_or(interval, |until| until.min(interval));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = app.publish_now.notified() => {}
            () = app.stopped() => return,
        }
    }
}

/// How often the notification loop looks for reminders and retries that are due (a new
/// event wakes it at once).
const NOTIFY_EVERY: Duration = Duration::from_secs(5);

/// Delivers queued notifications and queues reminders, apart from posting: a slow or
/// failing receiver never holds up a thread.
async fn notify_loop(app: Arc<App>) {
    loop {
        if app.is_stopping() {
            return;
        }
        let now = Utc::now();
        let link = |id| app.config.web.draft_link(id);
        if let Err(error) = app.notifier.queue_reminders(app.store.as_ref(), link, now) {
            tracing::warn!("{error}");
        }
        if let Err(error) = app.notifier.deliver_due(now).await {
            tracing::warn!("{error}");
        }
        tokio::select! {
            () = app.stopped() => return,
            () = app.notifier.wake.notified() => {}
            () = tokio::time::sleep(NOTIFY_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_or_ends_is_named_at_once_and_the_others_keep_running() {
        let mut background: Vec<Task> = vec![("watcher", tokio::spawn(std::future::pending()))];
        let mut finishing: Vec<Task> = vec![
            ("publisher", tokio::spawn(std::future::pending())),
            (
                "replies",
                tokio::spawn(async { panic!("window out of range") }),
            ),
        ];
        let (task, result) = first_to_end(&mut background, &mut finishing).await;
        let error = death(task, result).to_string();
        assert!(
            error.contains("the replies task died (panicked: window out of range)"),
            "{error}"
        );
        assert_eq!(finishing.len(), 1, "the dead task is no longer polled");

        finishing.push(("web", tokio::spawn(async {})));
        let (task, result) = first_to_end(&mut background, &mut finishing).await;
        let error = death(task, result).to_string();
        assert!(
            error.contains("the web task died (it ended by itself)"),
            "{error}"
        );
        for (_, task) in background.into_iter().chain(finishing) {
            assert!(!task.is_finished(), "the others still run");
            task.abort();
        }
    }
}
