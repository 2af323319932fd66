//! Getting an X account's OAuth 2.0 user token by the authorization code flow with
//! PKCE, out of band: papercast prints the authorization address, the person opens it
//! logged in as the account and approves, and pastes back the address X redirected to
//! (or just its `code`).

use super::{TokenAnswer, TokenFile};
use crate::config::AccountConfig;
use crate::platform::mastodon::ClientSettings;
use crate::platform::PlatformError;
use base64::Engine;
use chrono::Utc;
use sha2::Digest;

/// What papercast asks for: reading and posting, images, and a refresh token.
pub const SCOPES: &str = "tweet.read tweet.write users.read media.write offline.access";

/// The redirect address registered in the X app for papercast. Nothing listens
/// there: the browser shows an error page whose address carries the code to paste.
pub const REDIRECT_URI: &str = "http://127.0.0.1/papercast/x-callback";

/// A login under way: the address is made; the code is still to come.
pub struct XLogin {
    account: String,
    server: String,
    client_id: String,
    verifier: String,
    state: String,
    settings: ClientSettings,
}

impl XLogin {
    /// Prepares a login for `account` with the app's client id (from its
    /// `client_id_env`).
    pub fn start(
        account: &AccountConfig,
        settings: &ClientSettings,
    ) -> Result<Self, PlatformError> {
        let missing = |reason: String| PlatformError::Token {
            account: account.name.clone(),
            reason,
        };
        let name = account.client_id_env().ok_or_else(|| {
            missing(
                "logging in needs the X app's OAuth 2.0 client id: set client_id_env in the \
                 account to the name of a variable holding it"
                    .into(),
            )
        })?;
        let client_id = std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                missing(format!(
                    "the environment variable {name} (client_id_env) is not set; set it to \
                     the X app's OAuth 2.0 client id"
                ))
            })?;
        let random = |what: &str| {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| {
                missing(format!(
                    "the system gave no random bytes for the {what} ({e})"
                ))
            })?;
            Ok::<_, PlatformError>(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        };
        Ok(XLogin {
            account: account.name.clone(),
            server: account.server.trim_end_matches('/').to_owned(),
            client_id,
            verifier: random("PKCE verifier")?,
            state: random("state")?,
            settings: settings.clone(),
        })
    }

    /// Where the person approves papercast: x.com for X's own API, else the server's
    /// own `/i/oauth2/authorize`.
    pub fn authorization_url(&self) -> String {
        let base = match url::Url::parse(&self.server)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .as_deref()
        {
            Some("api.x.com" | "api.twitter.com") => "https://x.com".to_owned(),
            _ => self.server.clone(),
        };
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(self.verifier.as_bytes()).as_slice());
        let mut url = match url::Url::parse(&format!("{base}/i/oauth2/authorize")) {
            Ok(url) => url,
            Err(_) => return format!("{base}/i/oauth2/authorize"),
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", SCOPES)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    }

    /// The code in what the person pasted: the redirect address (whose `state` must be
    /// this login's) or the code alone.
    fn code<'a>(&self, pasted: &'a str) -> Result<std::borrow::Cow<'a, str>, PlatformError> {
        let refused = |message: String| PlatformError::Refused {
            account: self.account.clone(),
            what: "reading the pasted address".into(),
            status: 0,
            message,
        };
        let pasted = pasted.trim();
        let Ok(url) = url::Url::parse(pasted) else {
            return Ok(pasted.into());
        };
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if let Some(error) = get("error") {
            return Err(refused(format!(
                "X answered `{error}`: the login was not approved; run the login again"
            )));
        }
        if get("state").as_deref() != Some(self.state.as_str()) {
            return Err(refused(
                "the address is not from this login (its state differs); open the address \
                 printed by this run"
                    .into(),
            ));
        }
        get("code")
            .map(Into::into)
            .ok_or_else(|| refused("the address has no `code`".into()))
    }

    /// Exchanges the pasted code for the account's tokens.
    pub async fn finish(self, pasted: &str) -> Result<TokenFile, PlatformError> {
        let code = self.code(pasted)?;
        let what = "exchanging the code for a token (was the code right, and used once?)";
        let http = reqwest::Client::builder()
            .user_agent(self.settings.user_agent.clone())
            .timeout(self.settings.timeout)
            .build()
            .map_err(|e| {
                PlatformError::Unsupported(format!("a client for {}: {e}", self.server))
            })?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &self.verifier),
            ("client_id", &self.client_id),
        ];
        let response = http
            .post(format!("{}/2/oauth2/token", self.server))
            .form(&form)
            .send()
            .await
            .map_err(|e| PlatformError::Transport {
                account: self.account.clone(),
                what: what.into(),
                reason: crate::http::root_cause(&e),
                connect: e.is_connect(),
            })?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            return Err(PlatformError::Refused {
                account: self.account.clone(),
                what: what.into(),
                status: status.as_u16(),
                message: super::error_message(&body),
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| PlatformError::Malformed {
                account: self.account.clone(),
                what: what.into(),
                reason: e.to_string(),
            })?;
        Ok(answer.into_file(Utc::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(server: &str) -> XLogin {
        XLogin {
            account: "gc-x".into(),
            server: server.into(),
            client_id: "client".into(),
            verifier: "v".repeat(43),
            state: "s123".into(),
            settings: ClientSettings {
                user_agent: "t".into(),
                timeout: std::time::Duration::from_secs(1),
                lookup_limit: 20,
            },
        }
    }

    #[test]
    fn the_address_goes_to_x_com_with_pkce_and_every_scope() {
        let url = login("https://api.x.com").authorization_url();
        assert!(
            url.starts_with("https://x.com/i/oauth2/authorize?"),
            "{url}"
        );
        assert!(url.contains("code_challenge_method=S256") && url.contains("offline.access"));
        let local = login("http://127.0.0.1:9").authorization_url();
        assert!(
            local.starts_with("http://127.0.0.1:9/i/oauth2/authorize?"),
            "{local}"
        );
    }

    #[test]
    fn the_pasted_address_gives_its_code_when_its_state_matches() {
        let login = login("https://api.x.com");
        let ok = format!("{REDIRECT_URI}?state=s123&code=abc");
        assert_eq!(login.code(&ok).expect("code"), "abc");
        assert_eq!(login.code(" abc \n").expect("bare code"), "abc");
        assert!(login
            .code(&format!("{REDIRECT_URI}?state=other&code=abc"))
            .is_err());
        assert!(login
            .code(&format!("{REDIRECT_URI}?error=access_denied&state=s123"))
            .is_err());
    }
}
