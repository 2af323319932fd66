//! The `papercast` command line: parses arguments, loads configuration, calls the library.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use papercast::compose::{self, ComposeOptions, Templates, Thread};
use papercast::config::{Config, ConfigSources};
use papercast::platform::{LengthRules, PlatformKind};
use papercast::source::Fetcher;
use papercast::{extract, Announcement};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for a configuration error (bad file, unknown key, bad value).
const EXIT_CONFIG: u8 = 2;
/// Exit code for any other failure.
const EXIT_FAILURE: u8 = 1;

#[derive(Parser)]
#[command(
    name = "papercast",
    version,
    about = "Announces Graphcore Research \"Papers of the Month\" posts as threads on Mastodon, Bluesky and X",
    long_about = "Announces Graphcore Research \"Papers of the Month\" posts as threads on \
        Mastodon, Bluesky and X.\n\nConfiguration comes from the built-in defaults, then \
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
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage moderators of the web page.
    #[command(subcommand)]
    Moderators(ModeratorsCommand),
}

#[derive(Subcommand)]
enum ModeratorsCommand {
    /// Read a password from standard input and print its Argon2 hash, for a
    /// `[[moderators]]` entry's `password_hash` in the config file.
    HashPassword,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            let options = ComposeOptions {
                closing_post: config.compose.closing_post,
            };
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
            match format {
                Format::Json => print_json(&threads)?,
                Format::Text => print!("{}", render_threads(&threads)),
            }
        }
        Command::Config(ConfigCommand::Defaults) => print!("{}", papercast::config::DEFAULT_TOML),
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
    let page = fetcher.page(location).await?;
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

fn render_threads(threads: &[Thread]) -> String {
    let mut out = String::new();
    for thread in threads {
        out.push_str(&format!(
            "== {} ({} posts)\n",
            thread.platform,
            thread.posts.len()
        ));
        for (i, post) in thread.posts.iter().enumerate() {
            out.push_str(&format!(
                "-- {}/{} [{}/{}]\n{}\n",
                i + 1,
                thread.posts.len(),
                post.length,
                post.limit,
                post.text
            ));
            for image in &post.images {
                out.push_str(&format!("   [image: {} | alt: {}]\n", image.url, image.alt));
            }
        }
        out.push('\n');
    }
    out
}
