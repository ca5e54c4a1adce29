//! A real HTTP collector on `127.0.0.1`, for testing instrumentation end to end (cargo feature
//! `testing`).
//!
//! It records every request it receives, lets a test wait for what it expects instead of
//! sleeping, and answers as told: `202` like the AllStak backend by default, or any status,
//! late, or never. It doubles as an HTTP proxy, so a program can be pointed at it as its proxy
//! (see [`Collector`]).
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
//!
//! For tests of a program's own reporting without a server, [`capture`] keeps the events the
//! SDK would send, in-process.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the collector received. Its fields are read, never built: more may come in a
/// minor release.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Request {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/ingest/v1/sessions/start`, also when the request came through the
    /// collector as a proxy; for a `CONNECT`, the `host:port` it asked for.
    pub path: String,
    /// Every header, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: String,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
    /// When it arrived.
    pub received_at: Instant,
    /// The address it came from: requests from one address came on one connection.
    pub from: Option<SocketAddr>,
    proxied_for: Option<String>,
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

    /// The body's `eventId` (an error event's), if it has one: the id the capture call
    /// returned.
    ///
    /// ```no_run
    /// # fn check(collector: &allstak::testing::Collector, id: allstak::EventId) {
    /// let events = collector.requests();
    /// assert_eq!(events[1].event_id(), Some(id.to_string().as_str()));
    /// # }
    /// ```
    #[must_use]
    pub fn event_id(&self) -> Option<&str> {
        self.json.get("eventId").and_then(Value::as_str)
    }

    /// When the request came through the collector as a proxy, the `host:port` the client asked
    /// the proxy for (`allstak-via-proxy.invalid:80`), the port always written out; `None` for
    /// a request sent to the collector directly.
    ///
    /// Set on the `CONNECT` that opens a tunnel, on every request sent through that tunnel, and
    /// on a request in absolute form (`POST http://host/path`, the path recorded without the
    /// `http://host`).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use allstak::testing::Collector;
    ///
    /// let collector = Collector::start()?;
    /// let address = collector.url().trim_start_matches("http://");
    /// let mut client = std::net::TcpStream::connect(address)?;
    /// // What a client configured with the collector as its proxy sends for an http:// URL:
    /// client.write_all(
    ///     b"POST http://allstak-via-proxy.invalid/ingest/v1/errors HTTP/1.1\r\n\
    ///       Host: allstak-via-proxy.invalid\r\nContent-Length: 2\r\n\r\n{}",
    /// )?;
    /// let received = collector.wait_for_requests(1, Duration::from_secs(5))?;
    /// assert_eq!(received[0].path, "/ingest/v1/errors");
    /// assert_eq!(received[0].proxied_for(), Some("allstak-via-proxy.invalid:80"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn proxied_for(&self) -> Option<&str> {
        self.proxied_for.as_deref()
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
///
/// ```
/// use std::time::Duration;
/// let collector = allstak::testing::Collector::start()?;
/// let timeout = collector.wait_for_requests(1, Duration::from_millis(10)).unwrap_err();
/// assert!(timeout.received().is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Timeout {
    received: Vec<Request>,
}

impl Timeout {
    /// The requests received before the timeout.
    #[must_use]
    pub fn received(&self) -> &[Request] {
        &self.received
    }

