//! Receivers of papercast's notifications on loopback: an HTTP server that records
//! every webhook request and answers as a test scripts it (fail, hang, accept), and a
//! real SMTP server, `aiosmtpd` from PyPI, that keeps each message in a maildir.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// aiosmtpd, pinned.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// How the webhook receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Never answers (until the client gives up).
    Hang,
}

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What it answered (`None`: it hung).
    pub answered: Option<u16>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    received: Vec<Received>,
}

/// An HTTP server taking webhooks on any path; after its script it answers 200.
pub struct WebhookReceiver {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    _runtime: tokio::runtime::Runtime,
}

impl WebhookReceiver {
    pub fn start(script: &[Answer]) -> WebhookReceiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            received: Vec::new(),
        }));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binding the receiver");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::clone(&shared);
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let state = Arc::clone(&state);
                async move {
                    let answer = {
                        let mut shared = state.lock().expect("receiver state");
                        let answer = shared.script.pop_front().unwrap_or(Answer::Status(200));
                        shared.received.push(Received {
                            path: uri.path().to_owned(),
                            headers: headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                                })
                                .collect(),
                            body: body.to_vec(),
                            answered: match answer {
                                Answer::Status(code) => Some(code),
                                Answer::Hang => None,
                            },
                        });
                        answer
                    };
                    match answer {
                        Answer::Status(code) => axum::http::StatusCode::from_u16(code)
                            .unwrap_or(axum::http::StatusCode::OK),
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(600)).await;
                            axum::http::StatusCode::OK
                        }
                    }
                }
            },
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            base,
            shared,
            _runtime: runtime,
        }
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("receiver state").received.clone()
    }
}

/// A running aiosmtpd keeping every message in a maildir; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Child,
}

/// A message as the SMTP server received it, decoded by Python's `email` package.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
    pub body: String,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let venv = super::pip_installed("aiosmtpd", AIOSMTPD);
        let maildir = tempfile::tempdir().expect("temp dir");
        let port = super::free_port();
        let child = Command::new(venv.join("bin/aiosmtpd"))
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let server = SmtpServer {
            port,
            maildir,
            child,
        };
        super::rig::wait_until("aiosmtpd listening", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        server
    }

    fn python(&self) -> PathBuf {
        super::peers_dir().join("aiosmtpd/bin/python")
    }

    /// Every message received so far, decoded.
    pub fn mails(&self) -> Vec<Mail> {
        let script = r#"
import email, email.policy, json, mailbox, sys
out = []
for message in mailbox.Maildir(sys.argv[1], factory=None):
    m = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    out.append({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
                "message_id": str(m["message-id"]), "body": m.get_content()})
print(json.dumps(out))
"#;
        let output = Command::new(self.python())
            .args(["-c", script])
            .arg(self.maildir.path().join("box"))
            .output()
            .expect("reading the maildir");
        if !output.status.success() {
            // No message yet: the maildir is made with the first one.
            return Vec::new();
        }
        let list: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).expect("the maildir as JSON");
        list.iter()
            .map(|m| Mail {
                subject: m["subject"].as_str().unwrap_or("").to_owned(),
                from: m["from"].as_str().unwrap_or("").to_owned(),
                to: m["to"].as_str().unwrap_or("").to_owned(),
                message_id: m["message_id"].as_str().unwrap_or("").to_owned(),
                body: m["body"].as_str().unwrap_or("").to_owned(),
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
