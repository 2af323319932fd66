//! `papercast notify`: send a test event to every target, list what was queued and
//! whether it was delivered.

use super::args::{Format, NotifyCommand};
use super::{open_app, open_store, print_json, Failure};
use anyhow::anyhow;
use papercast::config::Config;

pub(crate) async fn notify(config: Config, command: NotifyCommand) -> Result<(), Failure> {
    if config.notify.is_empty() {
        return Err(Failure::config(anyhow!(
            "no notification targets are configured; add a [[notify]] table to your config \
             file (`papercast config defaults` shows the keys)"
        )));
    }
    match command {
        NotifyCommand::Test => {
            let app = open_app(config)?;
            let mut failed = 0;
            for (target, result) in app.notifier.send_test("papercast notify test").await {
                match result {
                    Ok(()) => println!("{target}: delivered"),
                    Err(error) => {
                        failed += 1;
                        eprintln!("{error}");
                    }
                }
            }
            if failed > 0 {
                return Err(anyhow!(
                    "{failed} of {} target(s) did not take the test event (see above)",
                    app.notifier.targets().len()
                )
                .into());
            }
            Ok(())
        }
        NotifyCommand::List { limit, format } => {
            let store = open_store(&config)?;
            let items = store.notifications(limit).map_err(anyhow::Error::from)?;
            match format {
                Format::Json => {
                    let rows: Vec<serde_json::Value> = items
                        .iter()
                        .map(|n| {
                            serde_json::json!({
                                "id": n.id,
                                "key": n.key,
                                "target": n.target,
                                "event": n.event,
                                "created_at": n.created_at,
                                "attempts": n.attempts,
                                "next_attempt_at": n.next_attempt_at,
                                "delivered_at": n.delivered_at,
                                "gave_up_at": n.gave_up_at,
                                "last_error": n.last_error,
                            })
                        })
                        .collect();
                    print_json(&rows)?;
                }
                Format::Text => {
                    if items.is_empty() {
                        println!("no notifications yet");
                    }
                    for n in &items {
                        let state = match (&n.delivered_at, &n.gave_up_at) {
                            (Some(at), _) => format!("delivered {}", super::time_text(Some(*at))),
                            (None, Some(at)) => format!("given up {}", super::time_text(Some(*at))),
                            (None, None) if n.attempts == 0 => "queued".to_owned(),
                            (None, None) => format!(
                                "retry {} (attempt {})",
                                super::time_text(Some(n.next_attempt_at)),
                                n.attempts + 1
                            ),
                        };
                        let error = n
                            .last_error
                            .as_deref()
                            .map(|e| format!(" — {e}"))
                            .unwrap_or_default();
                        println!("{}  {}  {}  {state}{error}", n.id, n.target, n.key);
                    }
                }
            }
            Ok(())
        }
    }
}
