//! The `papercast` command line: parses arguments, loads configuration, and hands each
//! command to its family in `cli/`.

mod cli;

use clap::Parser;
use cli::args::{AccountsCommand, Cli, Command, ConfigCommand, ModeratorsCommand, StoreCommand};
use cli::{Failure, EXIT_CONFIG, EXIT_FAILURE};
use papercast::config::{Config, ConfigSources};
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_logging();
    let runtime = match cli::runtime_for(&cli.command) {
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
            cli::post::extract(&config, &location, format).await
        }
        Command::Preview {
            location,
            platform,
            format,
            ..
        } => cli::post::preview(&config, &location, platform, format).await,
        Command::Announce {
            location,
            accounts,
            dry_run,
            again,
            now,
        } => {
            let how = papercast::app::announce::Request {
                dry_run,
                again,
                now,
            };
            cli::post::announce(&config, &location, &accounts, how).await
        }
        Command::Watch { once, backfill } => cli::watch::watch(config, once, backfill).await,
        Command::Queue(args) => cli::queue::queue_command(config, args).await,
        Command::Run { backfill } => cli::watch::run_daemon(config, Some(backfill)).await,
        Command::Serve => cli::watch::run_daemon(config, None).await,
        Command::Accounts(AccountsCommand::Check) => cli::accounts::check(&config).await,
        Command::Accounts(AccountsCommand::Login { name }) => {
            cli::accounts::login(&config, &name).await
        }
        Command::Config(ConfigCommand::Defaults) => {
            print!("{}", papercast::config::DEFAULT_TOML);
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => cli::accounts::check_config(&config, &sources),
        Command::Config(ConfigCommand::Show) => {
            let text = Config::effective_toml(&sources).map_err(Failure::config)?;
            print!("{text}");
            Ok(())
        }
        Command::Replies(command) => cli::replies::replies(&config, command).await,
        Command::Discussions {
            post,
            format,
            export,
        } => cli::replies::discussions(&config, post.as_deref(), format, export.as_deref()),
        Command::Report { post, format } => cli::replies::report(&config, post.as_deref(), format),
        Command::Moderators(ModeratorsCommand::HashPassword) => cli::accounts::hash_password(),
        Command::Notify(command) => cli::notify::notify(config, command).await,
        Command::Store(StoreCommand::Copy { to }) => cli::store_copy(&config, &to),
    }
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
