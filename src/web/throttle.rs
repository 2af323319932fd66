//! Login throttling (pure, no I/O): failed logins counted per client address and per
//! moderator name in a fixed window; past the limit a login is refused at once, before
//! any password is checked, until the window ends.
//!
//! Only names of configured moderators get a counter of their own (unknown names are
//! covered by their address), and the table of addresses is bounded, so that a flood
//! of invented names or addresses cannot grow memory without limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses tracked at once; past it, expired entries are dropped first and a
/// new address is then left uncounted (its moderator name still is).
const MAX_TRACKED: usize = 10_000;

/// What a failed login is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Address(IpAddr),
    Moderator(String),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Counts failed logins; see the module documentation.
#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<Key, Failures>>,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginThrottle {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(wait)` when any of `keys` has used up its failures: refuse the login and
    /// tell the client to come back after `wait`.
    pub fn check(&self, keys: &[Key], now: Instant) -> Result<(), Duration> {
        let table = self.table();
        let wait = keys
            .iter()
            .filter_map(|key| table.get(key))
            .filter(|f| f.count >= self.max_failures)
            .filter_map(|f| (f.since + self.window).checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed login against each of `keys`.
    pub fn failed(&self, keys: &[Key], now: Instant) {
        let mut table = self.table();
        for key in keys {
            if !table.contains_key(key) && table.len() >= MAX_TRACKED {
                let window = self.window;
                table.retain(|_, f| now.saturating_duration_since(f.since) < window);
                if table.len() >= MAX_TRACKED && matches!(key, Key::Address(_)) {
                    continue;
                }
            }
            let entry = table.entry(key.clone()).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now.saturating_duration_since(entry.since) >= self.window {
                *entry = Failures {
                    count: 0,
                    since: now,
                };
            }
            entry.count = entry.count.saturating_add(1);
        }
    }

    /// A good login clears the counters of its address and name.
    pub fn succeeded(&self, keys: &[Key]) {
        let mut table = self.table();
        for key in keys {
            table.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_are_refused_until_the_window_ends() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let keys = [
            Key::Address("127.0.0.1".parse().expect("ip")),
            Key::Moderator("ann".into()),
        ];
        for _ in 0..3 {
            assert_eq!(throttle.check(&keys, start), Ok(()));
            throttle.failed(&keys, start);
        }
        assert_eq!(
            throttle.check(&keys, start + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        // Another address is refused too while the name is throttled, and vice versa.
        let other_address = [
            Key::Address("10.0.0.2".parse().expect("ip")),
            Key::Moderator("ann".into()),
        ];
        assert!(throttle.check(&other_address, start).is_err());
        let other_name = [Key::Address("127.0.0.1".parse().expect("ip"))];
        assert!(throttle.check(&other_name, start).is_err());
        assert_eq!(
            throttle.check(&keys, start + Duration::from_secs(60)),
            Ok(())
        );
        throttle.failed(&keys, start + Duration::from_secs(61));
        assert_eq!(
            throttle.check(&keys, start + Duration::from_secs(61)),
            Ok(()),
            "a new window starts counting from one"
        );
    }

    #[test]
    fn a_good_login_clears_its_counters() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        let keys = [Key::Moderator("ann".into())];
        throttle.failed(&keys, now);
        throttle.succeeded(&keys);
        throttle.failed(&keys, now);
        assert_eq!(throttle.check(&keys, now), Ok(()));
    }

    #[test]
    fn the_table_of_addresses_stays_bounded() {
        let throttle = LoginThrottle::new(1, Duration::from_secs(60));
        let now = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 500) {
            throttle.failed(&[Key::Address(IpAddr::from(n.to_be_bytes()))], now);
        }
        assert_eq!(throttle.table().len(), MAX_TRACKED);
        // A moderator's name is still counted when the table is full.
        let name = [Key::Moderator("ann".into())];
        throttle.failed(&name, now);
        assert!(throttle.check(&name, now).is_err());
    }
}
