//! papercast's configuration: built-in defaults, the user's file, environment, flags.
//!
//! Sources are layered in one order, later wins: `config/default.toml` (embedded) →
//! the file given by `--config` (or `papercast.toml` in the working directory, when
//! present) → environment variables `PAPERCAST__SECTION__KEY` → command-line overrides.
//! Unknown keys are an error that names the key.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The embedded defaults, also printed by `papercast config defaults`.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The file read from the working directory when no `--config` is given.
pub const LOCAL_FILE: &str = "papercast.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub fetch: FetchConfig,
    pub compose: ComposeConfig,
    pub web: WebConfig,
    #[serde(default)]
    pub moderators: Vec<ModeratorConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchConfig {
    pub user_agent: String,
    pub timeout_secs: u64,
    pub max_page_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    /// Folder of user templates overriding the bundled ones; empty = none.
    pub templates_dir: PathBuf,
    pub closing_post: bool,
    pub mastodon_max_characters: usize,
    pub mastodon_characters_reserved_per_url: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub listen: String,
    pub session_secret_env: String,
    pub session_hours: u64,
    pub hook_secret_env: String,
}

/// A person who may log in to the moderators' page.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeratorConfig {
    pub name: String,
    /// Argon2 PHC string; see `papercast moderators hash-password`.
    pub password_hash: String,
}

impl std::fmt::Debug for ModeratorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModeratorConfig")
            .field("name", &self.name)
            .field("password_hash", &"<hidden>")
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Where to read configuration from, and what the command line overrides.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    /// The user's file; `None` = `papercast.toml` in the working directory if present.
    pub file: Option<PathBuf>,
    /// `(key, value)` pairs from command-line flags, e.g. `("compose.closing_post", "false")`.
    pub overrides: Vec<(String, String)>,
    /// Environment variables to read, as `(name, value)`; `None` = the process environment.
    pub environment: Option<Vec<(String, String)>>,
}

impl Config {
    /// Loads the configuration from all sources, in precedence order.
    pub fn load(sources: &ConfigSources) -> Result<Config, ConfigError> {
        use config::{Environment, File, FileFormat};

        let mut builder =
            config::Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));

        let file = match &sources.file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::File {
                        path: path.clone(),
                        message: "no such file; pass an existing TOML file to --config".into(),
                    });
                }
                Some(path.clone())
            }
            None => Some(PathBuf::from(LOCAL_FILE)).filter(|p| p.is_file()),
        };
        if let Some(path) = &file {
            builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
        }

        let mut environment = Environment::with_prefix("PAPERCAST")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true);
        if let Some(vars) = &sources.environment {
            environment = environment.source(Some(vars.iter().cloned().collect()));
        }
        builder = builder.add_source(environment);

        for (key, value) in &sources.overrides {
            builder = builder
                .set_override(key.as_str(), value.as_str())
                .map_err(|e| ConfigError::Invalid(format!("flag for `{key}`: {e}")))?;
        }

        let merged = builder.build().map_err(|e| describe(e, file.as_deref()))?;
        let config: Config = merged
            .try_deserialize()
            .map_err(|e| describe(e, file.as_deref()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.fetch.timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "fetch.timeout_secs is 0; set it to a number of seconds, e.g. 20".into(),
            ));
        }
        if self.compose.mastodon_max_characters < 100 {
            return Err(ConfigError::Invalid(format!(
                "compose.mastodon_max_characters is {}; a Mastodon post needs at least 100 \
                 (the default is 500)",
                self.compose.mastodon_max_characters
            )));
        }
        if self.web.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "web.listen is `{}`; give an address and port, e.g. 127.0.0.1:8080",
                self.web.listen
            )));
        }
        if self.web.session_hours == 0 {
            return Err(ConfigError::Invalid(
                "web.session_hours is 0; set it to e.g. 12".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for moderator in &self.moderators {
            if !names.insert(moderator.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "moderator `{}` is listed twice",
                    moderator.name
                )));
            }
            if !moderator.password_hash.starts_with("$argon2") {
                return Err(ConfigError::Invalid(format!(
                    "moderators: `{}` has a password_hash that is not an Argon2 hash; make one \
                     with `papercast moderators hash-password`",
                    moderator.name
                )));
            }
        }
        Ok(())
    }
}

fn describe(error: config::ConfigError, file: Option<&Path>) -> ConfigError {
    let message = error.to_string();
    match file {
        Some(path) if message.contains(&path.display().to_string()) || file_error(&error) => {
            ConfigError::File {
                path: path.to_path_buf(),
                message,
            }
        }
        _ => ConfigError::Invalid(message),
    }
}

fn file_error(error: &config::ConfigError) -> bool {
    matches!(
        error,
        config::ConfigError::FileParse { .. } | config::ConfigError::Foreign(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load(
        file: Option<&str>,
        env: &[(&str, &str)],
        flags: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let file = file.map(|text| {
            let mut f = tempfile::NamedTempFile::with_suffix(".toml").expect("temp file");
            f.write_all(text.as_bytes()).expect("write temp file");
            f
        });
        Config::load(&ConfigSources {
            file: file.as_ref().map(|f| f.path().to_path_buf()),
            overrides: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            environment: Some(
                env.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        })
    }

    #[test]
    fn defaults_load_alone() {
        let config = load(None, &[], &[]).expect("defaults");
        assert_eq!(config.fetch.timeout_secs, 20);
        assert_eq!(config.compose.mastodon_max_characters, 500);
        assert!(config.compose.closing_post);
    }

    #[test]
    fn file_then_environment_then_flags_win_in_order() {
        let file = "[fetch]\ntimeout_secs = 7\nmax_page_bytes = 10\n";
        let env = [("PAPERCAST__FETCH__TIMEOUT_SECS", "8")];
        let config = load(Some(file), &env, &[]).expect("config");
        assert_eq!(config.fetch.timeout_secs, 8, "environment beats the file");
        assert_eq!(config.fetch.max_page_bytes, 10, "file beats the defaults");

        let config = load(Some(file), &env, &[("fetch.timeout_secs", "9")]).expect("config");
        assert_eq!(config.fetch.timeout_secs, 9, "flags beat the environment");
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let error = load(Some("[fetch]\ntimeout_sec = 7\n"), &[], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("timeout_sec"), "{error}");
    }

    #[test]
    fn unknown_key_in_environment_is_named() {
        let error =
            load(None, &[("PAPERCAST__COMPOSE__CLOSING", "false")], &[]).expect_err("unknown key");
        assert!(error.to_string().contains("closing"), "{error}");
    }

    #[test]
    fn bad_value_says_what_to_fix() {
        let error = load(Some("[fetch]\ntimeout_secs = 0\n"), &[], &[]).expect_err("zero timeout");
        assert!(error.to_string().contains("fetch.timeout_secs"), "{error}");
        let error = load(Some("[fetch]\ntimeout_secs = \"soon\"\n"), &[], &[]).expect_err("string");
        assert!(error.to_string().contains("timeout_secs"), "{error}");
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let error = Config::load(&ConfigSources {
            file: Some(PathBuf::from("/nonexistent/papercast.toml")),
            ..Default::default()
        })
        .expect_err("missing file");
        assert!(
            error.to_string().contains("/nonexistent/papercast.toml"),
            "{error}"
        );
    }
}
