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
                    .with_store(Arc::clone(&app.store))
                    .with_app(Arc::clone(&app)),
            ),
        )),
        None => None,
    };
    let mut background: Vec<(&str, JoinHandle<()>)> = Vec::new();
    if let Some(backfill) = tasks.watch {
        let app = Arc::clone(&app);
        background.push((
            "watcher",
            tokio::spawn(watch_loop(app, backfill).instrument(tracing::info_span!("watcher"))),
        ));
    }
    // Tasks that may be half-way through a request to a server when asked to stop:
    // they get `daemon.shutdown_grace` to finish it.
    let mut finishing: Vec<(&str, JoinHandle<()>)> = Vec::new();
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
