//! `papercast accounts`: check the accounts, and log one in.

use super::{select_accounts, Failure, EXIT_ACCOUNT_FAILED};
use anyhow::Context;
use papercast::config::{AccountConfig, Config, TokenSource};
use papercast::model::PlatformKind;
use papercast::platform::mastodon::login::Login;
use papercast::platform::{ClientSettings, PlatformError};

pub(crate) async fn check(config: &Config) -> Result<(), Failure> {
    let accounts = select_accounts(config, &[])?;
    let settings = ClientSettings::from(config);
    // Usage is only read here: a check must not create a database where none is.
    let store = if config.store.path.exists() {
        Some(super::open_store(config)?)
    } else {
        None
    };
    let month = papercast::store::usage_month(chrono::Utc::now());
    let mut failed = 0;
    for account in &accounts {
        let result = async {
            let secret = papercast::platform::credentials(account)?;
            let client = papercast::platform::connect(account, Some(secret), &settings)?;
            let identity = client.verify().await?;
            let limits = client.limits().await?;
            Ok::<_, PlatformError>((identity, limits))
        }
        .await;
        match result {
            Ok((identity, limits)) => {
                println!(
                    "{}: ok: {} on {} ({}); posts up to {} characters (URLs count {}), {} images \
                 per post{}",
                    account.name,
                    identity.handle,
                    account.server,
                    account.platform.as_str(),
                    limits.max_characters,
                    match account.platform.kind() {
                        PlatformKind::Bluesky | PlatformKind::X => "in full".to_owned(),
                        PlatformKind::Mastodon => limits.characters_reserved_per_url.to_string(),
                    },
                    limits.max_media_attachments,
                    limits
                        .image_size_limit
                        .map(|b| format!(" of up to {:.1} MB", b as f64 / 1e6))
                        .unwrap_or_default()
                );
                if account.kind() == PlatformKind::X {
                    let usage = match &store {
                        Some(store) => {
                            papercast::store::Store::usage(store.as_ref(), &account.name, &month)
                                .map_err(anyhow::Error::from)?
                        }
                        None => papercast::store::Usage::default(),
                    };
                    let limit = account
                        .monthly_post_limit()
                        .map(|l| format!(" of monthly_post_limit = {l}"))
                        .unwrap_or_default();
                    println!(
                        "{}: usage in {month}: {} requests, {} posts{limit}",
                        account.name, usage.requests, usage.posts
                    );
                }
            }
            Err(error) => {
                failed += 1;
                // The error names the account; one line on stderr, none on stdout.
                eprintln!("papercast: FAILED: {error}");
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

pub(crate) async fn login(config: &Config, name: &str) -> Result<(), Failure> {
    let account = select_accounts(config, &[name.to_owned()])?[0];
    let settings = ClientSettings::from(config);
    if account.kind() == PlatformKind::X {
        return login_x(account, &settings).await;
    }
    let Some(started) = Login::start(account, &settings).await else {
        println!(
            "A Bluesky account logs in with an app password: make one in Bluesky's Settings \
             → Privacy and security → App passwords, logged in as {}, and put it in {}. \
             Then check it with `papercast accounts check`.",
            account.handle().unwrap_or("the account"),
            account.token_source()
        );
        return Ok(());
    };
    let started = started.map_err(anyhow::Error::from)?;
    let url = started.authorization_url().map_err(anyhow::Error::from)?;
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
    let token = started.finish(code).await.map_err(anyhow::Error::from)?;
    match account.token_source() {
        TokenSource::File(path) => {
            papercast::platform::Secret::save(&path, token.expose())
                .with_context(|| format!("writing the token to {}", path.display()))?;
            println!("The token is in {} (readable by you only).", path.display());
        }
        TokenSource::Env(variable) => {
            println!("Set this in papercast's environment (keep it secret):");
            println!("   {variable}={}", token.expose());
        }
    }
    println!("Then check it with `papercast accounts check`.");
    Ok(())
}

/// `papercast accounts login` for an X account: OAuth 2.0 with PKCE, out of band.
async fn login_x(account: &AccountConfig, settings: &ClientSettings) -> Result<(), Failure> {
    use papercast::platform::x::login::{XLogin, REDIRECT_URI};
    let name = &account.name;
    let started = XLogin::start(account, settings).map_err(anyhow::Error::from)?;
    println!(
        "1. Open this address, logged in as the X account for `{name}`, and authorize \
         papercast (the X app must list {REDIRECT_URI} as a callback URL):"
    );
    println!("   {}", started.authorization_url());
    println!(
        "2. X then opens an address starting with {REDIRECT_URI} (the page does not load); \
         paste that whole address, then press Enter:"
    );
    let mut pasted = String::new();
    std::io::stdin()
        .read_line(&mut pasted)
        .context("reading the address from standard input")?;
    if pasted.trim().is_empty() {
        return Err(anyhow::anyhow!(
            "nothing was entered; run `papercast accounts login {name}` again"
        )
        .into());
    }
    let token = started.finish(&pasted).await.map_err(anyhow::Error::from)?;
    match account.token_source() {
        TokenSource::File(path) => {
            papercast::platform::x::save_token(&path, &token)
                .with_context(|| format!("writing the token to {}", path.display()))?;
            println!(
                "The token is in {} (readable by you only); papercast refreshes it as it expires.",
                path.display()
            );
        }
        TokenSource::Env(variable) => {
            println!(
                "Set this in papercast's environment (keep it secret; it lasts about 2 hours \
                 and cannot be refreshed from a variable: set token_file instead to keep it \
                 working):"
            );
            println!("   {variable}={}", token.access_token);
        }
    }
    println!("Then check it with `papercast accounts check`.");
    Ok(())
}

/// `papercast moderators hash-password`: reads a password from standard input and
/// prints its Argon2 hash.
pub(crate) fn hash_password() -> Result<(), Failure> {
    let password = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        // Not shown as it is typed, and asked twice so that a typo is caught.
        let first = rpassword::prompt_password("Password (not shown): ")
            .context("reading the password from the terminal")?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("reading the password from the terminal")?;
        if first != again {
            return Err(anyhow::anyhow!("the two passwords differ; nothing was printed").into());
        }
        first
    } else {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .context("reading the password from standard input")?;
        password.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err(anyhow::anyhow!("the password is empty; give one on standard input").into());
    }
    let hash = papercast::web::auth::hash_password(&password).map_err(anyhow::Error::from)?;
    println!("{hash}");
    Ok(())
}

/// `papercast config check`: the configuration loaded (or main has exited 2 already);
/// now what it points at: each account's secret and the thread templates.
pub(crate) fn check_config(
    config: &Config,
    sources: &papercast::config::ConfigSources,
) -> Result<(), Failure> {
    let file = sources.file.clone().or_else(|| {
        let local = std::path::PathBuf::from(papercast::config::LOCAL_FILE);
        local.is_file().then_some(local)
    });
    match &file {
        Some(path) => println!("{}: keys and values ok", path.display()),
        None => println!(
            "no config file (no --config, no ./{}): the built-in defaults and the environment",
            papercast::config::LOCAL_FILE
        ),
    }
    println!(
        "{} account(s), {} feed(s), {} moderator(s); state in {}",
        config.accounts.len(),
        config.sources.len(),
        config.moderators.len(),
        config.store.path.display()
    );
    let mut problems = 0;
    for account in &config.accounts {
        match papercast::platform::credentials(account) {
            Ok(_) => println!(
                "{}: its secret is readable ({})",
                account.name,
                account.token_source()
            ),
            Err(error) => {
                problems += 1;
                eprintln!("papercast: {error}");
            }
        }
    }
    if let Err(error) = papercast::compose::Templates::from_config(&config.compose.templates_dir) {
        problems += 1;
        eprintln!("papercast: thread templates: {error}");
    }
    if problems > 0 {
        return Err(Failure::config(anyhow::anyhow!(
            "{problems} problem(s) in the configuration; see above"
        )));
    }
    println!("configuration ok");
    Ok(())
}
