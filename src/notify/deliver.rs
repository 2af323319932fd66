//! Sending one notification to one target: an HTTP POST for a webhook, a message
//! through SMTP for email.

use super::message::{signature, Event};
use super::NotifyError;
use crate::config::{NotifyChannel, NotifyConfig, SmtpTls, WebhookFormat};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Sends notifications; one HTTP client for every webhook.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    timeout: Duration,
}

impl Deliverer {
    pub fn new(user_agent: &str, timeout: Duration) -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            // A webhook address is the receiver itself: a redirect elsewhere is refused.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Setup(e.to_string()))?;
        Ok(Deliverer { client, timeout })
    }

    /// The longest one delivery can take: its request within the timeout, or an
    /// email's few SMTP exchanges each within it.
    pub fn longest_delivery(&self) -> Duration {
        self.timeout.saturating_mul(4)
    }

    /// Sends `event` to `target`; `delivery` is the same on every attempt of one
    /// notification, so that a receiver can tell a repeat.
    pub async fn deliver(
        &self,
        target: &NotifyConfig,
        event: &Event,
        delivery: &str,
    ) -> Result<(), NotifyError> {
        let fail = |reason: String| NotifyError::Delivery {
            target: target.name.clone(),
            reason,
        };
        match &target.channel {
            NotifyChannel::Webhook {
                url,
                format,
                secret_env,
            } => {
                let body = match format {
                    WebhookFormat::Json => serde_json::to_vec(event),
                    WebhookFormat::Slack => serde_json::to_vec(&event.slack_payload()),
                }
                .map_err(|e| fail(e.to_string()))?;
                let mut request = self
                    .client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-Papercast-Event", event.event.as_str())
                    .header("X-Papercast-Delivery", delivery);
                if let Some(name) = secret_env {
                    let secret = std::env::var(name).map_err(|_| {
                        fail(format!(
                            "the environment variable {name} (secret_env) is not set; set it \
                             to the secret the receiver checks, or remove secret_env"
                        ))
                    })?;
                    request = request.header(
                        "X-Papercast-Signature-256",
                        signature(secret.as_bytes(), &body),
                    );
                }
                let answer = request.body(body).send().await.map_err(|e| {
                    if e.is_timeout() {
                        fail(format!("no answer within {} s", self.timeout.as_secs()))
                    } else {
                        fail(format!(
                            "cannot reach {url}: {}",
                            crate::http::root_cause(&e)
                        ))
                    }
                })?;
                let status = answer.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(fail(format!("{url} answered {status}")))
                }
            }
            NotifyChannel::Email {
                smtp_host,
                smtp_port,
                tls,
                username,
                password_env,
                password_file,
                from,
                to,
            } => {
                let mut message = Message::builder()
                    .from(from.parse().map_err(|e| fail(format!("from: {e}")))?)
                    .subject(event.subject())
                    .message_id(Some(format!("<{delivery}@papercast>")))
                    .header(ContentType::TEXT_PLAIN);
                for address in to {
                    message = message.to(address.parse().map_err(|e| fail(format!("to: {e}")))?);
                }
                let message = message
                    .body(event.email_body())
                    .map_err(|e| fail(e.to_string()))?;
                let mut transport = match tls {
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(smtp_host),
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(smtp_host)
                    }
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        smtp_host,
                    )),
                }
                .map_err(|e| fail(format!("SMTP server {smtp_host}: {e}")))?
                .port(*smtp_port)
                .timeout(Some(self.timeout));
                if let Some(user) = username {
                    let password = smtp_password(password_env.as_deref(), password_file.as_deref())
                        .map_err(fail)?;
                    transport = transport.credentials(Credentials::new(user.clone(), password));
                }
                transport
                    .build()
                    .send(message)
                    .await
                    .map_err(|e| fail(format!("SMTP {smtp_host}:{smtp_port}: {e}")))?;
                Ok(())
            }
        }
    }
}

fn smtp_password(env: Option<&str>, file: Option<&std::path::Path>) -> Result<String, String> {
    match (env, file) {
        (Some(name), _) => std::env::var(name)
            .map_err(|_| format!("the environment variable {name} (password_env) is not set")),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| format!("reading password_file {}: {e}", path.display())),
        (None, None) => Err("username is set but neither password_env nor password_file".into()),
    }
}
