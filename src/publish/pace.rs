//! How long to wait before trying again (pure): bounded exponential backoff after a
//! failure, and the server's reset time after a rate limit.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The wait before a rate-limited request is tried again when the server named no
/// reset time.
const UNKNOWN_RESET: Duration = Duration::from_secs(60);

/// Added to a server's reset time, so that the retry does not arrive a hair early.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// The wait before try number `attempt + 1`, after `attempt` failed tries (from 1):
/// `initial`, doubling, never more than `max`.
pub fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    initial.saturating_mul(factor).min(max)
}

/// What to do about a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitWait {
    /// Wait this long, then try again.
    Sleep(Duration),
    /// The reset is further away than papercast is willing to wait.
    GiveUp,
}

/// Decides the wait for a 429 whose reset is `retry_at` (when the server said), waiting
/// no longer than `cap`.
pub fn rate_limit_wait(
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    cap: Duration,
) -> RateLimitWait {
    let wait = match retry_at {
        // A reset already past (clock skew) still gets the margin, never a busy loop.
        Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO) + RESET_MARGIN,
        None => UNKNOWN_RESET,
    };
    if wait > cap {
        RateLimitWait::GiveUp
    } else {
        RateLimitWait::Sleep(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let initial = Duration::from_millis(500);
        let max = Duration::from_secs(3);
        let waits: Vec<_> = (1..=5).map(|a| backoff(a, initial, max)).collect();
        assert_eq!(
            waits,
            [
                Duration::from_millis(500),
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(3),
                Duration::from_secs(3)
            ]
        );
        assert_eq!(backoff(200, initial, max), max, "no overflow");
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn a_near_reset_is_waited_for() {
        let cap = Duration::from_secs(900);
        assert_eq!(
            rate_limit_wait(Some(at(5)), at(0), cap),
            RateLimitWait::Sleep(Duration::from_secs(5) + RESET_MARGIN)
        );
        assert_eq!(
            rate_limit_wait(Some(at(-30)), at(0), cap),
            RateLimitWait::Sleep(RESET_MARGIN),
            "a reset in the past is not a negative wait"
        );
        assert_eq!(
            rate_limit_wait(None, at(0), cap),
            RateLimitWait::Sleep(UNKNOWN_RESET)
        );
    }

    #[test]
    fn a_far_reset_gives_up() {
        assert_eq!(
            rate_limit_wait(Some(at(3600)), at(0), Duration::from_secs(900)),
            RateLimitWait::GiveUp
        );
        assert_eq!(
            rate_limit_wait(None, at(0), Duration::from_secs(10)),
            RateLimitWait::GiveUp
        );
    }
}
