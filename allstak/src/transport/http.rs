//! The seam between the worker and an HTTP client: post this request within this time, and
//! say what the server answered (or that nothing answered). Retries, deadlines and what an
//! answer means are the worker's and the retry policy's; a backend only speaks HTTP.
//!
//! Two backends, chosen at compile time: `ureq` (the default feature: blocking, small) and
//! `reqwest` (for programs that already have it; preferred when both are compiled in). TLS is
//! rustls (the default `rustls` feature) or the platform's (`native-tls`, preferred when on).

use std::time::Duration;

use crate::wire::Request;

/// Where requests go: the host (`https://…`, no trailing slash), the key, and the proxy's URL
/// if one is used.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) key: String,
    pub(crate) proxy: Option<String>,
}

/// What came back for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The server answered with this status (and `Retry-After` header, if any).
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// No answer: refused, unresolvable, TLS failure, timeout. The text says which, for
    /// diagnostics.
    Unreachable(String),
}

/// An HTTP client on the SDK's thread.
pub(crate) trait Backend: Send {
    /// POSTs `request` to the endpoint with the contract's headers, taking at most `timeout`.
    fn post(&mut self, endpoint: &Endpoint, request: &Request, timeout: Duration) -> Answer;
}

/// The backend this build has.
pub(crate) fn backend(endpoint: &Endpoint) -> Box<dyn Backend> {
    #[cfg(feature = "reqwest")]
    return match super::reqwest::Reqwest::new(endpoint) {
        Ok(backend) => Box::new(backend),
        Err(error) => Box::new(Unusable(error)),
    };
    #[cfg(all(feature = "ureq", not(feature = "reqwest")))]
    return Box::new(super::ureq::Ureq::new(endpoint));
    #[cfg(not(any(feature = "ureq", feature = "reqwest")))]
    {
        let _ = endpoint;
        Box::new(Unusable(
            "this build has no HTTP backend (the `ureq` or `reqwest` feature)".to_owned(),
        ))
    }
}

/// The name of the backend this build has, for diagnostics.
pub(crate) const BACKEND: &str = if cfg!(feature = "reqwest") {
    "reqwest"
} else if cfg!(feature = "ureq") {
    "ureq"
} else {
    "none"
};

/// The TLS this build uses.
pub(crate) const TLS: &str = if cfg!(feature = "native-tls") {
    "native-tls"
} else if cfg!(feature = "rustls") {
    "rustls"
} else {
    "none"
};

/// A backend that could not be set up: every attempt says why, and nothing is sent.
#[cfg(any(feature = "reqwest", not(feature = "ureq")))]
struct Unusable(String);

#[cfg(any(feature = "reqwest", not(feature = "ureq")))]
impl Backend for Unusable {
    fn post(&mut self, _: &Endpoint, _: &Request, _: Duration) -> Answer {
        Answer::Unreachable(self.0.clone())
    }
}
