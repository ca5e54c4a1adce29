//! The retry policy, apart from any I/O: what an answer means for its request (classify), how
//! long to wait before the next attempt (backoff with jitter, `Retry-After` as seconds or an
//! HTTP date, capped). The worker applies it; the contract's rules are tested here.

use std::time::{Duration, SystemTime};

/// Attempts per request at most (the other AllStak SDKs: 5).
pub(super) const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What a response or failure means for the request that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Sent,
    /// Not retried: the server refused this request for good.
    Rejected(u16),
    Unauthorized,
    /// Retried after the server's `Retry-After`, or the backoff when it gave none.
    RetryAfter(Option<Duration>),
    /// A 5xx, a 408, 421 or 425, or no HTTP status at all: retried with backoff.
    Failed,
    /// No answer at all (refused, unresolvable, TLS failure, timeout): retried with backoff
    /// while the program runs, not once it is ending — waiting would only delay its exit.
    Unreachable,
    /// Not written: an earlier run that did not wait for the network wrote it recently, and
    /// this one has read no answer yet (see [`super::Written`]).
    Withheld,
}

/// The outcome of an answer with HTTP `status` and, if any, its `Retry-After` header.
pub(super) fn classify(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        401 => Outcome::Unauthorized,
        429 | 503 => Outcome::RetryAfter(
            retry_after
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
                .map(|wait| wait.min(MAX_RETRY_AFTER)),
        ),
        // Not a verdict on the request, tried again as a 5xx is: the server gave up waiting
        // for it (408: a proxy's or load balancer's timeout, an idle kept connection closed as
        // it went out), it reached the wrong server (421) or came too early (425), or the
        // answer is no HTTP status at all.
        408 | 421 | 425 | 500..=599 | 0..=99 | 600.. => Outcome::Failed,
        // The rest (another 4xx, a redirect) will not change by trying again.
        _ => Outcome::Rejected(status),
    }
}

/// 1 s, 2 s, 4 s, 8 s…, each shortened by up to a quarter at random so clients spread out.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF * 2u32.saturating_pow(attempt.min(8));
    // A quarter of `base`, scaled by 32 random bits (integers only: no float code is linked
    // in for this).
    let random = crate::random::random_u128() >> 96;
    let jitter = (base.as_nanos() * random) >> 34;
    base - Duration::from_nanos(u64::try_from(jitter).unwrap_or(0))
}

/// `Retry-After` as seconds or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = crate::time::parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_contract_says() {
        assert_eq!(classify(202, None), Outcome::Sent);
        assert_eq!(classify(401, None), Outcome::Unauthorized);
        for permanent in [400, 403, 404, 422] {
            assert_eq!(classify(permanent, None), Outcome::Rejected(permanent));
        }
        assert_eq!(classify(500, None), Outcome::Failed);
        for transient in [408, 421, 425, 0, 999] {
            assert_eq!(classify(transient, None), Outcome::Failed, "{transient}");
        }
        for permanent in [301, 405, 409, 413] {
            assert_eq!(classify(permanent, None), Outcome::Rejected(permanent));
        }
        assert_eq!(classify(502, None), Outcome::Failed);
        assert_eq!(
            classify(429, Some("7")),
            Outcome::RetryAfter(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            classify(503, Some("86400")),
            Outcome::RetryAfter(Some(MAX_RETRY_AFTER))
        );
        assert_eq!(classify(503, Some("whenever")), Outcome::RetryAfter(None));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49 GMT", now), None);
        assert_eq!(parse_retry_after("tomorrow", now), None);
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics_on_any_header(value in ".{0,64}") {
            let _ = parse_retry_after(&value, SystemTime::now());
        }

    }

    #[test]
    fn backoff_doubles_with_at_most_a_quarter_of_jitter() {
        for attempt in 0..4 {
            let full = FIRST_BACKOFF * 2u32.pow(attempt);
            for _ in 0..20 {
                let wait = backoff(attempt);
                assert!(wait <= full && wait >= full.mul_f64(0.75), "{wait:?}");
            }
        }
    }
}
