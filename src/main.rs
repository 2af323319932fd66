//! The `papercast` command line: parses arguments, loads configuration, calls the library.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use papercast::app::{daemon, App, Drafting, Posting};
use papercast::compose::{self, Templates, Thread};
use papercast::config::{AccountConfig, AccountPlatform, Config, ConfigSources, TokenSource};
use papercast::platform::bluesky::Bluesky;
use papercast::platform::mastodon::{ClientSettings, Mastodon};
use papercast::platform::{LengthRules, Platform, PlatformError, PlatformKind, Secret};
use papercast::publish::{Outcome, PublishSettings, Publisher, Target};
use papercast::queue::{self, DraftState};
use papercast::source::Fetcher;
use papercast::store::{SqliteStore, Store};
use papercast::{extract, Announcement};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit code for a configuration error (bad file, unknown key, bad value).
const EXIT_CONFIG: u8 = 2;
/// Exit code for any other failure.
const EXIT_FAILURE: u8 = 1;
/// Exit code when some account failed (its state is kept for the next run).
const EXIT_ACCOUNT_FAILED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "papercast",
    version,
    about = "Announces Graphcore Research \"Papers of the Month\" posts as threads on Mastodon-family servers and Bluesky",
    long_about = "Announces Graphcore Research \"Papers of the Month\" posts as threads on \
        Mastodon-family servers and Bluesky.\n\nConfiguration comes from the built-in defaults, then \
        the file given by --config (or ./papercast.toml), then environment variables \
        PAPERCAST__SECTION__KEY, then flags. See `papercast config defaults` for every key."
)]
struct Cli {
    /// Configuration file (TOML). Default: ./papercast.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Extract the featured papers from a post page (URL or saved HTML file).
    Extract {
        /// The post's URL (http:// or https://) or a path to a saved page.
        location: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show the threads that would be posted for a post, fitted to each platform.
    Preview {
        /// The post's URL (http:// or https://) or a path to a saved page.
        location: String,
        /// Which platform's thread to show.
        #[arg(long, value_enum, default_value_t = PlatformChoice::All)]
        platform: PlatformChoice,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Do not add the closing post that invites replies.
        #[arg(long)]
        no_closing: bool,
    },
    /// Post the thread for a post to every configured account (or the named ones), and
    /// print the link of each thread. Running it again resumes what is unfinished and
    /// never posts anything twice.
    Announce {
        /// The post's URL (http:// or https://) or a path to a saved page.
        location: String,
        /// Post only to this account (repeat for several). Default: every account.
        #[arg(long = "account", value_name = "NAME")]
        accounts: Vec<String>,
        /// Show what would be posted; post and record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Post a new thread even though this post was announced before.
        #[arg(long)]
        again: bool,
        /// Post at once, even to accounts whose threads wait for review.
        #[arg(long)]
        now: bool,
    },
    /// Watch the configured feeds: draft each new post for every account (posting at
    /// once where an account's review is "none"), polling each feed at its interval.
    Watch {
        /// Poll each feed once, post what is due, and exit.
        #[arg(long)]
        once: bool,
        /// On a feed's first poll, announce its newest N matching posts (default: none,
        /// they are only recorded as seen).
        #[arg(long, value_name = "N", default_value_t = 0)]
        backfill: usize,
    },
    /// The drafts: list, show, approve (now or at a time), reject, edit, re-extract.
    Queue(QueueArgs),
    /// Run papercast: watch the feeds, post approved and scheduled drafts, collect
    /// replies, and serve the moderators' page, until SIGTERM or Ctrl-C (a thread being
    /// posted is left to finish at the next start).
    Run {
        /// On a feed's first poll, announce its newest N matching posts.
        #[arg(long, value_name = "N", default_value_t = 0)]
        backfill: usize,
    },
    /// Serve the moderators' page and post the drafts they approve or schedule; no
    /// feed is watched (the publish hook then does nothing).
    Serve,
    /// Check or set up the accounts threads are posted to.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage moderators of the web page.
    #[command(subcommand)]
    Moderators(ModeratorsCommand),
    /// Collect and moderate the replies to papercast's threads.
    #[command(subcommand)]
    Replies(RepliesCommand),
    /// Print a post's discussion (its threads and visible replies), or write every
    /// post's discussion as files with --export.
    Discussions {
        /// The post's URL or slug (e.g. 2025-10-07-potm).
        #[arg(required_unless_present = "export", conflicts_with = "export")]
        post: Option<String>,
        #[arg(long, value_enum, default_value_t = DiscussionFormat::Json)]
        format: DiscussionFormat,
        /// Write <slug>.json and <slug>.html for every announced post into this folder.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RepliesCommand {
    /// Read the replies of every thread posted in the last `replies.window_days` days,
    /// and the accounts' mentions; record new, edited and deleted replies.
    Sync {
        /// Read only this account (repeat for several). Default: every account.
        #[arg(long = "account", value_name = "NAME")]
        accounts: Vec<String>,
    },
    /// List the recorded replies of a post (or of every post) with their ids and states.
    List {
        /// The post's URL or slug. Default: every announced post.
        post: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Hide a reply from the published discussion (and the replies under it).
    Hide {
        /// The reply's id (from `replies list`) or its URL.
        reply: String,
        /// Why, for the other moderators.
        #[arg(long)]
        reason: Option<String>,
        /// Who hides it.
        #[arg(long, default_value = "command line")]
        by: String,
    },
    /// Show a hidden reply again.
    Unhide {
        /// The reply's id (from `replies list`) or its URL.
        reply: String,
        #[arg(long, default_value = "command line")]
        by: String,
    },
    /// Hide every reply by an author, now and later.
    HideAuthor {
        /// The author's full handle, e.g. @someone@mastodon.social.
        handle: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value = "command line")]
        by: String,
    },
    /// Show an author's replies again.
    UnhideAuthor {
        /// The author's full handle, e.g. @someone@mastodon.social.
        handle: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DiscussionFormat {
    Json,
    Html,
}

#[derive(clap::Args)]
struct QueueArgs {
    /// Who you are, for the audit log (default: $USER).
    #[arg(long = "as", value_name = "NAME", global = true)]
    actor: Option<String>,
    #[command(subcommand)]
    command: QueueCommand,
}

#[derive(Subcommand)]
enum QueueCommand {
    /// List the drafts, newest first.
    List {
        /// Only drafts in this state.
        #[arg(long, value_enum)]
        state: Option<StateChoice>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show a draft: its posts as they will be posted, their lengths, and its history.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Approve a draft and post it now; with --at, `papercast run` posts it then.
    Approve {
        id: i64,
        /// When to post it: 2026-12-01T09:00Z, 2026-12-01T10:00+01:00, or +2h.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Schedule a draft: `papercast run` posts it at that time (same as approve --at).
    Schedule {
        id: i64,
        /// When to post it: 2026-12-01T09:00Z, 2026-12-01T10:00+01:00, or +2h.
        #[arg(long, value_name = "TIME")]
        at: String,
    },
    /// Reject a draft: it is not posted.
    Reject {
        id: i64,
        /// Why, for the other moderators.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Edit the text of a draft's posts in $VISUAL or $EDITOR.
    Edit { id: i64 },
    /// Read the blog post again, and compose the draft afresh if the post changed.
    Reextract { id: i64 },
}

#[derive(Clone, Copy, ValueEnum)]
enum StateChoice {
    Pending,
    Approved,
    Scheduled,
    Rejected,
    Posted,
    Failed,
}

impl StateChoice {
    fn state(self) -> DraftState {
        match self {
            StateChoice::Pending => DraftState::Pending,
            StateChoice::Approved => DraftState::Approved,
            StateChoice::Scheduled => DraftState::Scheduled,
            StateChoice::Rejected => DraftState::Rejected,
            StateChoice::Posted => DraftState::Posted,
            StateChoice::Failed => DraftState::Failed,
        }
    }
}

#[derive(Subcommand)]
enum ModeratorsCommand {
    /// Read a password from standard input and print its Argon2 hash, for a
    /// `[[moderators]]` entry's `password_hash` in the config file.
    HashPassword,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Check every account: its token, and the server's limits.
    Check,
    /// Get a token for an account: register papercast on its server, open the printed
    /// address, and paste the code the server shows.
    Login {
        /// The account's name in the configuration.
        name: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the built-in defaults, every key commented.
    Defaults,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlatformChoice {
    Mastodon,
    Bluesky,
    X,
    All,
}

impl PlatformChoice {
    fn platforms(self) -> Vec<PlatformKind> {
        match self {
            PlatformChoice::Mastodon => vec![PlatformKind::Mastodon],
            PlatformChoice::Bluesky => vec![PlatformKind::Bluesky],
            PlatformChoice::X => vec![PlatformKind::X],
            PlatformChoice::All => PlatformKind::ALL.to_vec(),
        }
    }
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
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
    fn config(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_CONFIG,
            error: error.into(),
        }
    }
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("papercast: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, error }) => {
            eprintln!("papercast: {error:#}");
            ExitCode::from(code)
        }
    }
}

/// A closed stdout (`papercast extract … | head -c 10`) ends the output, not the
/// program with a panic: `println!` panics when the reader has gone, and that one panic
/// becomes a quiet exit 0, as for tools that stop when nobody reads them any more.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let mut sources = ConfigSources {
        file: cli.config.clone(),
        ..Default::default()
    };
    if let Command::Preview {
        no_closing: true, ..
    } = &cli.command
    {
        sources
            .overrides
            .push(("compose.closing_post".into(), "false".into()));
    }
    let config = Config::load(&sources).map_err(|e| Failure {
        code: EXIT_CONFIG,
        error: e.into(),
    })?;

    match cli.command {
        Command::Extract { location, format } => {
            let announcement = load_announcement(&config, &location).await?;
            match format {
                Format::Json => print_json(&announcement)?,
                Format::Text => print!("{}", render_announcement(&announcement)),
            }
        }
        Command::Preview {
            location,
            platform,
            format,
            ..
        } => {
            let templates = Templates::from_config(&config.compose.templates_dir)
                .context("loading the thread templates")
                .map_err(|error| Failure {
                    code: EXIT_CONFIG,
                    error,
                })?;
            let announcement = load_announcement(&config, &location).await?;
            let options = config.compose.options();
            let threads = platform
                .platforms()
                .into_iter()
                .map(|kind| {
                    let rules = rules_for(&config, kind);
                    compose::compose(&announcement, &templates, &rules, &options).with_context(
                        || format!("composing the {kind} thread for {}", announcement.url),
                    )
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
                        println!("{}", thread.to_text());
                    }
                }
            }
        }
        Command::Announce {
            location,
            accounts,
            dry_run,
            again,
            now,
        } => announce(&config, &location, &accounts, dry_run, again, now).await?,
        Command::Watch { once, backfill } => watch(config, once, backfill).await?,
        Command::Queue(args) => queue_command(config, args).await?,
        Command::Run { backfill } => run_daemon(config, Some(backfill)).await?,
        Command::Serve => run_daemon(config, None).await?,
        Command::Accounts(AccountsCommand::Check) => accounts_check(&config).await?,
        Command::Accounts(AccountsCommand::Login { name }) => {
            accounts_login(&config, &name).await?
        }
        Command::Config(ConfigCommand::Defaults) => print!("{}", papercast::config::DEFAULT_TOML),
        Command::Replies(command) => replies(&config, command).await?,
        Command::Discussions {
            post,
            format,
            export,
        } => discussions(&config, post.as_deref(), format, export.as_deref())?,
        Command::Moderators(ModeratorsCommand::HashPassword) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("Type the password and press Enter (it will be shown as you type):");
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(
                    anyhow::anyhow!("the password is empty; give one on standard input").into(),
                );
            }
            let hash =
                papercast::web::auth::hash_password(password).map_err(anyhow::Error::from)?;
            println!("{hash}");
        }
    }
    Ok(())
}

/// Logs go to stderr; `RUST_LOG` changes what is shown (default: papercast's info).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,papercast=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// The accounts named on the command line (all when none), or a config error.
fn select_accounts<'a>(
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

fn client_settings(config: &Config) -> ClientSettings {
    ClientSettings {
        user_agent: config.fetch.user_agent.clone(),
        timeout: Duration::from_secs(config.publish.request_timeout_secs),
        lookup_limit: config.publish.lookup_recent_statuses,
    }
}

/// A client for each account. A token that cannot be read fails that account only,
/// unless `token_optional` (for `--dry-run`, which reads only public limits).
fn targets(config: &Config, accounts: &[&AccountConfig], token_optional: bool) -> Vec<Target> {
    let settings = client_settings(config);
    accounts
        .iter()
        .map(|account| Target {
            account: account.name.clone(),
            platform: client(account, &settings, token_optional),
        })
        .collect()
}

/// The client of one account, for its network.
fn client(
    account: &AccountConfig,
    settings: &ClientSettings,
    token_optional: bool,
) -> Result<Box<dyn Platform>, PlatformError> {
    let bluesky = account.platform == AccountPlatform::Bluesky;
    let token = if bluesky {
        Bluesky::load_password(account)
    } else {
        Secret::load(&account.name, &account.token_source())
    };
    let token = match token {
        Ok(token) => Some(token),
        Err(error) if token_optional => {
            eprintln!("papercast: {error}");
            None
        }
        Err(error) => return Err(error),
    };
    Ok(if bluesky {
        Box::new(Bluesky::new(account, token, settings)?)
    } else {
        Box::new(Mastodon::new(account, token, settings)?)
    })
}

async fn announce(
    config: &Config,
    location: &str,
    names: &[String],
    dry_run: bool,
    again: bool,
    now: bool,
) -> Result<(), Failure> {
    let accounts = select_accounts(config, names)?;
    let announcement = load_announcement(config, location).await?;
    let fetcher = Fetcher::new(&config.fetch).map_err(anyhow::Error::from)?;
    let options = config.compose.options();
    let templates = Templates::from_config(&config.compose.templates_dir)
        .context("loading the thread templates")
        .map_err(Failure::config)?;
    let composer =
        |rules: &LengthRules| compose::compose(&announcement, &templates, rules, &options);
    let settings = PublishSettings::from(&config.publish);

    if dry_run {
        // Nothing is written: the store is read only if it exists already.
        let store = if config.store.path.exists() {
            Some(open_store(config)?)
        } else {
            None
        };
        let recorded = match &store {
            Some(store) if !again => store
                .announcement(&announcement.url)
                .map_err(anyhow::Error::from)?,
            _ => None,
        };
        let empty;
        let store_ref: &dyn Store = match &store {
            Some(store) => store,
            None => {
                empty = SqliteStore::in_memory().map_err(anyhow::Error::from)?;
                &empty
            }
        };
        let publisher = Publisher {
            store: store_ref,
            fetcher: &fetcher,
            settings: &settings,
        };
        let previews = publisher
            .preview(
                recorded.as_ref(),
                targets(config, &accounts, true),
                &composer,
            )
            .await;
        print!("{}", render_previews(&announcement, &previews));
        return Ok(());
    }

    let store = open_store(config)?;
    if !again {
        if let Some(recorded) = store
            .announcement(&announcement.url)
            .map_err(anyhow::Error::from)?
        {
            let threads = store.threads(recorded.id).map_err(anyhow::Error::from)?;
            let done: Vec<_> = accounts
                .iter()
                .filter_map(|a| {
                    threads.iter().find(|t| {
                        t.account == a.name && papercast::publish::plan::plan(t).is_complete()
                    })
                })
                .collect();
            if done.len() == accounts.len() {
                for thread in done {
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
        }
    }
    let recorded = store
        .record_announcement(&announcement, again)
        .map_err(anyhow::Error::from)?;
    let app = App::new(config.clone(), Arc::new(store)).map_err(anyhow::Error::from)?;
    let actor = actor_name(None);
    let drafted = app
        .draft(
            &recorded,
            &accounts,
            Drafting {
                origin: "announce",
                actor: &actor,
                approve: now,
            },
        )
        .await;
    let mut failed = 0;
    let mut reports = Vec::new();
    for drafted in drafted {
        let account = drafted.account;
        let draft = match drafted.result {
            Ok((draft, _)) => draft,
            Err(error) => {
                failed += 1;
                eprintln!("papercast: {error}");
                continue;
            }
        };
        let id = draft.id;
        let waits = match draft.state {
            DraftState::Pending if !now => Some(format!(
                "draft {id} waits for review (`papercast queue show {id}`; \
                 `papercast queue approve {id}` posts it)"
            )),
            DraftState::Rejected if !now => Some(format!(
                "draft {id} was rejected{}{}; `papercast queue approve {id}` posts it anyway",
                draft
                    .decided_by
                    .as_deref()
                    .map(|who| format!(" by {who}"))
                    .unwrap_or_default(),
                draft
                    .reason
                    .as_deref()
                    .map(|why| format!(" ({why})"))
                    .unwrap_or_default()
            )),
            DraftState::Scheduled if !now => Some(format!(
                "draft {id} is scheduled for {}; `papercast run` posts it then",
                time_text(draft.scheduled_at)
            )),
            _ => None,
        };
        if let Some(waits) = waits {
            println!("{account}: {waits}");
            continue;
        }
        let needs_approval = match draft.state {
            DraftState::Approved => false,
            DraftState::Posted => false,
            // Pending/rejected/scheduled with --now, or a failed one: announcing it again
            // is a (re)approval.
            _ => true,
        };
        if needs_approval {
            if let Err(error) =
                queue::approve(app.store.as_ref(), &queue::Request::new(id, &actor), None)
            {
                failed += 1;
                eprintln!("papercast: {error}");
                continue;
            }
        }
        match app.post_draft(id, &actor).await {
            Ok(Posting::Ran(report)) => reports.push(report),
            Ok(Posting::Busy { owner }) => {
                println!("{account}: draft {id} is being posted by another papercast ({owner})")
            }
            Ok(Posting::Interrupted { sent, posts }) => {
                failed += 1;
                eprintln!(
                    "papercast: account `{account}`: stopped with {sent} of {posts} posts sent"
                );
            }
            Err(error) => {
                failed += 1;
                eprintln!("papercast: {error}");
            }
        }
    }
    failed += print_reports(&reports);
    if failed > 0 {
        return Err(Failure {
            code: EXIT_ACCOUNT_FAILED,
            error: anyhow::anyhow!("{failed} of {} account(s) failed", accounts.len()),
        });
    }
    Ok(())
}

/// Prints what the publisher did on each account; returns how many failed.
fn print_reports(reports: &[papercast::publish::AccountReport]) -> usize {
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

/// Who runs this command, for the audit log: `--as NAME`, else `$USER`.
fn actor_name(given: Option<&str>) -> String {
    given
        .map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "cli".into())
}

fn time_text(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The wired-up pipeline on the configured store.
fn open_app(config: Config) -> Result<Arc<App>, Failure> {
    let store = open_store(&config)?;
    let app = App::new(config, Arc::new(store)).map_err(|e| match e {
        papercast::app::AppError::Templates(_) => Failure::config(e),
        other => Failure::from(anyhow::Error::from(other)),
    })?;
    Ok(Arc::new(app))
}

fn warn_about_setup(config: &Config, web: bool) {
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

async fn watch(config: Config, once: bool, backfill: usize) -> Result<(), Failure> {
    if config.sources.is_empty() {
        return Err(Failure::config(anyhow::anyhow!(
            "no feeds to watch: add a [[sources]] table to your config file (see \
             `papercast config defaults`)"
        )));
    }
    warn_about_setup(&config, false);
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
    for source in &app.config.sources {
        let report = app
            .poll_source(source, backfill)
            .await
            .map_err(anyhow::Error::from)?;
        failed += print_source_report(&report);
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

/// Prints one source's poll; returns how many problems it had.
fn print_source_report(report: &papercast::app::watcher::SourceReport) -> usize {
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
        PollOutcome::Failed { error, failures } => {
            problems += 1;
            eprintln!(
                "papercast: {name}: {error} (failure {failures} in a row; its last good \
                 state is kept; next try at {})",
                time_text(Some(report.next_poll_at))
            );
        }
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
async fn stopped_by(
    signal: impl std::future::Future<Output = Result<&'static str, daemon::DaemonError>>,
) {
    match signal.await {
        Ok(name) => tracing::info!("{name} received"),
        Err(error) => tracing::error!("{error}; stopping"),
    }
}

/// `papercast run` (with `backfill`) or `papercast serve` (without).
async fn run_daemon(config: Config, backfill: Option<usize>) -> Result<(), Failure> {
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

async fn queue_command(config: Config, args: QueueArgs) -> Result<(), Failure> {
    let actor = actor_name(args.actor.as_deref());
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
        QueueCommand::Approve { id, at: None } => {
            let draft = queue::approve(store, &queue::Request::new(id, &actor), None)
                .map_err(queue_error)?;
            println!("draft {id}: approved; posting it to `{}`", draft.account);
            match app
                .post_draft(id, &actor)
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
                Posting::Interrupted { sent, posts } => println!(
                    "draft {id}: stopped with {sent} of {posts} posts sent; the rest follows"
                ),
            }
        }
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
        QueueCommand::Reextract { id } => {
            let draft = queue::show(store, id).map_err(queue_error)?;
            let fresh = app
                .read_post(&draft.summary.post_url)
                .await
                .map_err(anyhow::Error::from)?;
            let result = queue::reextract(
                store,
                &queue::Request::new(id, &actor),
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
        }
    }
    Ok(())
}

/// Opens the draft's posts in the user's editor and applies the result.
fn edit_draft(store: &dyn Store, id: i64, actor: &str) -> Result<(), Failure> {
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

fn render_queue(drafts: &[queue::DraftSummary]) -> String {
    if drafts.is_empty() {
        return "no drafts\n".into();
    }
    let mut out = format!(
        "{:>4}  {:<9}  {:<16}  {:>5}  {:<20}  {}\n",
        "ID", "STATE", "ACCOUNT", "POSTS", "SCHEDULED", "POST"
    );
    for d in drafts {
        let posts = if d.sent > 0 && d.sent < d.post_count {
            format!("{}/{}", d.sent, d.post_count)
        } else {
            d.post_count.to_string()
        };
        out.push_str(&format!(
            "{:>4}  {:<9}  {:<16}  {:>5}  {:<20}  {} <{}>\n",
            d.id,
            d.state.as_str(),
            d.account,
            posts,
            if d.scheduled_at.is_some() {
                time_text(d.scheduled_at)
            } else {
                "-".into()
            },
            d.post_title,
            d.post_url
        ));
    }
    out
}

fn render_draft(detail: &queue::DraftDetail) -> String {
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

fn open_store(config: &Config) -> Result<SqliteStore, Failure> {
    SqliteStore::open(&config.store.path).map_err(|e| Failure::from(anyhow::Error::from(e)))
}

fn render_previews(
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

async fn accounts_check(config: &Config) -> Result<(), Failure> {
    let accounts = select_accounts(config, &[])?;
    let settings = client_settings(config);
    let mut failed = 0;
    for account in &accounts {
        let result = async {
            let client = client(account, &settings, false)?;
            let identity = client.verify().await?;
            let limits = client.limits().await?;
            Ok::<_, PlatformError>((identity, limits))
        }
        .await;
        match result {
            Ok((identity, limits)) => println!(
                "{}: ok: {} on {} ({}); posts up to {} characters (URLs count {}), {} images \
                 per post{}",
                account.name,
                identity.handle,
                account.server,
                account.platform.as_str(),
                limits.max_characters,
                match account.platform {
                    AccountPlatform::Bluesky => "in full".to_owned(),
                    _ => limits.characters_reserved_per_url.to_string(),
                },
                limits.max_media_attachments,
                limits
                    .image_size_limit
                    .map(|b| format!(" of up to {:.1} MB", b as f64 / 1e6))
                    .unwrap_or_default()
            ),
            Err(error) => {
                failed += 1;
                println!("{}: FAILED: {error}", account.name);
            }
        }
    }
    if failed > 0 {
        return Err(Failure {
            code: EXIT_ACCOUNT_FAILED,
            error: anyhow::anyhow!("{failed} of {} account(s) failed the check", accounts.len()),
        });
    }
    Ok(())
}

async fn accounts_login(config: &Config, name: &str) -> Result<(), Failure> {
    use megalodon::megalodon::AppInputOptions;
    let account = select_accounts(config, &[name.to_owned()])?[0];
    let Some(sns) = papercast::platform::mastodon::sns(account.platform) else {
        println!(
            "A Bluesky account logs in with an app password: make one in Bluesky's Settings \
             → Privacy and security → App passwords, logged in as {}, and put it in {}. \
             Then check it with `papercast accounts check`.",
            account.handle.as_deref().unwrap_or("the account"),
            account.token_source()
        );
        return Ok(());
    };
    let server = account.server.trim_end_matches('/').to_owned();
    let timeout = Duration::from_secs(config.publish.request_timeout_secs);
    let client = megalodon::generator(
        sns,
        server.clone(),
        None,
        Some(config.fetch.user_agent.clone()),
    )
    .with_context(|| format!("setting up a client for {server}"))?;
    let options = AppInputOptions {
        scopes: Some(vec!["read".into(), "write".into()]),
        redirect_uris: None,
        website: Some("https://graphcore-research.github.io/".into()),
    };
    let app = tokio::time::timeout(timeout, client.register_app("papercast".into(), &options))
        .await
        .map_err(|_| anyhow::anyhow!("{server}: no answer within {} s", timeout.as_secs()))?
        .with_context(|| format!("registering papercast as an app on {server}"))?;
    let Some(url) = app.url.clone() else {
        return Err(anyhow::anyhow!("{server} gave no authorization address").into());
    };
    println!("1. Open this address, logged in as the account `{name}`, and authorize papercast:");
    println!("   {url}");
    println!("2. Paste the code the server shows, then press Enter:");
    let mut code = String::new();
    std::io::stdin()
        .read_line(&mut code)
        .context("reading the code from standard input")?;
    let code = code.trim();
    if code.is_empty() {
        return Err(anyhow::anyhow!(
            "no code was entered; run `papercast accounts login {name}` again"
        )
        .into());
    }
    let redirect = app
        .redirect_uri
        .clone()
        .unwrap_or_else(|| "urn:ietf:wg:oauth:2.0:oob".into());
    let token = tokio::time::timeout(
        timeout,
        client.fetch_access_token(
            app.client_id.clone(),
            app.client_secret.clone(),
            code.into(),
            redirect,
        ),
    )
    .await
    .map_err(|_| anyhow::anyhow!("{server}: no answer within {} s", timeout.as_secs()))?
    .with_context(|| {
        format!("exchanging the code for a token on {server} (was the code right?)")
    })?;
    match account.token_source() {
        TokenSource::File(path) => {
            write_secret_file(&path, &token.access_token)
                .with_context(|| format!("writing the token to {}", path.display()))?;
            println!("The token is in {} (readable by you only).", path.display());
        }
        TokenSource::Env(variable) => {
            println!("Set this in papercast's environment (keep it secret):");
            println!("   {variable}={}", token.access_token);
        }
    }
    println!("Then check it with `papercast accounts check`.");
    Ok(())
}

fn write_secret_file(path: &std::path::Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")
}

fn rules_for(config: &Config, kind: PlatformKind) -> LengthRules {
    match kind {
        PlatformKind::Mastodon => LengthRules::mastodon(
            config.compose.mastodon_max_characters,
            config.compose.mastodon_characters_reserved_per_url,
        ),
        other => LengthRules::default_for(other),
    }
}

async fn load_announcement(config: &Config, location: &str) -> anyhow::Result<Announcement> {
    let fetcher = Fetcher::new(&config.fetch)?;
    let page = fetcher.typed_page(location).await?;
    Ok(extract::extract(&page.html, &page.url)?)
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("encoding JSON output")?;
    println!("{text}");
    Ok(())
}

fn render_announcement(a: &Announcement) -> String {
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

async fn replies(config: &Config, command: RepliesCommand) -> Result<(), Failure> {
    use papercast::replies::{self, discussions, SyncMode, SyncSettings};
    use papercast::store::ReplyStore;
    let store = open_store(config)?;
    match command {
        RepliesCommand::Sync { accounts } => {
            let accounts = select_accounts(config, &accounts)?;
            let targets = targets(config, &accounts, false);
            let settings = SyncSettings::from_config(config);
            let started = std::time::Instant::now();
            let report = replies::sync(
                &store,
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
                     {} restored; {} hidden by rules, {} answered{}",
                    account.account,
                    account.threads_read,
                    account.requests,
                    account.added,
                    account.edited,
                    account.deleted,
                    account.restored,
                    account.hidden_by_rules,
                    account.answered,
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
        }
        RepliesCommand::List { post, format } => {
            let posts = match &post {
                Some(post) => by_post_key(post, |key| {
                    discussions::list(&store, Some(key)).map(|p| Some(p).filter(|p| !p.is_empty()))
                })?
                .ok_or_else(|| not_posted(post))?,
                None => discussions::list(&store, None).map_err(anyhow::Error::from)?,
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
        }
        RepliesCommand::Hide { reply, reason, by } => {
            let record = find_reply(&store, &reply)?;
            store
                .set_reply_hidden(record.id, true, &by, reason.as_deref())
                .map_err(anyhow::Error::from)?;
            println!(
                "reply {} by {} is hidden: {}",
                record.id, record.status.author_handle, record.status.url
            );
        }
        RepliesCommand::Unhide { reply, by } => {
            let record = find_reply(&store, &reply)?;
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
        RepliesCommand::HideAuthor { handle, reason, by } => {
            let canonical = papercast::store::canonical_handle(&handle);
            if !canonical.contains('@') || canonical.starts_with('@') || canonical.ends_with('@') {
                return Err(Failure::from(anyhow::anyhow!(
                    "`{handle}` is not a full handle; write it as @user@server, as \
                     `papercast replies list` shows it"
                )));
            }
            let new = store
                .hide_author(&canonical, &by, reason.as_deref())
                .map_err(anyhow::Error::from)?;
            let recorded = discussions::list(&store, None)
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
        }
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

/// A post given on the command line as the store may know it: as given, then (for a
/// URL without one) with the trailing slash that post URLs have.
fn post_keys(post: &str) -> Vec<String> {
    let post = post.trim();
    let mut keys = vec![post.to_owned()];
    if post.contains("://") && !post.ends_with('/') && !post.contains(['#', '?']) {
        keys.push(format!("{post}/"));
    }
    keys
}

/// The first answer of `find` for any spelling of `post`.
fn by_post_key<T>(
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

fn not_posted(post: &str) -> Failure {
    Failure::from(anyhow::anyhow!(
        "no posted thread of `{post}` is recorded; give the post's URL or slug as \
         `papercast announce` used it (`papercast replies list` shows every post)"
    ))
}

fn find_reply(store: &SqliteStore, reply: &str) -> Result<papercast::store::ReplyRecord, Failure> {
    use papercast::store::ReplyStore;
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

fn render_reply_list(posts: &[papercast::replies::discussions::ListedPost]) -> String {
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

fn discussions(
    config: &Config,
    post: Option<&str>,
    format: DiscussionFormat,
    export: Option<&std::path::Path>,
) -> Result<(), Failure> {
    use papercast::replies::discussions;
    let store = open_store(config)?;
    if let Some(dir) = export {
        let report = discussions::export(&store, dir).map_err(anyhow::Error::from)?;
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
    let discussion = by_post_key(post, |key| discussions::discussion(&store, key))?
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
