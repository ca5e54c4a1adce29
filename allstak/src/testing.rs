//! A real HTTP collector on `127.0.0.1`, for testing instrumentation end to end (cargo feature
//! `testing`).
//!
//! It records every request it receives, lets a test wait for what it expects instead of
//! sleeping, and answers as told: `202` like the AllStak backend by default, or any status,
//! late, or never.
//!
//! ```
//! use std::time::Duration;
//! use allstak::testing::{Collector, Reply};
//!
//! let collector = Collector::start().expect("a free port on 127.0.0.1");
//! collector.set_reply(Reply::status(503).with_retry_after("1"));
//! // Point the program under test at it:
//! //   ALLSTAK_HOST=<collector.url()> ALLSTAK_API_KEY=test ALLSTAK_TRACK_TEST_RUNS=1
//! assert!(collector.url().starts_with("http://127.0.0.1:"));
//! assert!(collector.wait_for_requests(1, Duration::from_millis(10)).is_err());
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the collector received.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/ingest/v1/sessions/start`.
    pub path: String,
    /// Every header, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: String,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
    /// When it arrived.
    pub received_at: Instant,
}

impl Request {
    /// The first header called `name` (any case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's `sessionId`, if it has one.
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        self.json.get("sessionId").and_then(Value::as_str)
    }
}

/// How the collector answers.
///
/// ```
/// use std::time::Duration;
/// use allstak::testing::Reply;
/// let slow = Reply::accepted().after(Duration::from_secs(5));
/// let limited = Reply::status(429).with_retry_after("2");
/// let silent = Reply::never();
/// # let _ = (slow, limited, silent);
/// ```
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    body: String,
    retry_after: Option<String>,
    delay: Duration,
    never: bool,
}

impl Reply {
    /// `202` with the backend's `{"success":true,"data":{"id":…}}` (the default).
    #[must_use]
    pub fn accepted() -> Self {
        Self::status(202).with_body(r#"{"success":true,"data":{"id":"collected"}}"#)
    }

    /// The given status with an empty JSON body.
    #[must_use]
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: "{}".to_owned(),
            retry_after: None,
            delay: Duration::ZERO,
            never: false,
        }
    }

    /// Accepts the request and never answers (the connection stays open).
    #[must_use]
    pub fn never() -> Self {
        Self {
            never: true,
            ..Self::accepted()
        }
    }

    /// This body instead.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// A `Retry-After` header with this value.
    #[must_use]
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Answers only after `delay`.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Waiting for requests took longer than the timeout; holds what had arrived.
#[derive(Debug)]
pub struct Timeout {
    /// The requests received before the timeout.
    pub received: Vec<Request>,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {} request(s):", self.received.len())?;
        for request in &self.received {
            write!(
                f,
                "\n  {} {} {}",
                request.method, request.path, request.body
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Timeout {}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    replies: VecDeque<Reply>,
    default_reply: Option<Reply>,
    /// Requests that are never answered, kept so their connections stay open.
    unanswered: Vec<tiny_http::Request>,
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A loopback HTTP collector on an ephemeral port; stops when dropped.
pub struct Collector {
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    url: String,
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector").field("url", &self.url).finish()
    }
}

impl Collector {
    /// Listens on `127.0.0.1` on a free port and starts answering `202`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start() -> std::io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .ok_or_else(|| std::io::Error::other("the collector has no IP address"))?;
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
        });
        let (accepting, recording) = (Arc::clone(&server), Arc::clone(&shared));
        thread::Builder::new()
            .name("allstak-collector".to_owned())
            .spawn(move || {
                for request in accepting.incoming_requests() {
                    serve(&recording, request);
                }
            })?;
        Ok(Self {
            server,
            shared,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The base URL to give as `ALLSTAK_HOST`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers every request from now on with `reply` (after any queued with
    /// [`then_reply`](Self::then_reply)).
    pub fn set_reply(&self, reply: Reply) {
        self.shared.lock().default_reply = Some(reply);
    }

    /// Answers the next request not yet answered with `reply`; queued replies go first, in order.
    pub fn then_reply(&self, reply: Reply) {
        self.shared.lock().replies.push_back(reply);
    }

    /// Every request received so far.
    #[must_use]
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Waits until `done` holds for the requests received, at most `timeout`.
    ///
    /// # Errors
    /// [`Timeout`] with what had arrived, when `done` still does not hold.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[Request]) -> bool,
    ) -> Result<Vec<Request>, Timeout> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if done(&state.requests) {
                return Ok(state.requests.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Timeout {
                    received: state.requests.clone(),
                });
            }
            state = self
                .shared
                .arrived
                .wait_timeout(state, left)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Waits until at least `count` requests arrived.
    ///
    /// # Errors
    /// [`Timeout`] when fewer arrived in time.
    pub fn wait_for_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Request>, Timeout> {
        self.wait_for(timeout, |requests| requests.len() >= count)
    }

    /// Waits for the `/ingest/v1/sessions/end` of session `id`, and returns it.
    ///
    /// # Errors
    /// [`Timeout`] when it did not arrive in time.
    pub fn wait_for_session_end(&self, id: &str, timeout: Duration) -> Result<Request, Timeout> {
        let is_end =
            |r: &Request| r.path == "/ingest/v1/sessions/end" && r.session_id() == Some(id);
        let requests = self.wait_for(timeout, |requests| requests.iter().any(is_end))?;
        requests.into_iter().find(is_end).ok_or(Timeout {
            received: Vec::new(),
        })
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn serve(shared: &Shared, mut request: tiny_http::Request) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let recorded = Request {
        method: request.method().to_string(),
        path: request.url().to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.to_string(),
                )
            })
            .collect(),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
        received_at: Instant::now(),
    };
    let reply = {
        let mut state = shared.lock();
        state.requests.push(recorded);
        let reply = state
            .replies
            .pop_front()
            .or_else(|| state.default_reply.clone())
            .unwrap_or_else(Reply::accepted);
        if reply.never {
            state.unanswered.push(request);
            shared.arrived.notify_all();
            return;
        }
        shared.arrived.notify_all();
        reply
    };
    let respond = move || {
        thread::sleep(reply.delay);
        let mut response =
            tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
        let headers = [
            ("Content-Type", Some("application/json".to_owned())),
            ("Retry-After", reply.retry_after),
        ];
        for (name, value) in headers {
            if let Some(header) = value.and_then(|v| tiny_http::Header::from_bytes(name, v).ok()) {
                response.add_header(header);
            }
        }
        let _ = request.respond(response);
    };
    if reply.delay.is_zero() {
        respond();
    } else {
        let _ = thread::Builder::new().spawn(respond);
    }
}
