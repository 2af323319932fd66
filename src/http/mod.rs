//! papercast's HTTP edge toward the networks: the one retry loop with its rate-limit
//! waits and backoff, reading when a rate limit resets from an answer's headers, and
//! saying what went wrong with a request in words a person can act on.

pub mod ratelimit;
pub mod retry;

pub use ratelimit::{exhausted_until, retry_at};
pub use retry::{Exhausted, Retrier, RetryPolicy, Retryable, Stopped, Verdict};

/// The innermost cause of an error, which is what a person can act on
/// ("Connection refused" rather than "error sending request").
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
