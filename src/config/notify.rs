//! `[[notify]]`: where moderators are told that a draft waits, a thread went out or
//! failed, and which of those events each target takes.

use serde::Deserialize;

/// One notification target as written in `[[notify]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "NotifyTable")]
pub struct NotifyConfig {
    /// Your name for it: letters, digits, `-` and `_`; deliveries are recorded under it.
    pub name: String,
    /// The events sent to it.
    pub events: Vec<NotifyEvent>,
    /// Remind this target of a draft that has waited longer than this, once per interval.
    pub remind_after: Option<std::time::Duration>,
    pub channel: NotifyChannel,
}

/// How a target is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyChannel {
    /// An HTTP POST of the event.
    Webhook {
        url: String,
        format: WebhookFormat,
        /// The environment variable holding the HMAC-SHA256 key that signs the body
        /// (`X-Papercast-Signature-256`); unset = unsigned.
        secret_env: Option<String>,
    },
    /// A plain-text email through an SMTP server.
    Email {
        smtp_host: String,
        smtp_port: u16,
        tls: SmtpTls,
        /// SMTP user name; the password from `password_env` or `password_file`.
        username: Option<String>,
        password_env: Option<String>,
        password_file: Option<std::path::PathBuf>,
        from: String,
        to: Vec<String>,
    },
}

/// What a webhook's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// papercast's own JSON document.
    #[default]
    Json,
    /// `{"text": …}`, as Slack-compatible incoming webhooks (Mattermost, Zulip) take.
    Slack,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine (loopback).
    None,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// A new draft waits for a moderator.
    DraftWaiting,
    /// A draft has waited longer than the target's `remind_after`.
    Reminder,
    /// A thread is on the network.
    ThreadPosted,
    /// A thread stopped after its retries; it waits for a moderator.
    ThreadFailed,
    /// The network refused the account's token (401/403): nothing posts until it is fixed.
    AccountStopped,
    /// `papercast notify test`.
    Test,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::DraftWaiting,
        NotifyEvent::Reminder,
        NotifyEvent::ThreadPosted,
        NotifyEvent::ThreadFailed,
        NotifyEvent::AccountStopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::DraftWaiting => "draft_waiting",
            NotifyEvent::Reminder => "reminder",
            NotifyEvent::ThreadPosted => "thread_posted",
            NotifyEvent::ThreadFailed => "thread_failed",
            NotifyEvent::AccountStopped => "account_stopped",
            NotifyEvent::Test => "test",
        }
    }
}

impl NotifyConfig {
    /// Whether this target takes `event` (a test goes to every target).
    pub fn wants(&self, event: NotifyEvent) -> bool {
        event == NotifyEvent::Test || self.events.contains(&event)
    }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum NotifyTable {
    Webhook(WebhookTable),
    Email(EmailTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookTable {
    name: String,
    events: Option<Vec<NotifyEvent>>,
    remind_after: Option<String>,
    url: String,
    #[serde(default)]
    format: WebhookFormat,
    secret_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailTable {
    name: String,
    events: Option<Vec<NotifyEvent>>,
    remind_after: Option<String>,
    smtp_host: String,
    smtp_port: Option<u16>,
    #[serde(default)]
    tls: SmtpTls,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<std::path::PathBuf>,
    from: String,
    to: Vec<String>,
}

fn common(
    name: &str,
    events: Option<Vec<NotifyEvent>>,
    remind_after: Option<String>,
) -> Result<(Vec<NotifyEvent>, Option<std::time::Duration>), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "notify target name `{name}`: use letters, digits, `-` and `_`"
        ));
    }
    let events = events.unwrap_or_else(|| NotifyEvent::ALL.to_vec());
    if events.is_empty() {
        return Err(format!(
            "notify target `{name}`: events is empty; list some of draft_waiting, reminder, \
             thread_posted, thread_failed, account_stopped, or leave it out for all"
        ));
    }
    let remind_after = match remind_after {
        None => None,
        Some(text) => {
            let wait = super::parse_duration(&text)
                .map_err(|e| format!("notify target `{name}`: remind_after: {e}"))?;
            if wait < std::time::Duration::from_secs(60) {
                return Err(format!(
                    "notify target `{name}`: remind_after is `{text}`; remind at most once a \
                     minute, e.g. \"24h\""
                ));
            }
            Some(wait)
        }
    };
    Ok((events, remind_after))
}

impl TryFrom<NotifyTable> for NotifyConfig {
    type Error = String;