    /// The requests received before the timeout, owned.
    ///
    /// ```
    /// use std::time::Duration;
    /// let collector = allstak::testing::Collector::start()?;
    /// let timeout = collector.wait_for_requests(1, Duration::from_millis(10)).unwrap_err();
    /// assert!(timeout.into_received().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn into_received(self) -> Vec<Request> {
        self.received
    }
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
            if let Some(authority) = request.proxied_for() {
                write!(f, " (proxied for {authority})")?;
            }
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
    /// Replies for every request to a path, before the others.
    path_replies: HashMap<String, Reply>,
    /// Requests that are never answered, kept so their connections stay open.
    unanswered: Vec<tiny_http::Request>,
    /// The authority each tunnel's client asked for, by the client's address: the requests
    /// sent through a tunnel arrive on the connection that sent its `CONNECT`. (An address is
    /// not reused while its connection is open, and the kernel goes through its ephemeral ports
    /// before reusing one.)
    tunnels: HashMap<SocketAddr, String>,
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
///
/// It doubles as an HTTP proxy: give its [`url`](Self::url) to a program as its proxy, and its
/// host as a name that does not resolve (`http://allstak-via-proxy.invalid`). Requests arrive
/// as usual, with [`Request::proxied_for`] telling they came through the proxy and for which
/// host. Both ways clients use a proxy work:
///
/// - a request in absolute form (`POST http://host/path`, what reqwest sends for an `http://`
///   URL) is recorded with its path only;
/// - a `CONNECT host:port` tunnel (what ureq sends for every URL, and every client for
///   `https://`) is answered `200` and recorded once as a `CONNECT` request; the requests sent
///   through it are then served and recorded as usual. A TLS handshake through the tunnel
///   (an `https://` host) cannot succeed: the collector only speaks plain HTTP, so the
///   client's handshake times out, or ends early when the collector reads the handshake's
///   random bytes as a malformed request and closes the connection.
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        no_delay(&listener);
        let server =
            tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?;
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

    /// Answers every request to `path` (`/ingest/v1/sessions/start`) with `reply` from now on,
    /// until [`clear_reply_for`](Self::clear_reply_for): before any queued with
    /// [`then_reply`](Self::then_reply), which other paths still take in order.
    ///
    /// ```
    /// use allstak::testing::{Collector, Reply};
    ///
    /// let collector = Collector::start()?;
    /// // Every session start fails, whatever else is answered…
    /// collector.set_reply_for("/ingest/v1/sessions/start", Reply::status(503));
    /// // …until the server is back.
    /// collector.clear_reply_for("/ingest/v1/sessions/start");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_reply_for(&self, path: impl Into<String>, reply: Reply) {
        self.shared.lock().path_replies.insert(path.into(), reply);
    }

    /// Answers requests to `path` as the others again.
    pub fn clear_reply_for(&self, path: &str) {
        self.shared.lock().path_replies.remove(path);
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

/// Answers go out as written, as from an HTTP server of today (nginx, Go's, Node's all turn
/// Nagle's algorithm off): the connections the listener accepts inherit `TCP_NODELAY` (Linux).
/// Without it, the second of two pipelined answers waits for the client's delayed
/// acknowledgement of the first (40 ms).
fn no_delay(listener: &std::net::TcpListener) {
    #[cfg(target_os = "linux")]
    crate::socket_option::turn_on(listener, libc::TCP_NODELAY);
    #[cfg(not(target_os = "linux"))]
    let _ = listener;
}

fn serve(shared: &Shared, mut request: tiny_http::Request) {
    if *request.method() == tiny_http::Method::Connect {
        open_tunnel(shared, request);
        return;
    }
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let (path, proxied_for) = match absolute_form(request.url()) {
        Some((authority, path)) => (path, Some(authority)),
        None => (
            request.url().to_owned(),
            request
                .remote_addr()
                .and_then(|client| shared.lock().tunnels.get(client).cloned()),
        ),
    };
    let recorded = Request {
        method: request.method().to_string(),
        path,
        proxied_for,
        headers: headers_of(&request),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
        received_at: Instant::now(),
        from: request.remote_addr().copied(),
    };
    let (reply, behind_one_unanswered) = {
        let mut state = shared.lock();
        let for_path = state.path_replies.get(&recorded.path).cloned();
        // A request that came on a connection whose earlier request is never answered: its
        // answer can never be written (answers go in order), so writing it must not hold up
        // this thread, which serves every connection.
        let behind_one_unanswered = state
            .unanswered
            .iter()
            .any(|held| held.remote_addr() == recorded.from.as_ref());
        state.requests.push(recorded);
        let reply = for_path
            .or_else(|| state.replies.pop_front())
            .or_else(|| state.default_reply.clone())
            .unwrap_or_else(Reply::accepted);
        if reply.never {
            state.unanswered.push(request);
            shared.arrived.notify_all();
            return;
        }
        shared.arrived.notify_all();
        (reply, behind_one_unanswered)
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
    if reply.delay.is_zero() && !behind_one_unanswered {
        respond();
    } else {
        let _ = thread::Builder::new().spawn(respond);
    }
}

fn headers_of(request: &tiny_http::Request) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.to_string(),
            )
        })
        .collect()
}

