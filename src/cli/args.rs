//! The command line's arguments: every command, its flags and its --help text.

use clap::{Parser, Subcommand, ValueEnum};
use papercast::model::PlatformKind;
use papercast::queue::DraftState;
use std::path::PathBuf;

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
pub(crate) struct Cli {
    /// Configuration file (TOML). Default: ./papercast.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Extract the featured papers from a post page (URL or saved HTML file).
    Extract {
        /// The post's URL (http:// or https://) or a path to a saved page.
        location: String,
        /// Output: text for people, json for scripts.
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
        /// Output: text for people, json for scripts.
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
    /// Check the notification targets ([[notify]]) and see what was sent to them.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Collect and moderate the replies to papercast's threads.
    #[command(subcommand)]
    Replies(RepliesCommand),
    /// Move the state between backends.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print a post's discussion (its threads and visible replies), or write every
    /// post's discussion as files with --export.
    Discussions {
        /// The post's URL or slug (e.g. 2025-10-07-potm).
        #[arg(required_unless_present = "export", conflicts_with = "export")]
        post: Option<String>,
        /// Output: json (the discussion's data) or html (the page that is published).
        #[arg(long, value_enum, default_value_t = DiscussionFormat::Json)]
        format: DiscussionFormat,
        /// Write <slug>.json and <slug>.html for every announced post into this folder.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
    /// What each post and paper drew (replies, reposts, likes, quotes) per network and
    /// in total, as counted at the last `replies sync`; "n/a" where a network gives no
    /// number. Without POST, every announced post, newest first.
    Report {
        /// The post's URL or slug (e.g. 2025-10-07-potm).
        post: Option<String>,
        /// `text` for people (a count a network does not give shows as n/a), `json`
        /// (null where a network gives no number) or `csv` for a spreadsheet.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Subcommand)]
pub(crate) enum RepliesCommand {
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
        /// Output: text for people, json for scripts.
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
        /// Who you are, for the audit log (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Show a hidden reply again.
    Unhide {
        /// The reply's id (from `replies list`) or its URL.
        reply: String,
        /// Who you are, for the audit log (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Hide every reply by an author, now and later.
    HideAuthor {
        /// The author's full handle, e.g. @someone@mastodon.social.
        handle: String,
        /// Why, for the other moderators.
        #[arg(long)]
        reason: Option<String>,
        /// Who you are, for the audit log (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Show an author's replies again.
    UnhideAuthor {
        /// The author's full handle, e.g. @someone@mastodon.social.
        handle: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormat {
    Text,
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DiscussionFormat {
    Json,
    Html,
}

#[derive(clap::Args)]
pub(crate) struct QueueArgs {
    /// Who you are, for the audit log (default: $USER).
    #[arg(long = "as", value_name = "NAME", global = true)]
    pub(crate) actor: Option<String>,
    #[command(subcommand)]
    pub(crate) command: QueueCommand,
}

#[derive(Subcommand)]
pub(crate) enum QueueCommand {
    /// List the drafts, newest first.
    List {
        /// Only drafts in this state.
        #[arg(long, value_enum)]
        state: Option<StateChoice>,
        /// Output: text for people, json for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show a draft: its posts as they will be posted, their lengths, and its history.
    Show {
        /// The draft's id (from `papercast queue list`).
        id: i64,
        /// Output: text for people, json for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Approve a draft and post it now; with --at, `papercast run` posts it then.
    Approve {
        /// The draft's id (from `papercast queue list`).
        id: i64,
        /// When to post it: 2026-12-01T09:00Z, 2026-12-01T10:00+01:00, or +2h.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Schedule a draft: `papercast run` posts it at that time (same as approve --at).
    Schedule {
        /// The draft's id (from `papercast queue list`).
        id: i64,
        /// When to post it: 2026-12-01T09:00Z, 2026-12-01T10:00+01:00, or +2h.
        #[arg(long, value_name = "TIME")]
        at: String,
    },
    /// Reject a draft: it is not posted.
    Reject {
        /// The draft's id (from `papercast queue list`).
        id: i64,
        /// Why, for the other moderators.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Edit the text of a draft's posts in $VISUAL or $EDITOR.
    Edit {
        /// The draft's id (from `papercast queue list`).
        id: i64,
    },
    /// Read the blog post again, and compose the draft afresh if the post changed.
    Reextract {
        /// The draft's id (from `papercast queue list`).
        id: i64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StateChoice {
    Pending,
    Approved,
    Scheduled,
    Rejected,
    Posted,
    Failed,
}

impl StateChoice {
    pub(crate) fn state(self) -> DraftState {
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
pub(crate) enum StoreCommand {
    /// Copy the SQLite state at store.path (announcements, posts, drafts, audit,
    /// replies, feeds) into an empty PostgreSQL database, so that instances on it
    /// announce nothing again. The password comes from PGPASSWORD or `?passfile=`.
    Copy {
        /// The target: postgres://user@host:5432/papercast (must hold no state yet).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ModeratorsCommand {
    /// Read a password from standard input and print its Argon2 hash, for a
    /// `[[moderators]]` entry's `password_hash` in the config file.
    HashPassword,
}

#[derive(Subcommand)]
pub(crate) enum NotifyCommand {
    /// Send a test event to every [[notify]] target now; exits 1 if any refuses it.
    Test,
    /// The newest notifications: event, target, delivered, retrying or given up.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// `text` for people, `json` for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub(crate) enum AccountsCommand {
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
pub(crate) enum ConfigCommand {
    /// Print the built-in defaults, every key commented.
    Defaults,
    /// Check the configuration (file, environment): its keys and values, each account's
    /// secret, and the thread templates; exit 2 on a problem.
    Check,
    /// Print the effective configuration (defaults, file and environment together) as
    /// TOML, with secrets redacted.
    Show,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PlatformChoice {
    Mastodon,
    Bluesky,
    X,
    All,
}

impl PlatformChoice {
    pub(crate) fn platforms(self) -> Vec<PlatformKind> {
        match self {
            PlatformChoice::Mastodon => vec![PlatformKind::Mastodon],
            PlatformChoice::Bluesky => vec![PlatformKind::Bluesky],
            PlatformChoice::X => vec![PlatformKind::X],
            PlatformChoice::All => PlatformKind::ALL.to_vec(),
        }
    }
}
