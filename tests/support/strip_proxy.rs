//! A reverse proxy in front of a test server that removes the `Idempotency-Key` header
//! from every request, as several Mastodon-family servers ignore it: what papercast
//! sends twice is then posted twice, and only its own care prevents duplicates.
//!
//! One request per connection: the request head is rewritten (the header dropped,
//! `Connection: close` set) and everything else is piped both ways as it comes, so
//! chunked and multipart bodies pass unchanged. A request whose client is killed is
//! still carried to its end, as a real server finishes what it has received.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

pub struct StripProxy {
    pub base: String,
    /// How many requests arrived with an `Idempotency-Key` that was removed.
    pub stripped: Arc<AtomicUsize>,
}

impl StripProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> StripProxy {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let stripped = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&stripped);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (target, counter) = (target.clone(), Arc::clone(&counter));
                thread::spawn(move || {
                    let _ = relay(client, &target, &counter);
                });
            }
        });
        StripProxy { base, stripped }
    }
}

fn relay(mut client: TcpStream, target: &str, stripped: &AtomicUsize) -> std::io::Result<()> {
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
    let mut upstream = TcpStream::connect(target)?;
    upstream.write_all(rewritten.as_bytes())?;
    let (mut from_client, mut to_upstream) = (client.try_clone()?, upstream.try_clone()?);
    let body = thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
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