/// Answers a `CONNECT` with `200` and leaves the connection to tiny_http, which then reads the
/// tunnelled requests from it as it would a client's next requests; they are served by
/// [`serve`] like any other, and attributed to the tunnel by the client's address.
///
/// tiny_http's `Request::upgrade` cannot carry the tunnel instead: without a `Connection:
/// upgrade` header (which no proxy client sends) it hands back an empty reader, and it keeps
/// parsing the connection as HTTP anyway.
fn open_tunnel(shared: &Shared, request: tiny_http::Request) {
    let authority = request.url().to_owned();
    {
        let mut state = shared.lock();
        // Recorded before the 200 is sent, so the tunnel is known when its first request comes.
        if let Some(client) = request.remote_addr() {
            state.tunnels.insert(*client, authority.clone());
        }
        state.requests.push(Request {
            method: request.method().to_string(),
            path: authority.clone(),
            proxied_for: Some(authority),
            headers: headers_of(&request),
            body: String::new(),
            json: Value::Null,
            received_at: Instant::now(),
            from: request.remote_addr().copied(),
        });
        shared.arrived.notify_all();
    }
    // tiny_http adds `Content-Length: 0`, which clients ignore on a 2xx to a CONNECT (RFC 9110).
    let _ = request.respond(tiny_http::Response::empty(200));
}

/// `http://host[:port]/path` → (`host:port`, `/path`), the port defaulted by the scheme: a
/// request in absolute form is one sent to a proxy.
fn absolute_form(target: &str) -> Option<(String, String)> {
    let url = crate::host::Url::parse(target)?;
    let path = match url.path {
        "" => "/".to_owned(),
        path if path.starts_with('/') => path.to_owned(),
        query => format!("/{query}"),
    };
    Some((url.host_port()?, path))
}

/// Runs `run` with an SDK client of its own on this thread, which keeps the error events it
/// would send instead of sending them (no HTTP, no thread), and returns them in order. Its
/// session starts before `run` and ends after it; the process's client, if any, is left
/// alone. Events reported from other threads go to the process's client.
///
/// ```
/// #[allstak::track]
/// fn port(text: &str) -> Result<u16, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// let events = allstak::testing::capture(|| {
///     let _ = port("eighty");
///     allstak::capture_display(&"the cache is cold");
/// });
/// assert_eq!(events.len(), 2);
/// assert_eq!(events[0].message(), "invalid digit found in string");
/// assert_eq!(events[0].exception_class(), "ParseIntError");
/// assert_eq!(events[1].message(), "the cache is cold");
/// ```
pub fn capture(run: impl FnOnce()) -> Vec<crate::Event> {
    capture_with(crate::Config::builder().build(), run)
}

