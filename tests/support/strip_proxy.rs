//! A reverse proxy in front of a test server that removes the `Idempotency-Key` header
//! from every request, as several Mastodon-family servers ignore it: what papercast
//! sends twice is then posted twice, and only its own care prevents duplicates.
//!
//! One request per connection: the request head is rewritten (the header dropped,
//! `Connection: close` set) and everything else is piped both ways as it comes, so
//! chunked and multipart bodies pass unchanged. A request whose client is killed is
//! still carried to its end, as a real server finishes what it has received.
//!
//! [`StripProxy::holding`] also holds each new status (`POST /api/v1/statuses`) for a
//! moment before passing it on, and a status whose client goes away (is killed) while
//! it is held much longer, as a busy server's queue may: that status then appears on
//! the server seconds after the kill, so a rerun that looks for it at once does not
//! find it, and would post it a second time.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a new status waits in the proxy before the server sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hold {
    /// Every new status waits this long, while the proxy watches its client.
    pub watching: Duration,
    /// A status whose client went away meanwhile waits this much longer.
    pub after_client_gone: Duration,
}

pub struct StripProxy {
    pub base: String,
    /// How many requests arrived with an `Idempotency-Key` that was removed.
    pub stripped: Arc<AtomicUsize>,
    /// Requests received and not yet answered by the server (held ones included).
    in_flight: Arc<AtomicUsize>,
}

impl StripProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> StripProxy {
        StripProxy::holding(upstream, Hold::default())
    }

    /// Proxies to `upstream`, holding every new status as `hold` says.
    pub fn holding(upstream: &str, hold: Hold) -> StripProxy {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let stripped = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&stripped);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let busy = Arc::clone(&in_flight);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (target, counter) = (target.clone(), Arc::clone(&counter));
                let busy = Arc::clone(&busy);
                busy.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = relay(client, &target, &counter, hold);
                    busy.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        StripProxy {
            base,
            stripped,
            in_flight,
        }
    }

    /// Waits until every request received so far has reached the server and been
    /// answered (a held one from a killed run included), up to `limit`.
    pub fn wait_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "the proxy still holds requests after {limit:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn relay(
    mut client: TcpStream,
    target: &str,
    stripped: &AtomicUsize,
    hold: Hold,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut rewritten = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name == "idempotency-key" {
            stripped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        if name == "connection" {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let held = !hold.watching.is_zero() && text.starts_with("POST /api/v1/statuses ");
    // A held status is read whole first, so that the proxy can tell a client that went
    // away (end of stream) from one that waits for the answer.
    let mut body = Vec::new();
    if held {
        body.resize(content_length(&text), 0);
        client.read_exact(&mut body)?;
        if client_goes_away(&client, hold.watching)? {
            thread::sleep(hold.after_client_gone);
        }
    }
    let mut upstream = TcpStream::connect(target)?;
    upstream.write_all(rewritten.as_bytes())?;
    upstream.write_all(&body)?;
    let (mut from_client, mut to_upstream) = (client.try_clone()?, upstream.try_clone()?);
    // A held request was read whole: nothing more to pass on, and no half-close, which
    // the server could take for a client that gave up.
    let body = thread::spawn(move || {
        if !held {
            let _ = std::io::copy(&mut from_client, &mut to_upstream);
            let _ = to_upstream.shutdown(Shutdown::Write);
        }
    });
    // The answer is read to its end even when the client has gone (killed): like a
    // real server, the upstream then finishes the request instead of seeing a
    // disconnect and dropping it, so a killed run's last post does land, late.
    let mut buffer = [0u8; 8192];
    let mut client_gone = false;
    loop {
        let read = upstream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        if !client_gone {
            client_gone = client.write_all(&buffer[..read]).is_err();
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
    let _ = body.join();
    Ok(())
}

/// The `Content-Length` of a request head (0 without one).
fn content_length(head: &str) -> usize {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Watches `client` for `window`: whether it closed its end (was killed) meanwhile.
fn client_goes_away(client: &TcpStream, window: Duration) -> std::io::Result<bool> {
    let deadline = Instant::now() + window;
    client.set_nonblocking(true)?;
    let mut gone = false;
    while Instant::now() < deadline {
        let mut probe = [0u8; 1];
        match client.peek(&mut probe) {
            Ok(0) => {
                gone = true;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                gone = true;
                break;
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    client.set_nonblocking(false)?;
    // Held for the rest of the window either way, as the server's queue would.
    if let Some(rest) = deadline.checked_duration_since(Instant::now()) {
        thread::sleep(rest);
    }
    Ok(gone)
}
