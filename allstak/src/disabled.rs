//! Why the SDK reports less than it could: an answer a program can print for its operator.

use std::fmt;

/// Why the SDK does not report this process (or not all of it): what
/// [`disabled_reason`](crate::disabled_reason) and [`Guard::disabled_reason`](crate::Guard::disabled_reason)
/// say. Its `Display` is a sentence for a program's operator.
///
/// ```
/// // No `#[allstak::main]` or `init` in a doctest.
/// let reason = allstak::disabled_reason();
/// assert_eq!(reason, Some(allstak::DisabledReason::NotSetUp));
/// if let Some(reason) = reason {
///     eprintln!("error reporting is off: {reason}");
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisabledReason {
    /// Neither `#[allstak::main]` nor [`init`](crate::init) ran in this process.
    NotSetUp,
    /// No API key: `ALLSTAK_API_KEY` is unset or empty.
    NoApiKey,
    /// The API key given cannot be sent (it holds characters an HTTP header cannot carry).
    UnusableApiKey,
    /// The host given (`ALLSTAK_HOST`, [`ConfigBuilder::host`](crate::ConfigBuilder::host)) is
    /// not a usable `http://` or `https://` URL.
    UnusableHost,
    /// This process is a test run, which never reports (see the crate's README).
    TestRun,
    /// The SDK could not start sending: this build has no HTTP backend (the `ureq` or `reqwest`
    /// feature), or its thread could not start.
    NoTransport,
    /// This process is a child `fork`ed (without `exec`) from the one that set the SDK up: its
    /// parent reports, it does not.
    ForkedChild,
    /// Session tracking is off ([`ConfigBuilder::auto_session_tracking`](crate::ConfigBuilder::auto_session_tracking),
    /// `ALLSTAK_AUTO_SESSION_TRACKING`): error events are sent, sessions are not.
    SessionTrackingOff,
}

impl DisabledReason {
    /// Whether error events are still sent: only with [`SessionTrackingOff`](Self::SessionTrackingOff).
    ///
    /// ```
    /// use allstak::DisabledReason;
    /// assert!(DisabledReason::SessionTrackingOff.sends_errors());
    /// assert!(!DisabledReason::NoApiKey.sends_errors());
    /// ```
    #[must_use]
    pub const fn sends_errors(self) -> bool {
        matches!(self, Self::SessionTrackingOff)
    }
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSetUp => "allstak is not set up (no #[allstak::main] or allstak::init)",
            Self::NoApiKey => "no API key: set ALLSTAK_API_KEY",
            Self::UnusableApiKey => {
                "the API key cannot be sent: it holds characters an HTTP header cannot carry"
            }
            Self::UnusableHost => "the host is not a usable http:// or https:// URL",
            Self::TestRun => {
                "this is a test run, which reports nothing (ALLSTAK_TRACK_TEST_RUNS=1 to report)"
            }
            Self::NoTransport => {
                "the SDK could not start sending (no HTTP backend in this build, or no thread)"
            }
            Self::ForkedChild => "this process is a forked child: its parent reports",
            Self::SessionTrackingOff => {
                "session tracking is off: error events are sent, sessions are not"
            }
        })
    }
}
