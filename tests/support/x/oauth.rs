//! OAuth 2.0 with PKCE as X runs it: the user's approval of an authorization address,
//! and `POST /2/oauth2/token` (authorization code, and refresh with rotation).

use super::state::{
    oauth_error, random_token, Answer, Grant, PendingCode, Request, State, KNOWN_SCOPES, SCOPES,
};
use base64::Engine;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

/// X's authorization codes last 30 s; here 10 min, so that a slow machine does not
/// fail a test that exchanges the code at once.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

impl State {
    /// The user's approval of an authorization request: checks the address the client
    /// built (`/i/oauth2/authorize?...`) as X does and returns the redirect address
    /// with `code` and `state`.
    pub fn approve(&mut self, user: usize, query: &[(String, String)]) -> Result<String, String> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if get("response_type").as_deref() != Some("code") {
            return Err("response_type must be `code`".into());
        }
        if get("client_id").as_deref() != Some(self.client_id.as_str()) {
            return Err(format!(
                "client_id {:?} is not this app's ({})",
                get("client_id"),
                self.client_id
            ));
        }
        let redirect_uri = get("redirect_uri").ok_or("redirect_uri is missing")?;
        if !self.callback_urls.is_empty() && !self.callback_urls.contains(&redirect_uri) {
            return Err(format!(
                "redirect_uri {redirect_uri} is not a callback URL of the app ({:?})",
                self.callback_urls
            ));
        }
        let state = get("state").ok_or("state is missing")?;
        let challenge = get("code_challenge").ok_or("code_challenge is missing")?;
        let method = get("code_challenge_method").unwrap_or_else(|| "plain".into());
        if method != "S256" && method != "plain" {
            return Err(format!(
                "code_challenge_method {method} is not S256 or plain"
            ));
        }
        let scope = get("scope").ok_or("scope is missing")?;
        let scopes: BTreeSet<String> = scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(format!("unknown scope {unknown}"));
        }
        let code = random_token(48);
        self.codes.insert(
            code.clone(),
            PendingCode {
                user,
                scopes,
                redirect_uri: redirect_uri.clone(),
                challenge,
                method,
                expires: SystemTime::now() + CODE_LIFETIME,
            },
        );
        self.issued.push(code.clone());
        let mut url = url::Url::parse(&redirect_uri).map_err(|e| format!("redirect_uri: {e}"))?;
        url.query_pairs_mut()
            .append_pair("state", &state)
            .append_pair("code", &code);
        Ok(url.to_string())
    }

    /// `GET /i/oauth2/authorize`: the first user approves at once and is sent back.
    pub(super) fn authorize_redirect(&mut self, request: &Request) -> Answer {
        match self.approve(0, &request.query) {
            Ok(location) => Answer {
                status: 302,
                body: Value::Null,
                headers: vec![("location".into(), location)],
            },
            Err(message) => oauth_error(400, "invalid_request", &message),
        }
    }

    fn client_ok(&self, request: &Request, form: &HashMap<String, String>) -> Result<(), Answer> {
        if let Some(basic) = request
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Basic "))
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .unwrap_or_default();
            let expected = format!(
                "{}:{}",
                self.client_id,
                self.client_secret.as_deref().unwrap_or_default()
            );
            if self.client_secret.is_none() || decoded != expected {
                return Err(oauth_error(
                    401,
                    "unauthorized_client",
                    "Invalid client credentials.",
                ));
            }
            return Ok(());
        }
        if self.client_secret.is_some() {
            return Err(oauth_error(
                401,
                "unauthorized_client",
                "Missing valid authorization header",
            ));
        }
        if form.get("client_id") != Some(&self.client_id) {
            return Err(oauth_error(
                400,
                "invalid_request",
                "Missing required parameter [client_id].",
            ));
        }
        Ok(())
    }

    pub(super) fn token_endpoint(&mut self, request: &Request) -> Answer {
        let form_body = request
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form_body {
            return oauth_error(
                400,
                "invalid_request",
                "The body must be application/x-www-form-urlencoded.",
            );
        }
        let form = request.form();
        if let Err(answer) = self.client_ok(request, &form) {
            return answer;
        }
        let invalid_token = || {
            oauth_error(
                400,
                "invalid_request",
                "Value passed for the token was invalid.",
            )
        };
        let (user, scopes) = match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let Some(pending) = form.get("code").and_then(|c| self.codes.remove(c)) else {
                    return invalid_token();
                };
                if pending.expires <= SystemTime::now() {
                    return invalid_token();
                }
                if form.get("redirect_uri") != Some(&pending.redirect_uri) {
                    return oauth_error(400, "invalid_request", "Value passed for the redirect uri did not match the uri of the authorization code.");
                }
                let Some(verifier) = form.get("code_verifier") else {
                    return oauth_error(
                        400,
                        "invalid_request",
                        "Missing required parameter [code_verifier].",
                    );
                };
                if !pkce_ok(&pending.method, &pending.challenge, verifier) {
                    return oauth_error(
                        400,
                        "invalid_request",
                        "Value passed for the code verifier did not match the code challenge.",
                    );
                }
                (pending.user, pending.scopes)
            }
            Some("refresh_token") => {
                // One use each: X rotates the refresh token on every refresh.
                let Some(grant) = form
                    .get("refresh_token")
                    .and_then(|t| self.refresh_tokens.remove(t))
                else {
                    return invalid_token();
                };
                (grant.user, grant.scopes)
            }
            other => {
                return oauth_error(
                    400,
                    "invalid_request",
                    &format!("Unsupported grant_type {other:?}."),
                )
            }
        };
        let access = self.issue_access(user, &scopes);
        let mut body = json!({
            "token_type": "bearer",
            "expires_in": self.token_lifetime.as_secs(),
            "access_token": access,
            "scope": scopes.iter().cloned().collect::<Vec<_>>().join(" "),
        });
        if scopes.contains("offline.access") {
            let refresh = random_token(64);
            self.refresh_tokens.insert(
                refresh.clone(),
                Grant {
                    user,
                    scopes: scopes.clone(),
                },
            );
            self.issued.push(refresh.clone());
            body["refresh_token"] = refresh.into();
        }
        Answer::json(200, body)
    }

    /// A refresh token for `user` (as if they had logged in), with every scope.
    pub fn refresh_token_for(&mut self, user: usize) -> String {
        let refresh = random_token(64);
        self.refresh_tokens.insert(
            refresh.clone(),
            Grant {
                user,
                scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            },
        );
        self.issued.push(refresh.clone());
        refresh
    }
}

fn pkce_ok(method: &str, challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    match method {
        "S256" => {
            let digest = sha2::Sha256::digest(verifier.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_slice()) == challenge
        }
        _ => verifier == challenge,
    }
}