    fn try_from(table: NotifyTable) -> Result<Self, String> {
        match table {
            NotifyTable::Webhook(t) => {
                let (events, remind_after) = common(&t.name, t.events, t.remind_after)?;
                let scheme = url::Url::parse(&t.url).map(|u| u.scheme().to_owned());
                if !matches!(scheme.as_deref(), Ok("http" | "https")) {
                    return Err(format!(
                        "notify target `{}`: url `{}` is not an http(s) address",
                        t.name, t.url
                    ));
                }
                Ok(NotifyConfig {
                    name: t.name,
                    events,
                    remind_after,
                    channel: NotifyChannel::Webhook {
                        url: t.url,
                        format: t.format,
                        secret_env: t.secret_env,
                    },
                })
            }
            NotifyTable::Email(t) => {
                let (events, remind_after) = common(&t.name, t.events, t.remind_after)?;
                if t.to.is_empty() {
                    return Err(format!(
                        "notify target `{}`: `to` is empty; give at least one address",
                        t.name
                    ));
                }
                for address in std::iter::once(&t.from).chain(&t.to) {
                    if address.parse::<lettre::Address>().is_err() {
                        return Err(format!(
                            "notify target `{}`: `{address}` is not an email address",
                            t.name
                        ));
                    }
                }
                if t.password_env.is_some() && t.password_file.is_some() {
                    return Err(format!(
                        "notify target `{}`: give password_env or password_file, not both",
                        t.name
                    ));
                }
                if t.tls == SmtpTls::None && !is_loopback(&t.smtp_host) {
                    return Err(format!(
                        "notify target `{}`: tls = \"none\" sends mail in clear text; it is \
                         accepted only for a relay on this machine (smtp_host = \"127.0.0.1\" \
                         or \"localhost\"); use \"starttls\" or \"tls\"",
                        t.name
                    ));
                }
                let port = t.smtp_port.unwrap_or(match t.tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::Starttls => 587,
                    SmtpTls::None => 25,
                });
                Ok(NotifyConfig {
                    name: t.name,
                    events,
                    remind_after,
                    channel: NotifyChannel::Email {
                        smtp_host: t.smtp_host,
                        smtp_port: port,
                        tls: t.tls,
                        username: t.username,
                        password_env: t.password_env,
                        password_file: t.password_file,
                        from: t.from,
                        to: t.to,
                    },
                })
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<NotifyConfig, String> {
        #[derive(Deserialize)]
        struct Doc {
            notify: Vec<NotifyConfig>,
        }
        let doc: Result<Doc, _> = config::Config::builder()
            .add_source(config::File::from_str(toml_text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize());
        doc.map(|mut d| d.notify.remove(0))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_webhook_takes_every_event_unless_told_and_json_by_default() {
        let target = parse(
            "[[notify]]\nname = \"team\"\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\n",
        )
        .unwrap();
        assert_eq!(target.events, NotifyEvent::ALL.to_vec());
        assert!(matches!(
            target.channel,
            NotifyChannel::Webhook {
                format: WebhookFormat::Json,
                ..
            }
        ));
        assert_eq!(target.remind_after, None);
    }

    #[test]
    fn clear_text_smtp_is_refused_off_this_machine() {
        let error = parse(
            "[[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"mail.example\"\n\
             tls = \"none\"\nfrom = \"bot@example.org\"\nto = [\"mods@example.org\"]\n",
        )
        .unwrap_err();
        assert!(error.contains("clear text"), "{error}");
        let ok = parse(
            "[[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\n\
             tls = \"none\"\nfrom = \"bot@example.org\"\nto = [\"mods@example.org\"]\nremind_after = \"24h\"\n",
        )
        .unwrap();
        assert_eq!(
            ok.remind_after,
            Some(std::time::Duration::from_secs(86_400))
        );
        assert!(matches!(
            ok.channel,
            NotifyChannel::Email { smtp_port: 25, .. }
        ));
    }

    #[test]
    fn a_bad_address_url_or_reminder_names_the_target() {
        for (body, expect) in [
            (
                "kind = \"webhook\"\nurl = \"ftp://x\"",
                "not an http(s) address",
            ),
            (
                "kind = \"email\"\nsmtp_host = \"h\"\nfrom = \"nobody\"\nto = [\"a@b.c\"]",
                "`nobody` is not an email address",
            ),
            (
                "kind = \"webhook\"\nurl = \"https://x\"\nremind_after = \"5s\"",
                "at most once a minute",
            ),
        ] {
            let error = parse(&format!("[[notify]]\nname = \"t\"\n{body}\n")).unwrap_err();
            assert!(error.contains("`t`") && error.contains(expect), "{error}");
        }
    }
}
