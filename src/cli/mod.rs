//! The `papercast` command line, one file per command family; this file holds what
//! they share: exit codes, choosing accounts, opening the store and the app.

use anyhow::Context;
use papercast::app::App;
use papercast::config::{AccountConfig, Config};
use papercast::source::Fetcher;
use papercast::store::ReplyStore;
use papercast::Announcement;
use std::sync::Arc;

pub(crate) mod accounts;
pub(crate) mod args;
pub(crate) mod notify;
pub(crate) mod post;
pub(crate) mod queue;
pub(crate) mod render;
pub(crate) mod replies;
pub(crate) mod watch;

/// Exit code for a configuration error (bad file, unknown key, bad value).
pub(crate) const EXIT_CONFIG: u8 = 2;

/// Exit code for any other failure.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// Exit code when some account failed (its state is kept for the next run).
pub(crate) const EXIT_ACCOUNT_FAILED: u8 = 3;

/// A failure with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            code: EXIT_FAILURE,
            error,
        }
    }
}

impl Failure {
    pub(crate) fn config(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_CONFIG,
            error: error.into(),
        }
    }
}

/// The accounts named on the command line (all when none), or a config error.
pub(crate) fn select_accounts<'a>(
    config: &'a Config,
    names: &[String],
) -> Result<Vec<&'a AccountConfig>, Failure> {
    if config.accounts.is_empty() {
        return Err(Failure::config(anyhow::anyhow!(
            "no accounts are configured; add an [[accounts]] table to your config file \
             (see `papercast config defaults`)"
        )));
    }
    if names.is_empty() {
        return Ok(config.accounts.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            config
                .accounts
                .iter()
                .find(|a| &a.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        config.accounts.iter().map(|a| a.name.as_str()).collect();
                    Failure::config(anyhow::anyhow!(
                        "no account is named `{name}`; configured: {}",
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

/// Who runs this command, for the audit log: `--as NAME`, else `$USER`.
pub(crate) fn actor_name(given: Option<&str>) -> String {
    given
        .map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cli".into())
}

pub(crate) fn time_text(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The wired-up pipeline on the configured store.
pub(crate) fn open_app(config: Config) -> Result<Arc<App>, Failure> {
    let store = open_store(&config)?;
    let app = App::new(config, store).map_err(|e| match e {
        papercast::app::AppError::Templates(_) => Failure::config(e),
        other => Failure::from(anyhow::Error::from(other)),
    })?;
    Ok(Arc::new(app))
}

pub(crate) fn warn_about_setup(config: &Config, web: bool) {
    if config.accounts.is_empty() {
        tracing::warn!(
            "no accounts are configured: new posts are recorded, but no drafts are made \
             and nothing is posted; add an [[accounts]] table (see `papercast config \
             defaults`)"
        );
    }
    if web && config.moderators.is_empty() {
        tracing::warn!(
            "no moderators are configured: nobody can log in to the web page; add a \
             [[moderators]] table (`papercast moderators hash-password` makes its hash)"
        );
    }
}

/// For a command that only reads: why there is nothing to read when the state database
/// does not exist yet, so that reading never creates it.
pub(crate) fn no_store_yet(config: &Config) -> Option<String> {
    if config.store.url.is_some() {
        return None;
    }
    let path = &config.store.path;
    (!path.exists()).then(|| {
        format!(
            "no state database at {} yet (store.path): nothing was announced or drafted here",
            path.display()
        )
    })
}

/// The configured store: PostgreSQL at `store.url`, or SQLite at `store.path`.
pub(crate) fn open_store(config: &Config) -> Result<Arc<dyn ReplyStore>, Failure> {
    papercast::store::open(&config.store).map_err(|e| Failure::from(anyhow::Error::from(e)))
}

/// `papercast store copy --to URL`: the SQLite state into an empty PostgreSQL database.
pub(crate) fn store_copy(config: &Config, to: &str) -> Result<(), Failure> {
    use anyhow::Context;
    let target = papercast::config::redact_url(to);
    if !config.store.path.is_file() {
        return Err(Failure::from(anyhow::anyhow!(
            "there is no SQLite state at {} to copy; set store.path to the database file",
            config.store.path.display()
        )));
    }
    let from = papercast::store::SqliteStore::open(&config.store.path)
        .with_context(|| format!("opening {}", config.store.path.display()))?;
    let tables = from.export().context("reading the SQLite state")?;
    let into =
        papercast::store::PostgresStore::open(to).with_context(|| format!("opening {target}"))?;
    into.copy_in(&tables)
        .with_context(|| format!("copying into {target}"))?;
    for table in &tables {
        println!("{:>8} {}", table.rows.len(), table.name);
    }
    println!(
        "copied {} into {target}; set store.url to it (and keep the SQLite file as a backup)",
        config.store.path.display()
    );
    Ok(())
}

/// Reads and extracts a post (URL or saved page).
pub(crate) async fn load_announcement(
    config: &Config,
    location: &str,
) -> anyhow::Result<Announcement> {
    let fetcher = Fetcher::new(&config.fetch)?;
    // A path is read only when a person typed it, as here.
    let page = fetcher.typed_page(location).await?;
    Ok(papercast::app::extract_off_the_workers(page).await?)
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("encoding JSON output")?;
    println!("{text}");
    Ok(())
}

/// The async runtime for `command`. The daemons (`run`, `serve`, `watch` without
/// `--once`) run loops and a web server side by side on a thread pool; every other
/// command is one piece of work that waits on the network, which one thread serves as
/// well, with less memory.
pub(crate) fn runtime_for(command: &args::Command) -> std::io::Result<tokio::runtime::Runtime> {
    let daemon = matches!(
        command,
        args::Command::Run { .. } | args::Command::Serve | args::Command::Watch { once: false, .. }
    );
    if daemon {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}