/// [`capture`] with `config`: its `before_send`, `attach_stacktrace`, breadcrumb limit.
///
/// ```
/// let config = allstak::Config::builder()
///     .before_send(|mut event| {
///         event.set_message("scrubbed");
///         Some(event)
///     })
///     .build();
/// let events = allstak::testing::capture_with(config, || {
///     allstak::capture_display(&"password=hunter2");
/// });
/// assert_eq!(events[0].message(), "scrubbed");
/// ```
pub fn capture_with(config: crate::Config, run: impl FnOnce()) -> Vec<crate::Event> {
    crate::client::capture_events(config, run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    const WAIT: Duration = Duration::from_secs(5);

    fn connect(collector: &Collector) -> TcpStream {
        let client = TcpStream::connect(collector.url().trim_start_matches("http://")).unwrap();
        client.set_read_timeout(Some(WAIT)).unwrap();
        client
    }

    /// Reads one response's status line and headers; the status line.
    fn read_head(reader: &mut impl BufRead) -> String {
        read_response(reader, false)
    }

    /// Reads one response, its body too when `with_body` (by its `Content-Length`); the status
    /// line.
    fn read_response(reader: &mut impl BufRead, with_body: bool) -> String {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        if with_body {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
        }
        status.trim_end().to_owned()
    }

    fn proxied_agent(collector: &Collector) -> ureq::Agent {
        ureq::Agent::config_builder()
            .proxy(Some(ureq::Proxy::new(collector.url()).unwrap()))
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .new_agent()
    }

    #[test]
    fn a_request_behind_one_never_answered_holds_up_no_other_connection() {
        let collector = Collector::start().unwrap();
        collector.set_reply(Reply::never());
        let request = b"POST /ingest/v1/errors HTTP/1.1\r\nHost: c\r\nContent-Length: 2\r\n\r\n{}";
        let mut held = connect(&collector);
        held.write_all(request).unwrap();
        collector.wait_for_requests(1, WAIT).unwrap();
        // The server answers again; a second request on the held connection (its answer can
        // never go out), then another connection's.
        collector.set_reply(Reply::accepted());
        held.write_all(request).unwrap();
        collector.wait_for_requests(2, WAIT).unwrap();
        let mut other = connect(&collector);
        other.write_all(request).unwrap();
        assert_eq!(
            read_head(&mut BufReader::new(&other)),
            "HTTP/1.1 202 Accepted"
        );
        assert_eq!(collector.requests().len(), 3);
    }

    #[test]
    fn a_request_in_absolute_form_is_recorded_with_its_path_and_proxied_authority() {
        let collector = Collector::start().unwrap();
        let mut client = connect(&collector);
        client
            .write_all(
                b"POST http://allstak-via-proxy.invalid/ingest/v1/errors?x=1 HTTP/1.1\r\n\
                  Host: allstak-via-proxy.invalid\r\nContent-Length: 2\r\n\r\n{}",
            )
            .unwrap();
        assert_eq!(
            read_head(&mut BufReader::new(&client)),
            "HTTP/1.1 202 Accepted"
        );
        let received = collector.wait_for_requests(1, WAIT).unwrap();
        assert_eq!(received[0].method, "POST");
        assert_eq!(received[0].path, "/ingest/v1/errors?x=1");
        assert_eq!(
            received[0].proxied_for(),
            Some("allstak-via-proxy.invalid:80")
        );
        assert_eq!(received[0].json, serde_json::json!({}));
    }

    #[test]
    fn a_connect_is_answered_200_and_the_tunnel_s_requests_are_served_and_recorded() {
        let collector = Collector::start().unwrap();
        collector.then_reply(Reply::status(503));
        let mut client = connect(&collector);
        let mut reader = BufReader::new(client.try_clone().unwrap());
        client
            .write_all(
                b"CONNECT allstak-via-proxy.invalid:80 HTTP/1.1\r\n\
                  Host: allstak-via-proxy.invalid:80\r\n\r\n",
            )
            .unwrap();
        assert_eq!(read_head(&mut reader), "HTTP/1.1 200 OK");
        let mut statuses = Vec::new();
        for _ in 0..2 {
            client
                .write_all(
                    b"POST /ingest/v1/sessions/start HTTP/1.1\r\n\
                      Host: allstak-via-proxy.invalid\r\nContent-Length: 2\r\n\r\n{}",
                )
                .unwrap();
            statuses.push(read_response(&mut reader, true));
        }
        assert_eq!(
            statuses,
            ["HTTP/1.1 503 Service Unavailable", "HTTP/1.1 202 Accepted"]
        );

        let received = collector.wait_for_requests(3, WAIT).unwrap();
        let shown: Vec<_> = received
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.proxied_for()))
            .collect();
        let via = Some("allstak-via-proxy.invalid:80");
        assert_eq!(
            shown,
            [
                ("CONNECT", "allstak-via-proxy.invalid:80", via),
                ("POST", "/ingest/v1/sessions/start", via),
                ("POST", "/ingest/v1/sessions/start", via),
            ]
        );
    }

    #[test]
    fn a_connect_does_not_use_up_a_queued_reply() {
        let collector = Collector::start().unwrap();
        collector.then_reply(Reply::status(503));
        let response = proxied_agent(&collector)
            .post("http://allstak-via-proxy.invalid/x")
            .send("{}")
            .unwrap();
        assert_eq!(response.status(), 503);
    }

    #[test]
    fn ureq_with_the_collector_as_its_proxy_is_recorded_as_proxied() {
        let collector = Collector::start().unwrap();
        let response = proxied_agent(&collector)
            .post("http://allstak-via-proxy.invalid/x")
            .send(r#"{"sessionId":"s1"}"#)
            .unwrap();
        assert_eq!(response.status(), 202);
        let received = collector
            .wait_for(WAIT, |r| r.iter().any(|r| r.method == "POST"))
            .unwrap();
        let post = received.iter().find(|r| r.method == "POST").unwrap();
        assert_eq!(post.path, "/x");
        assert_eq!(post.session_id(), Some("s1"));
        assert_eq!(post.proxied_for(), Some("allstak-via-proxy.invalid:80"));
        assert_eq!(post.header("host"), Some("allstak-via-proxy.invalid"));
        let connect = received.iter().find(|r| r.method == "CONNECT").unwrap();
        assert_eq!(connect.proxied_for(), Some("allstak-via-proxy.invalid:80"));
    }

    #[test]
    fn proxy_credentials_arrive_on_the_connect() {
        let collector = Collector::start().unwrap();
        let proxy = collector.url().replace("http://", "http://alice:secret@");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(Some(ureq::Proxy::new(&proxy).unwrap()))
            .build()
            .into();
        agent
            .post("http://allstak-via-proxy.invalid/x")
            .send("{}")
            .unwrap();
        let received = collector.wait_for_requests(2, WAIT).unwrap();
        // "alice:secret" in base64.
        assert_eq!(
            received[0].header("proxy-authorization"),
            Some("Basic YWxpY2U6c2VjcmV0")
        );
        assert_eq!(received[1].header("proxy-authorization"), None);
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn an_https_tunnel_fails_on_the_client_but_its_connect_is_recorded() {
        let collector = Collector::start().unwrap();
        // ureq's default TLS is rustls, which a build with native-tls alone does not have.
        let provider = if cfg!(all(feature = "native-tls", not(feature = "rustls"))) {
            ureq::tls::TlsProvider::NativeTls
        } else {
            ureq::tls::TlsProvider::Rustls
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(provider)
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .proxy(Some(ureq::Proxy::new(collector.url()).unwrap()))
            .timeout_global(Some(Duration::from_millis(500)))
            .build()
            .into();
        // The collector cannot answer the client's TLS handshake: it times out, or, when the
        // handshake's random bytes happen to hold a line break, tiny_http reads them as a
        // malformed request and closes the connection (an early end of file on the client).
        let outcome = agent.post("https://allstak-via-proxy.invalid/x").send("{}");
        assert!(
            matches!(
                &outcome,
                Err(ureq::Error::Timeout(_)) | Err(ureq::Error::Io(_))
            ),
            "{outcome:?}"
        );
        let received = collector.requests();
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received[0].method, "CONNECT");
        assert_eq!(
            received[0].proxied_for(),
            Some("allstak-via-proxy.invalid:443")
        );
    }

    #[test]
    fn direct_requests_are_recorded_as_before_and_not_proxied() {
        let collector = Collector::start().unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
        agent
            .post(format!("{}/ingest/v1/errors", collector.url()))
            .send("{}")
            .unwrap();
        let received = collector.wait_for_requests(1, WAIT).unwrap();
        assert_eq!(received[0].path, "/ingest/v1/errors");
        assert_eq!(received[0].proxied_for(), None);
    }

    #[test]
    fn a_reply_for_a_path_answers_that_path_only_and_leaves_queued_replies_to_the_others() {
        let collector = Collector::start().unwrap();
        collector.set_reply_for("/start", Reply::status(503));
        collector.then_reply(Reply::status(422));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .build()
            .into();
        let post = |path: &str| {
            agent
                .post(format!("{}{path}", collector.url()))
                .send("{}")
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(
            [post("/start"), post("/end"), post("/start"), post("/end")],
            [503, 422, 503, 202]
        );
        collector.clear_reply_for("/start");
        assert_eq!(post("/start"), 202);
    }

    #[test]
    fn absolute_form_targets_give_a_host_port_and_a_path() {
        let split = |target| absolute_form(target);
        let pair = |authority: &str, path: &str| Some((authority.to_owned(), path.to_owned()));
        assert_eq!(split("http://h/x/y"), pair("h:80", "/x/y"));
        assert_eq!(split("HTTPS://h"), pair("h:443", "/"));
        assert_eq!(split("http://h:8080?q"), pair("h:8080", "/?q"));
        assert_eq!(split("http://u:p@h:1/x"), pair("h:1", "/x"));
        assert_eq!(split("http://[::1]/x"), pair("[::1]:80", "/x"));
        assert_eq!(split("http://[::1]:9/x"), pair("[::1]:9", "/x"));
        assert_eq!(split("/x"), None);
        assert_eq!(split("h:80"), None);
    }
}
