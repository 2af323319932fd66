//! A login flood against the real `papercast serve` process over real HTTP: hundreds
//! of concurrent wrong logins leave the process's memory within a stated bound (at
//! most a few Argon2 checks run at once), every one is answered 401 or 429, and the
//! right moderator can log in afterwards.

mod support;

use papercast::web::auth;
use std::process::{Child, Stdio};
use support::rig::web_address;

/// The bound on the server's peak resident memory (VmHWM) during the flood. Two
/// Argon2 checks at ~19 MiB each over a ~25 MiB idle process stay under it (65 MiB
/// measured); one check per login at once, or a fresh 19 MiB per check on a pool of
/// blocking threads, took 240-400 MiB here and gigabytes on a larger machine.
const PEAK_RSS_BOUND_KIB: u64 = 128 * 1024;
const FLOOD: usize = 300;
const ROUNDS: usize = 3;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_keeps_memory_bounded_and_the_moderator_can_still_log_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = auth::hash_password("s3cret pass").expect("hash");
    // Throttling is set out of the way here, so that the bound on concurrent checks
    // is what keeps memory flat (the throttle has its own test in tests/web.rs).
    std::fs::write(
        dir.path().join("papercast.toml"),
        format!(
            "[web]\nlisten = \"127.0.0.1:0\"\nlogin_max_failures = 10000\n\n\
             [[moderators]]\nname = \"ann\"\npassword_hash = \"{hash}\"\n"
        ),
    )
    .expect("config");
    let child = support::command(dir.path(), &["serve"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).expect("log"))
        .spawn()
        .expect("starting papercast serve");
    let mut server = Server(child);
    let base = web_address(&mut server.0);
    let pid = server.0.id();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let idle = memory_kib(pid, "VmRSS");

    let (mut unauthorized, mut too_many) = (0, 0);
    for round in 0..ROUNDS {
        let logins = (0..FLOOD).map(|n| {
            let client = client.clone();
            let base = base.clone();
            let name = if n % 2 == 0 { "ann" } else { "mallory" };
            async move {
                let password = format!("guess {round} {n}");
                let answer = support::post_login(&client, &base, name, &password).await;
                Ok::<_, reqwest::Error>((answer.status().as_u16(), answer.headers().clone()))
            }
        });
        for answer in futures_util::future::join_all(logins).await {
            let (status, headers) = answer.expect("every login is answered");
            match status {
                401 => unauthorized += 1,
                429 => {
                    too_many += 1;
                    assert!(headers.contains_key("retry-after"), "{headers:?}");
                }
                other => panic!("a wrong login answered {other}"),
            }
        }
    }
    let peak = memory_kib(pid, "VmHWM");
    let after = memory_kib(pid, "VmRSS");
    eprintln!(
        "login flood: {} logins, {unauthorized} checked (401), {too_many} refused (429); \
         RSS idle {idle} KiB, peak {peak} KiB, after {after} KiB",
        FLOOD * ROUNDS
    );
    assert!(unauthorized > 0, "some logins were checked");
    assert_eq!(unauthorized + too_many, FLOOD * ROUNDS);
    assert!(
        peak < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB over the bound of {PEAK_RSS_BOUND_KIB} KiB (idle {idle} KiB)"
    );

    let answer = support::post_login(&client, &base, "ann", "s3cret pass").await;
    assert_eq!(answer.status(), 303, "the right moderator logs in");
    assert!(answer.headers().contains_key("set-cookie"));
}
