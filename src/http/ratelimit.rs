//! When a rate-limited request may be tried again, from the answer's headers (pure).
//!
//! Servers say it differently: Mastodon sends `X-RateLimit-Reset` as an ISO-8601 time,
//! mastodon-mock and X send epoch seconds, Bluesky `RateLimit-Reset` in epoch seconds,
//! and any HTTP server may send `Retry-After` (seconds or an HTTP date).

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;

/// The time after which a 429'd request may be retried, if the headers say.
/// The reset headers win over `Retry-After`: they name the window's end exactly.
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    ["x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|name| value(name).and_then(|v| parse_reset(v, now)))
        .or_else(|| value("retry-after").and_then(|v| parse_retry_after(v, now)))
}

/// The time until which a window is spent, when a successful answer says no request
/// is left in it (`RateLimit-Remaining: 0`, or `X-RateLimit-Remaining: 0`): the next
/// request would only be refused, so it waits for the reset instead.
pub fn exhausted_until(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let spent = ["x-ratelimit-remaining", "ratelimit-remaining"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .any(|v| v.trim().parse::<u64>() == Ok(0));
    if !spent {
        return None;
    }
    retry_at(headers, now).filter(|at| *at > now)
}

/// A reset time: epoch seconds (integer or fractional), or an ISO-8601 / RFC 3339 time.
fn parse_reset(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(seconds) = value.parse::<f64>() {
        // A header from the network: nothing negative, infinite or absurd is trusted.
        if !(0.0..=1.0e12).contains(&seconds) {
            return None;
        }
        // Some servers send the seconds left in the window instead of a time; a
        // "time" before 2001 can only be that.
        if seconds < 1_000_000_000.0 {
            let wait = chrono::Duration::try_milliseconds((seconds * 1000.0) as i64)?;
            return now.checked_add_signed(wait);
        }
        return Utc.timestamp_millis_opt((seconds * 1000.0) as i64).single();
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `Retry-After`: delay seconds, or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(seconds) = value.parse::<u64>() {
        let wait = chrono::Duration::try_seconds(i64::try_from(seconds).ok()?)?;
        return now.checked_add_signed(wait);
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn mastodon_sends_an_iso_time() {
        let h = headers(&[("X-RateLimit-Reset", "2026-11-28T12:05:00.000Z")]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:05:00Z"));
    }

    #[test]
    fn epoch_seconds_are_understood() {
        let epoch = now().timestamp() + 90;
        let h = headers(&[("X-RateLimit-Reset", &epoch.to_string())]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:01:30Z"));
        let h = headers(&[("ratelimit-reset", &format!("{epoch}.5"))]);
        assert_eq!(
            retry_at(&h, now()),
            Some(now() + chrono::Duration::milliseconds(90_500))
        );
    }

    #[test]
    fn small_numbers_are_seconds_from_now() {
        let h = headers(&[("X-RateLimit-Reset", "30")]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:00:30Z"));
    }

    #[test]
    fn retry_after_is_the_fallback_in_seconds_or_a_date() {
        let h = headers(&[("Retry-After", "120")]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:02:00Z"));
        let h = headers(&[("Retry-After", "Sat, 28 Nov 2026 12:10:00 GMT")]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:10:00Z"));
        let h = headers(&[("X-RateLimit-Reset", "soon"), ("Retry-After", "5")]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:00:05Z"));
    }

    #[test]
    fn the_reset_header_wins_and_nothing_gives_none() {
        let h = headers(&[
            ("X-RateLimit-Reset", "2026-11-28T12:00:02Z"),
            ("Retry-After", "300"),
        ]);
        assert_eq!(retry_at(&h, now()), at("2026-11-28T12:00:02Z"));
        assert_eq!(retry_at(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn a_spent_window_holds_until_its_reset() {
        let epoch = now().timestamp() + 60;
        let h = headers(&[
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", &epoch.to_string()),
        ]);
        assert_eq!(exhausted_until(&h, now()), at("2026-11-28T12:01:00Z"));
        let h = headers(&[
            ("RateLimit-Remaining", "12"),
            ("RateLimit-Reset", &epoch.to_string()),
        ]);
        assert_eq!(exhausted_until(&h, now()), None);
        // A reset already past holds nothing.
        let past = now().timestamp() - 5;
        let h = headers(&[
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", &past.to_string()),
        ]);
        assert_eq!(exhausted_until(&h, now()), None);
        assert_eq!(exhausted_until(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn absurd_values_from_a_server_are_ignored_not_a_panic() {
        for value in ["-1e300", "-inf", "NaN", "1e300", "-5"] {
            let h = headers(&[("X-RateLimit-Reset", value)]);
            assert_eq!(retry_at(&h, now()), None, "{value}");
        }
        let h = headers(&[("Retry-After", "99999999999999999")]);
        assert_eq!(retry_at(&h, now()), None);
    }
}
