//! Getting a Mastodon-family account's token by OAuth's out-of-band flow: papercast
//! registers as an app on the server, the person opens the authorization address
//! logged in as the account, and pastes back the code the server shows.

use super::{sns, ClientSettings};
use crate::config::AccountConfig;
use crate::platform::{PlatformError, Secret};
use megalodon::megalodon::AppInputOptions;
use std::future::Future;

/// The redirect that asks the server to show the code instead of redirecting.
const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";

/// A login under way: papercast is registered; the code is still to come.
pub struct Login {
    account: String,
    server: String,
    settings: ClientSettings,
    client: Box<dyn megalodon::Megalodon + Send + Sync>,
    app: megalodon::oauth::AppData,
}

impl Login {
    /// Registers papercast on the account's server. `None` for an account outside the
    /// Mastodon family (Bluesky logs in with an app password).
    pub async fn start(
        account: &AccountConfig,
        settings: &ClientSettings,
    ) -> Option<Result<Login, PlatformError>> {
        let sns = sns(account.platform)?;
        Some(Self::register(account, sns, settings).await)
    }

    async fn register(
        account: &AccountConfig,
        sns: megalodon::SNS,
        settings: &ClientSettings,
    ) -> Result<Login, PlatformError> {
        let server = account.server.trim_end_matches('/').to_owned();
        let failed = |what: &str, reason: String| PlatformError::Transport {
            account: account.name.clone(),
            what: format!("{what} on {server}"),
            reason,
            connect: false,
        };
        let client =
            megalodon::generator(sns, server.clone(), None, Some(settings.user_agent.clone()))
                .map_err(|e| failed("setting up a client", e.to_string()))?;
        let options = AppInputOptions {
            scopes: Some(vec!["read".into(), "write".into()]),
            redirect_uris: None,
            website: Some("https://graphcore-research.github.io/".into()),
        };
        let what = "registering papercast as an app";
        let app = within(settings, &account.name, what, async {
            client.register_app("papercast".into(), &options).await
        })
        .await?
        .map_err(|e| failed(what, e.to_string()))?;
        Ok(Login {
            account: account.name.clone(),
            server,
            settings: settings.clone(),
            client,
            app,
        })
    }

    /// Where the person authorizes papercast, logged in as the account.
    pub fn authorization_url(&self) -> Result<&str, PlatformError> {
        self.app
            .url
            .as_deref()
            .ok_or_else(|| PlatformError::Malformed {
                account: self.account.clone(),
                what: format!("registering papercast on {}", self.server),
                reason: "the server gave no authorization address".into(),
            })
    }

    /// Exchanges the code the server showed for the account's token.
    pub async fn finish(self, code: &str) -> Result<Secret, PlatformError> {
        let redirect = self
            .app
            .redirect_uri
            .clone()
            .unwrap_or_else(|| OUT_OF_BAND.into());
        let what = "exchanging the code for a token (was the code right?)";
        let token = within(&self.settings, &self.account, what, async {
            self.client
                .fetch_access_token(
                    self.app.client_id.clone(),
                    self.app.client_secret.clone(),
                    code.into(),
                    redirect,
                )
                .await
        })
        .await?
        .map_err(|e| PlatformError::Refused {
            account: self.account.clone(),
            what: format!("{what} on {}", self.server),
            status: 0,
            message: e.to_string(),
        })?;
        Ok(Secret::new(token.access_token))
    }
}

/// Runs `call` within the request timeout.
async fn within<T>(
    settings: &ClientSettings,
    account: &str,
    what: &str,
    call: impl Future<Output = T>,
) -> Result<T, PlatformError> {
    tokio::time::timeout(settings.timeout, call)
        .await
        .map_err(|_| PlatformError::Timeout {
            account: account.into(),
            what: what.into(),
            secs: settings.timeout.as_secs(),
        })
}
