//! The seam between the worker and an HTTP client: post this request within this time, and
//! say what the server answered (or that nothing answered). Retries, deadlines and what an
//! answer means are the worker's and the retry policy's; a backend only speaks HTTP.
//!
//! Two backends, chosen at compile time: `ureq` (the default feature: blocking, small) and
//! `reqwest` (for programs that already have it; preferred when both are compiled in). TLS is
//! rustls (the default `rustls` feature) or the platform's (`native-tls`, preferred when on).

use std::time::Duration;

use crate::wire::Post;

/// The most bytes of a response body a backend reads: the ingest API answers a few dozen; a
/// server that sends more (a proxy's error page, a misbehaving server) is not read further.
pub(super) const MAX_RESPONSE_BODY: u64 = 16 * 1024;

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
    fn post(&mut self, endpoint: &Endpoint, request: &Post, timeout: Duration) -> Answer;

    /// Opens, ahead of time, the connection [`Self::post_all`] will use (the connect and the
    /// TLS handshake), taking at most `timeout`: whether it is open. A backend that cannot
    /// pipeline does nothing, and cannot tell (`None`).
    fn warm(&mut self, endpoint: &Endpoint, timeout: Duration) -> Option<bool> {
        let _ = (endpoint, timeout);
        None
    }

    /// POSTs every one of `requests` on one connection, each written before the answer to the
    /// one before it is read (HTTP/1.1 pipelining): the server receives them in order, and
    /// they cost one round trip, not one each. Their answers in order, as many as came back
    /// within `timeout` (those after the last one were not answered: the connection ended, or
    /// the time ran out). `None` if this backend cannot pipeline here (the caller posts them
    /// one by one).
    fn post_all(
        &mut self,
        endpoint: &Endpoint,
        requests: &[&Post],
        timeout: Duration,
    ) -> Option<Vec<Answer>> {
        let _ = (endpoint, requests, timeout);
        None
    }

    /// `Some(work)`: done once the requests of the next [`Self::post_all`] are written, while
    /// their answers are on their way; `None`: not done after all. A backend that cannot
    /// pipeline never does it.
    fn meanwhile(&mut self, work: Option<Meanwhile>) {
        drop(work);
    }
}

/// Work done while the answers to pipelined requests are on their way ([`Backend::meanwhile`]).
pub(crate) type Meanwhile = Box<dyn FnOnce() + Send>;

/// The backend this build has.
pub(crate) fn backend(endpoint: &Endpoint) -> Box<dyn Backend> {
    #[cfg(feature = "reqwest")]
    return match super::reqwest::Reqwest::new(endpoint) {
        Ok(backend) => Box::new(backend),
        Err(error) => Box::new(Unusable(error)),
    };
    #[cfg(all(feature = "ureq", not(feature = "reqwest")))]
    return {
        // Its agent is made on first use, for the endpoint each call gives.
        let _ = endpoint;
        Box::new(super::ureq::Ureq::default())
    };
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
    fn post(&mut self, _: &Endpoint, _: &Post, _: Duration) -> Answer {
        Answer::Unreachable(self.0.clone())
    }
}

#[cfg(all(test, any(feature = "ureq", feature = "reqwest")))]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;

    /// A server that answers `202` with a body that never ends, until the client hangs up.
    fn endless_body_server() -> std::io::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let _ = reader.by_ref().take(length).read_to_end(&mut Vec::new());
            let mut stream = reader.into_inner();
            let head = "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n";
            let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
            let _ = stream.write_all(head.as_bytes());
            while stream.write_all(chunk.as_bytes()).is_ok() {}
        });
        Ok(url)
    }

    #[test]
    fn a_response_body_is_read_only_up_to_its_bound() {
        let host = endless_body_server().expect("a port on 127.0.0.1");
        let endpoint = Endpoint {
            host,
            key: "k".to_owned(),
            proxy: None,
        };
        let request = Post {
            path: "/ingest/v1/errors",
            body: b"{}".to_vec(),
        };
        let started = Instant::now();
        let answer = backend(&endpoint).post(&endpoint, &request, Duration::from_secs(20));
        assert_eq!(
            answer,
            Answer::Status {
                status: 202,
                retry_after: None
            }
        );
        // Reading on to the timeout would take 20 s (and as much memory as the server sends).
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
