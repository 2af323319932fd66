//! Trying a call to a server again: the one retry loop that posting and reading
//! replies share. A failure the server may get over (5xx, no answer) is tried again
//! after a bounded exponential backoff; a rate limit (429) is waited out until the
//! reset the server named. The two have separate budgets, since waiting for a reset
//! is no sign that the server is failing; a reset further away than papercast is
//! willing to wait ends the loop at once.
//!
//! Written here rather than with a retry crate (`backon` was considered): its single
//! backoff budget cannot hold the second budget for rate-limit waits, nor end on a
//! reset too far away with its own error; the waits themselves are two pure
//! functions below.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// The wait before a rate-limited request is tried again when the server named no
/// reset time.
const UNKNOWN_RESET: Duration = Duration::from_secs(60);

/// Added to a server's reset time, so that the retry does not arrive a hair early.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// How many rate-limit waits one call gets before it is given up.
const MAX_RATE_LIMIT_WAITS: u32 = 5;

/// How often and how long to try (from `[publish]`).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries of a call that fails, in all.
    pub max_attempts: u32,
    /// The first wait after a failure; it doubles per failure...
    pub backoff_initial: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// The longest wait for a rate limit to reset.
    pub max_rate_limit_wait: Duration,
}

impl From<&crate::config::PublishConfig> for RetryPolicy {
    fn from(config: &crate::config::PublishConfig) -> Self {
        RetryPolicy {
            max_attempts: config.max_attempts,
            backoff_initial: Duration::from_millis(config.backoff_initial_ms),
            backoff_max: Duration::from_secs(config.backoff_max_secs),
            max_rate_limit_wait: Duration::from_secs(config.max_rate_limit_wait_secs),
        }
    }
}

/// What a failed call means for trying it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rate-limited until this time (when the server said).
    RateLimited(Option<DateTime<Utc>>),
    /// Trying again later may succeed.
    Transient,
    /// Trying again cannot help.
    Final,
}

/// An error that says whether trying again may help.
pub trait Retryable: std::error::Error {
    fn verdict(&self) -> Verdict;
}

/// Why the loop stopped trying.
#[derive(Debug, Error)]
pub enum Exhausted<E: std::error::Error + 'static> {
    // The last error names the account already (every platform error does).
    #[error("{last}; gave up after {attempts} tries")]
    Attempts {
        account: String,
        attempts: u32,
        last: Box<E>,
    },
    #[error("{0}; that is longer than papercast waits (publish.max_rate_limit_wait_secs)")]
    RateLimitTooLong(Box<E>),
}

/// The state of one call's tries: how many failures and rate-limit waits so far.
#[derive(Debug)]
pub struct Retrier<'a> {
    policy: &'a RetryPolicy,
    account: &'a str,
    failures: u32,
    waits: u32,
}

impl<'a> Retrier<'a> {
    /// A fresh budget for one call on `account` (named in logs and errors).
    pub fn new(policy: &'a RetryPolicy, account: &'a str) -> Self {
        Retrier {
            policy,
            account,
            failures: 0,
            waits: 0,
        }
    }

    /// Waits out a rate limit, or says it is too long to wait for.
    pub async fn rate_limited<E: std::error::Error + 'static>(
        &mut self,
        retry_at: Option<DateTime<Utc>>,
        error: E,
    ) -> Result<(), Exhausted<E>> {
        self.waits += 1;
        let decision = if self.waits > MAX_RATE_LIMIT_WAITS {
            RateLimitWait::GiveUp
        } else {
            rate_limit_wait(retry_at, Utc::now(), self.policy.max_rate_limit_wait)
        };
        match decision {
            RateLimitWait::GiveUp => Err(Exhausted::RateLimitTooLong(Box::new(error))),
            RateLimitWait::Sleep(wait) => {
                tracing::warn!(
                    account = %self.account,
                    "{error}; waiting {:.1} s for the limit to reset",
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }

    /// Backs off after a failure that may pass, or gives up once the tries are spent.
    pub async fn failed<E: std::error::Error + 'static>(
        &mut self,
        error: E,
    ) -> Result<(), Exhausted<E>> {
        self.failures += 1;
        if self.failures >= self.policy.max_attempts {
            return Err(Exhausted::Attempts {
                account: self.account.to_owned(),
                attempts: self.failures,
                last: Box::new(error),
            });
        }
        let wait = backoff(
            self.failures,
            self.policy.backoff_initial,
            self.policy.backoff_max,
        );
        tracing::warn!(
            account = %self.account,
            "{error}; trying again in {:.1} s",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Runs a call that is safe to repeat until it succeeds, fails for good, or the
    /// budget is spent.
    pub async fn run<T, E, F, Fut>(mut self, mut call: F) -> Result<T, Stopped<E>>
    where
        E: Retryable + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        loop {
            let error = match call().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match error.verdict() {
                Verdict::RateLimited(retry_at) => self.rate_limited(retry_at, error).await?,
                Verdict::Transient => self.failed(error).await?,
                Verdict::Final => return Err(Stopped::Failed(error)),
            }
        }
    }
}

/// How [`Retrier::run`] ended without a value.
#[derive(Debug)]
pub enum Stopped<E: std::error::Error + 'static> {
    /// The call failed in a way trying again cannot help.
    Failed(E),
    /// The budget is spent.
    Exhausted(Exhausted<E>),
}

impl<E: std::error::Error + 'static> From<Exhausted<E>> for Stopped<E> {
    fn from(exhausted: Exhausted<E>) -> Self {
        Stopped::Exhausted(exhausted)
    }
}

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
