//! HTTP/1.1 pipelining for the ureq backend: one connection to the ingest host, which can be
//! opened ahead of time ([`Pipeline::warm`]) and is kept between calls, on which several
//! requests are written back to back and their answers read in order ([`Pipeline::post_all`]).
//!
//! ureq writes a request only once it has read the answer to the one before, so two requests
//! cost two round trips; here they cost one, and the server still receives them in order. Only
//! direct connections are pipelined: with a proxy (ureq speaks its `CONNECT`), a host with
//! credentials or a query, an `https://` host in a build without TLS, or a key that is no
//! header value, the caller posts one by one through ureq.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::http::{Answer, Endpoint, MAX_RESPONSE_BODY, Meanwhile};
use super::ureq::CONNECT_TIMEOUT;
use crate::diag;
use crate::wire::{Post, USER_AGENT};

/// The most bytes of an answer's head (status line and headers), and of a chunked body's
/// trailers: the ingest API's are a few hundred.
const MAX_HEAD: usize = 16 * 1024;

/// The most headers an answer may have.
const MAX_HEADERS: usize = 64;

/// How long a kept connection may sit unused and still be used (ureq's own pool's bound).
const MAX_IDLE: Duration = Duration::from_secs(15);

/// How many bytes are read from the connection at a time.
const READ_CHUNK: usize = 8 * 1024;

/// The ureq backend's pipelined connection: none, or one to the host of the last call.
#[derive(Default)]
pub(super) struct Pipeline {
    connection: Option<Connection>,
    tls: Tls,
    /// Done once the next requests are written ([`Self::meanwhile`]).
    meanwhile: Option<Meanwhile>,
}

impl Pipeline {
    /// Opens the connection [`Self::post_all`] will use to `endpoint` (TCP connect and TLS
    /// handshake), taking at most `timeout`, unless one is open to it already: whether one is.
    /// Does nothing where `post_all` would not pipeline (a proxy, …: `None`); a failure is
    /// only said in diagnostics.
    pub(super) fn warm(&mut self, endpoint: &Endpoint, timeout: Duration) -> Option<bool> {
        let target = Target::of(endpoint)?;
        if let Some(kept) = self.kept_for(endpoint) {
            self.connection = Some(kept);
            return Some(true);
        }
        self.connection = None;
        match Connection::open(&endpoint.host, &target, &mut self.tls, deadline_in(timeout)) {
            Ok(connection) => self.connection = Some(connection),
            Err(error) => diag::debug!("could not open a connection ahead of time: {error}"),
        }
        Some(self.connection.is_some())
    }

    /// Writes every one of `requests` at once on one connection and reads their answers in
    /// order, all within `timeout`: the answers that came back, fewer than the requests when
    /// the connection ended or the time ran out (empty when it could not be opened). `None`
    /// where this does not pipeline: the caller posts them one by one.
    ///
    /// A connection kept from an earlier call (or [`Self::warm`]) that ends before sending a
    /// single byte back was closed by the server while idle: the requests go once more, on a
    /// fresh connection. Once anything came back, nothing is sent again.
    pub(super) fn post_all(
        &mut self,
        endpoint: &Endpoint,
        requests: &[&Post],
        timeout: Duration,
    ) -> Option<Vec<Answer>> {
        let target = Target::of(endpoint)?;
        if requests.is_empty() {
            return Some(Vec::new());
        }
        let deadline = deadline_in(timeout);
        let bytes = target.requests(&endpoint.key, requests);
        if let Some(mut kept) = self.kept_for(endpoint) {
            let exchange = kept.exchange(&bytes, requests.len(), deadline, &mut self.meanwhile);
            if !exchange.unanswered_end {
                if exchange.reusable {
                    self.connection = Some(kept);
                }
                return Some(exchange.answers);
            }
            diag::debug!("the kept connection had been closed by the server; opening another");
        }
        let mut fresh = match Connection::open(&endpoint.host, &target, &mut self.tls, deadline) {
            Ok(connection) => connection,
            Err(error) => {
                diag::debug!("could not open a connection: {error}");
                return Some(Vec::new());
            }
        };
        let exchange = fresh.exchange(&bytes, requests.len(), deadline, &mut self.meanwhile);
        if exchange.reusable {
            self.connection = Some(fresh);
        }
        Some(exchange.answers)
    }

    /// `Some(work)`: done by the next [`Self::post_all`] once its requests are written, while
    /// their answers are on their way (not done if none could be written); `None`: not at all.
    pub(super) fn meanwhile(&mut self, work: Option<Meanwhile>) {
        self.meanwhile = work;
    }

    /// Whether a connection to `endpoint`'s host is kept open (opened ahead, or by an earlier
    /// call), and not idle too long to be used.
    pub(super) fn holds_one_to(&self, endpoint: &Endpoint) -> bool {
        self.connection
            .as_ref()
            .is_some_and(|kept| kept.goes_to(endpoint))
    }

    /// The kept connection, taken out, if it goes to `endpoint`'s host, has not been idle
    /// longer than [`MAX_IDLE`] (a NAT or a firewall may have dropped it without a word, and a
    /// request on it would wait out its whole timeout), and nothing came on it since its last
    /// exchange (see [`Connection::is_quiet`]); else it is closed.
    fn kept_for(&mut self, endpoint: &Endpoint) -> Option<Connection> {
        self.connection
            .take()
            .filter(|kept| kept.goes_to(endpoint))
            .and_then(|mut kept| kept.is_quiet().then_some(kept))
    }
}

/// `timeout` from now (far in the future for a timeout too large to add).
fn deadline_in(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// The time left until `deadline`; a `TimedOut` error once there is none.
fn time_left(deadline: Instant) -> io::Result<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "timed out"))
}

/// The endpoint's host as this file connects to it and writes requests for it.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `https`.
    secure: bool,
    /// The name or address to resolve and to verify the certificate for (an IPv6 address
    /// without its brackets).
    host: String,
    /// The port given, else the scheme's.
    port: u16,
    /// The `Host` header: the host as written, with the port only when it is not the scheme's.
    authority: String,
    /// The path the host has after its authority, without a trailing slash (often empty):
    /// every request's path goes under it.
    base: String,
}

impl Target {
    /// The target of `endpoint`, or `None` where it is not pipelined (see the module's docs).
    fn of(endpoint: &Endpoint) -> Option<Self> {
        if endpoint.proxy.is_some() || http::HeaderValue::from_str(&endpoint.key).is_err() {
            return None;
        }
        let target = Self::parse(&endpoint.host)?;
        if target.secure && !Tls::AVAILABLE {
            return None;
        }
        Some(target)
    }

    /// `http[s]://host[:port][/base/path]`; `None` for anything else, credentials or a query.
    fn parse(host: &str) -> Option<Self> {
        let url = crate::host::Url::parse(host)?;
        // Between `://` and the path: credentials there are left to ureq.
        let authority = host
            .split_once("://")
            .map(|(_, rest)| rest.strip_suffix(url.path).unwrap_or(rest))?;
        if authority.contains('@') || url.path.contains(['?', '#']) {
            return None;
        }
        let port = url.port()?;
        let name = if url.bracketed {
            format!("[{}]", url.host)
        } else {
            url.host.to_owned()
        };
        let default_port = if url.secure { 443 } else { 80 };
        Some(Self {
            secure: url.secure,
            host: url.host.to_owned(),
            port,
            authority: if port == default_port {
                name
            } else {
                format!("{name}:{port}")
            },
            base: url.path.trim_end_matches('/').to_owned(),
        })
    }

    /// Every request with the contract's headers, one after the other, as they are written.
    fn requests(&self, key: &str, requests: &[&Post]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for request in requests {
            let head = format!(
                "POST {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\n\
                 Content-Type: application/json\r\nX-AllStak-Key: {key}\r\n\
                 Content-Length: {}\r\n\r\n",
                self.base,
                request.path,
                self.authority,
                request.body.len(),
            );
            bytes.extend_from_slice(head.as_bytes());
            bytes.extend_from_slice(&request.body);
        }
        bytes
    }
}

/// A TCP socket whose every read and write ends by a deadline.
struct Socket {
    tcp: TcpStream,
    /// When the exchange (or the opening) under way must be over.
    deadline: Instant,
}

impl Socket {
    /// Whether nothing came to read (bytes, or the end of the connection), without waiting.
    fn nothing_to_read(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd as _;
            let mut byte = 0u8;
            // SAFETY: peeks at one byte at most, into `byte`, without waiting, on our socket,
            // open for as long as `self`.
            let peeked = unsafe {
                libc::recv(
                    self.tcp.as_raw_fd(),
                    (&raw mut byte).cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            peeked < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
        }
        #[cfg(not(unix))]
        {
            // One read at most, without waiting: what it takes is not wanted anyway.
            let mut tcp = &self.tcp;
            if tcp.set_nonblocking(true).is_err() {
                return false;
            }
            let read = tcp.read(&mut [0; 1]);
            tcp.set_nonblocking(false).is_ok()
                && read.is_err_and(|error| error.kind() == io::ErrorKind::WouldBlock)
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(time_left(self.deadline)?))?;
        acknowledge_at_once(&self.tcp);
        self.tcp.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp
            .set_write_timeout(Some(time_left(self.deadline)?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Has the kernel acknowledge what arrives at once, not up to 40 ms later (Linux's
/// `TCP_QUICKACK`, which lapses, so set before each read). A server with Nagle's algorithm on
/// holds the second of two pipelined answers until the first is acknowledged: a delayed
/// acknowledgement would cost each pipelined call those 40 ms.
fn acknowledge_at_once(tcp: &TcpStream) {
    #[cfg(target_os = "linux")]
    crate::socket_option::turn_on(tcp, libc::TCP_QUICKACK);
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}

/// The connection's bytes: plain, or through the build's TLS.
enum Stream {
    /// `http://`.
    Plain(Socket),
    /// `https://` through rustls.
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, Socket>>),
    /// `https://` through the platform's TLS.
    #[cfg(feature = "native-tls")]
    NativeTls(Box<native_tls::TlsStream<Socket>>),
}

impl Stream {
    /// The socket underneath, whose deadline every read and write keeps.
    fn socket(&mut self) -> &mut Socket {
        match self {
            Self::Plain(socket) => socket,
            #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
            Self::Rustls(stream) => &mut stream.sock,
            #[cfg(feature = "native-tls")]
            Self::NativeTls(stream) => stream.get_mut(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.read(buf),
            #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
            Self::Rustls(stream) => stream.read(buf),
            #[cfg(feature = "native-tls")]
            Self::NativeTls(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.write(buf),
            #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
            Self::Rustls(stream) => stream.write(buf),
            #[cfg(feature = "native-tls")]
            Self::NativeTls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(socket) => socket.flush(),
            #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
            Self::Rustls(stream) => stream.flush(),
            #[cfg(feature = "native-tls")]
            Self::NativeTls(stream) => stream.flush(),
        }
    }
}

/// The build's TLS client, set up on the first `https://` connection and kept (loading the
/// platform's roots costs milliseconds). The same TLS as the ureq backend's: native-tls when
/// that feature is on, else rustls with the platform verifier.
#[derive(Default)]
struct Tls {
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    config: Option<std::sync::Arc<rustls::ClientConfig>>,
    #[cfg(feature = "native-tls")]
    connector: Option<native_tls::TlsConnector>,
}

impl Tls {
    /// Whether this build can open `https://` connections.
    const AVAILABLE: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

    /// Plain TCP: no TLS feature in this build (`https://` targets are not pipelined).
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn handshake(&mut self, socket: Socket, _server: &str) -> io::Result<Stream> {
        Ok(Stream::Plain(socket))
    }

    /// TLS over `socket` with `server`'s certificate verified, handshake done (by the
    /// socket's deadline).
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    fn handshake(&mut self, mut socket: Socket, server: &str) -> io::Result<Stream> {
        let config = match &self.config {
            Some(config) => config.clone(),
            None => {
                let config = rustls_config().map_err(io::Error::other)?;
                self.config = Some(config.clone());
                config
            }
        };
        let name = rustls::pki_types::ServerName::try_from(server.to_owned())
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let mut connection =
            rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        while connection.is_handshaking() {
            connection.complete_io(&mut socket)?;
        }
        Ok(Stream::Rustls(Box::new(rustls::StreamOwned::new(
            connection, socket,
        ))))
    }

    /// TLS over `socket` with `server`'s certificate verified, handshake done (by the
    /// socket's deadline).
    #[cfg(feature = "native-tls")]
    fn handshake(&mut self, socket: Socket, server: &str) -> io::Result<Stream> {
        let connector = match &self.connector {
            Some(connector) => connector.clone(),
            None => {
                // The platform's roots, as ureq's `RootCerts::PlatformVerifier` asks of it.
                let connector = native_tls::TlsConnector::new().map_err(io::Error::other)?;
                self.connector = Some(connector.clone());
                connector
            }
        };
        match connector.connect(server, socket) {
            Ok(stream) => Ok(Stream::NativeTls(Box::new(stream))),
            Err(native_tls::HandshakeError::Failure(error)) => Err(io::Error::other(error)),
            // A socket read or write that timed out mid-handshake.
            Err(native_tls::HandshakeError::WouldBlock(_)) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timed out during the TLS handshake",
            )),
        }
    }
}

/// rustls set up as ureq sets it up for the ureq backend: the process's default crypto
/// provider if the program installed one, else ring; every TLS version rustls has; the
/// platform's verifier.
#[cfg(all(feature = "rustls", not(feature = "native-tls")))]
fn rustls_config() -> Result<std::sync::Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous() // not dangerous: the platform's verifier checks the certificate
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// An open connection, and the bytes read from it not yet taken.
struct Connection {
    /// The endpoint's host it was opened for: another host needs another connection.
    host: String,
    stream: Stream,
    /// Read, not yet taken: the rest of an answer, or the answers after it.
    buffer: Vec<u8>,
    /// Bytes read since the exchange began.
    received: usize,
    /// When it was opened, or its last exchange ended.
    idle_since: Instant,
}

/// How an exchange went.
struct Exchange {
    /// The answers, in order.
    answers: Vec<Answer>,
    /// Every answer was read to its end and the server did not close: the connection can
    /// carry the next call.
    reusable: bool,
    /// The connection ended before a single byte came back (not a timeout): the server had
    /// closed it, or did so without answering.
    unanswered_end: bool,
}

/// An answer's head, as far as reading the answers goes.
struct Head {
    status: u16,
    /// The `Retry-After` header as sent (the retry policy reads it).
    retry_after: Option<String>,
    body: Body,
    /// The server closes the connection after this answer.
    close: bool,
}

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// None (`204`, `304`, `Content-Length: 0`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// When the server closes the connection.
    UntilClose,
}

/// Whether the connection can carry more after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// The next answer can be read, or the next call sent.
    Continue,
    /// Nothing more can be read: the connection is dropped.
    Stop,
}

impl Connection {
    /// Connects to `target` (each of its addresses in turn, within the connect bound) and
    /// does the TLS handshake for `https`, all by `deadline`. Resolving the name is the system
    /// resolver's and bounded by it, as on ureq's path (the exit deadline bounds the process).
    fn open(host: &str, target: &Target, tls: &mut Tls, deadline: Instant) -> io::Result<Self> {
        let connect_by = deadline.min(deadline_in(CONNECT_TIMEOUT));
        let mut failure = None;
        for address in (target.host.as_str(), target.port).to_socket_addrs()? {
            let left = match time_left(connect_by) {
                Ok(left) => left,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            };
            match TcpStream::connect_timeout(&address, left) {
                Ok(tcp) => {
                    // Each request goes out in one write; the next call's must not wait.
                    let _ = tcp.set_nodelay(true);
                    let socket = Socket { tcp, deadline };
                    let stream = if target.secure {
                        tls.handshake(socket, &target.host)?
                    } else {
                        Stream::Plain(socket)
                    };
                    return Ok(Self {
                        host: host.to_owned(),
                        stream,
                        buffer: Vec::new(),
                        received: 0,
                        idle_since: Instant::now(),
                    });
                }
                Err(error) => failure = Some(error),
            }
        }
        Err(failure
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address")))
    }

    /// Whether it goes to `endpoint`'s host and has not been idle longer than [`MAX_IDLE`].
    fn goes_to(&self, endpoint: &Endpoint) -> bool {
        self.host == endpoint.host && self.idle_since.elapsed() <= MAX_IDLE
    }

    /// Whether nothing came on the connection since its last exchange, without waiting: no
    /// bytes no request asked for (a server that answers more than it was asked: the next
    /// exchange would take them for its own answers), and not the server closing it. Under TLS,
    /// what came is read through it: a session ticket the server sent after the handshake is
    /// the TLS layer's, not an answer. What comes between this look and the next exchange's
    /// read (a server's `408` as it closes an idle connection) is still read as an answer.
    fn is_quiet(&mut self) -> bool {
        match &self.stream {
            Stream::Plain(socket) => socket.nothing_to_read(),
            #[cfg(any(feature = "rustls", feature = "native-tls"))]
            _ => self.nothing_read_through_tls(),
        }
    }

    /// A read through TLS, without waiting, finds nothing (see [`Self::is_quiet`]).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn nothing_read_through_tls(&mut self) -> bool {
        let socket = self.stream.socket();
        socket.deadline = deadline_in(MAX_IDLE);
        if socket.tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let read = self.stream.read(&mut [0; 1]);
        let blocking = self.stream.socket().tcp.set_nonblocking(false).is_ok();
        blocking && read.is_err_and(|error| error.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes `requests` (`count` of them), does `meanwhile` once they are, and reads their
    /// answers, by `deadline`.
    fn exchange(
        &mut self,
        requests: &[u8],
        count: usize,
        deadline: Instant,
        meanwhile: &mut Option<Meanwhile>,
    ) -> Exchange {
        self.stream.socket().deadline = deadline;
        self.received = 0;
        let mut answers = Vec::with_capacity(count);
        let outcome = self
            .stream
            .write_all(requests)
            .and_then(|()| self.stream.flush())
            .and_then(|()| {
                if let Some(work) = meanwhile.take() {
                    work();
                }
                self.read_answers(count, &mut answers)
            });
        self.idle_since = Instant::now();
        match outcome {
            // Bytes after the last answer were never asked for: the connection is not trusted.
            Ok(After::Continue) => Exchange {
                answers,
                reusable: self.buffer.is_empty(),
                unanswered_end: false,
            },
            Ok(After::Stop) => Exchange {
                answers,
                reusable: false,
                unanswered_end: false,
            },
            Err(error) => {
                diag::debug!(
                    "{} of {count} pipelined request(s) answered: {error}",
                    answers.len()
                );
                let timed_out = matches!(
                    error.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                );
                Exchange {
                    unanswered_end: self.received == 0 && !timed_out,
                    answers,
                    reusable: false,
                }
            }
        }
    }

    /// Reads up to `count` answers into `answers`, each head then body, until one says the
    /// connection carries no more.
    fn read_answers(&mut self, count: usize, answers: &mut Vec<Answer>) -> io::Result<After> {
        for index in 0..count {
            let head = self.head()?;
            answers.push(Answer::Status {
                status: head.status,
                retry_after: head.retry_after,
            });
            let last = index + 1 == count;
            if self.skip_body(head.body, last)? == After::Stop || head.close {
                return Ok(After::Stop);
            }
        }
        Ok(After::Continue)
    }

    /// Reads the next final answer's head (informational `1xx` ones are skipped).
    fn head(&mut self) -> io::Result<Head> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buffer) {
                Ok(httparse::Status::Complete(length)) => {
                    let head = head_of(&response)?;
                    self.consume(length);
                    match head {
                        Some(head) => return Ok(head),
                        None => continue,
                    }
                }
                Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD => {
                    self.fill_or_end()?;
                }
                Ok(httparse::Status::Partial) => {
                    return Err(invalid("an answer's head is too long"));
                }
                Err(error) => return Err(invalid(error.to_string())),
            }
        }
    }

    /// Reads past an answer's body: `Stop` when the connection cannot carry more after it (a
    /// body longer than [`MAX_RESPONSE_BODY`], or one that ends with the connection).
    fn skip_body(&mut self, body: Body, last: bool) -> io::Result<After> {
        match body {
            Body::Empty => Ok(After::Continue),
            Body::Length(length) if length > MAX_RESPONSE_BODY => Ok(After::Stop),
            Body::Length(length) => {
                self.skip(length)?;
                Ok(After::Continue)
            }
            Body::Chunked => self.skip_chunked(),
            // Read to its end only when no answer follows: it would be read as this body.
            Body::UntilClose if last => {
                let mut read = self.buffer.len() as u64;
                self.buffer.clear();
                // However it ends (a close, a TLS close without its alert), the body ended.
                while read <= MAX_RESPONSE_BODY {
                    match self.fill() {
                        Ok(0) | Err(_) => break,
                        Ok(more) => read += more as u64,
                    }
                    self.buffer.clear();
                }
                Ok(After::Stop)
            }
            Body::UntilClose => Ok(After::Stop),
        }
    }

    /// Reads past a chunked body and its trailers.
    fn skip_chunked(&mut self) -> io::Result<After> {
        let mut read = 0u64;
        loop {
            let size = match httparse::parse_chunk_size(&self.buffer) {
                Ok(httparse::Status::Complete((length, size))) => {
                    self.consume(length);
                    size
                }
                Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD => {
                    self.fill_or_end()?;
                    continue;
                }
                Ok(httparse::Status::Partial) | Err(httparse::InvalidChunkSize) => {
                    return Err(invalid("an invalid chunk size"));
                }
            };
            if size == 0 {
                self.skip_trailers()?;
                return Ok(After::Continue);
            }
            read = read.saturating_add(size);
            if read > MAX_RESPONSE_BODY {
                return Ok(After::Stop);
            }
            self.skip(size)?;
            while self.buffer.len() < 2 {
                self.fill_or_end()?;
            }
            if !self.buffer.starts_with(b"\r\n") {
                return Err(invalid("a chunk without its line end"));
            }
            self.consume(2);
        }
    }

    /// Reads past a chunked body's trailer lines, up to the empty line that ends them.
    fn skip_trailers(&mut self) -> io::Result<()> {
        let mut read = 0;
        loop {
            match memchr::memchr(b'\n', &self.buffer) {
                Some(end) => {
                    let empty = end <= 1;
                    self.consume(end + 1);
                    if empty {
                        return Ok(());
                    }
                    read += end + 1;
                }
                None if read + self.buffer.len() > MAX_HEAD => {
                    return Err(invalid("a chunked body's trailers are too long"));
                }
                None => self.fill_or_end().map(drop)?,
            }
        }
    }

    /// Reads past `length` bytes.
    fn skip(&mut self, mut length: u64) -> io::Result<()> {
        loop {
            let buffered = usize::try_from(length)
                .map_or(self.buffer.len(), |length| length.min(self.buffer.len()));
            self.consume(buffered);
            length -= buffered as u64;
            if length == 0 {
                return Ok(());
            }
            self.fill_or_end()?;
        }
    }

    /// Drops the first `length` bytes read (as many as there are).
    fn consume(&mut self, length: usize) {
        self.buffer.drain(..length.min(self.buffer.len()));
    }

    /// Reads more into the buffer; an error if the connection ended.
    fn fill_or_end(&mut self) -> io::Result<usize> {
        match self.fill()? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
            read => Ok(read),
        }
    }

    /// Reads more into the buffer: how many bytes, 0 once the connection ended.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0; READ_CHUNK];
        let read = loop {
            match self.stream.read(&mut chunk) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                outcome => break outcome?,
            }
        };
        self.buffer
            .extend_from_slice(chunk.get(..read).unwrap_or_default());
        self.received += read;
        Ok(read)
    }
}

/// What `response` (a complete head) says about reading its answer: `None` for an
/// informational answer (another head follows).
fn head_of(response: &httparse::Response<'_, '_>) -> io::Result<Option<Head>> {
    let status = response.code.unwrap_or_default();
    match status {
        // We never ask to switch protocols: the connection is no HTTP any more.
        101 => return Err(invalid("the server switched protocols")),
        100..=199 => return Ok(None),
        _ => {}
    }
    let mut retry_after = None;
    let mut length = None;
    let mut transfer_encoding = None;
    let mut close = response.version != Some(1);
    for header in response.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            continue;
        };
        let value = value.trim();
        if header.name.eq_ignore_ascii_case("retry-after") {
            retry_after = Some(value.to_owned());
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let parsed = value
                .parse::<u64>()
                .map_err(|_| invalid("an invalid Content-Length"))?;
            if length.is_some_and(|length| length != parsed) {
                return Err(invalid("two different Content-Lengths"));
            }
            length = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Of several, the last coding is the one that frames the body.
            transfer_encoding = value.rsplit(',').next().map(str::trim).map(str::to_owned);
        } else if header.name.eq_ignore_ascii_case("connection") {
            close |= value
                .split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("close"));
        }
    }
    let body = match (status, transfer_encoding, length) {
        (204 | 304, _, _) => Body::Empty,
        (_, Some(coding), _) if coding.eq_ignore_ascii_case("chunked") => Body::Chunked,
        (_, Some(_), _) | (_, None, None) => Body::UntilClose,
        (_, None, Some(0)) => Body::Empty,
        (_, None, Some(length)) => Body::Length(length),
    };
    Ok(Some(Head {
        status,
        retry_after,
        close: close || body == Body::UntilClose,
        body,
    }))
}

/// An answer this file cannot read.
fn invalid(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread;

    use super::*;
    use crate::wire::{SESSIONS_END, SESSIONS_START};

    const WAIT: Duration = Duration::from_secs(5);

    fn endpoint(host: &str) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            key: "test-key".to_owned(),
            proxy: None,
        }
    }

    /// A session's start and end, as the worker would pipeline them.
    fn start_and_end() -> [Post; 2] {
        [
            Post {
                path: SESSIONS_START,
                body: br#"{"sessionId":"s1"}"#.to_vec(),
            },
            Post {
                path: SESSIONS_END,
                body: br#"{"sessionId":"s1","status":"ok"}"#.to_vec(),
            },
        ]
    }

    fn status(status: u16) -> Answer {
        Answer::Status {
            status,
            retry_after: None,
        }
    }

    /// What a hand-made server saw: each request's connection (numbered from 0 in the order
    /// accepted), request line and body.
    type Seen = Arc<Mutex<Vec<(usize, String, String)>>>;

    /// A server on 127.0.0.1 that runs `serve` on each connection it accepts, each on a
    /// thread of its own, with the connection's number: its URL, and how many it accepted.
    fn server(
        serve: impl Fn(usize, TcpStream) + Send + Sync + 'static,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let serve = Arc::new(serve);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let index = counter.fetch_add(1, Ordering::SeqCst);
                let serve = Arc::clone(&serve);
                thread::spawn(move || serve(index, stream));
            }
        });
        (url, accepted)
    }

    /// Reads one request: its request line and body; `None` once the client closed.
    fn read_request(reader: &mut impl BufRead) -> Option<(String, String)> {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).ok()?;
            if header == "\r\n" || header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some((line.trim_end().to_owned(), String::from_utf8(body).ok()?))
    }

    /// Reads `count` requests from `stream` into `seen` (fewer if the client closes).
    fn read_requests(stream: &TcpStream, count: usize, index: usize, seen: &Seen) {
        let mut reader = BufReader::new(stream);
        for _ in 0..count {
            let Some((line, body)) = read_request(&mut reader) else {
                return;
            };
            seen.lock().unwrap().push((index, line, body));
        }
    }

    /// Writes `bytes` a few at a time, so that the client reads heads, chunk sizes and bodies
    /// in pieces.
    fn write_in_pieces(mut stream: &TcpStream, bytes: &[u8]) {
        stream.set_nodelay(true).unwrap();
        for piece in bytes.chunks(7) {
            if stream.write_all(piece).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// A server that answers every request `202` on the connection it came on, for as long
    /// as the client keeps it.
    fn accepting_server(seen: &Seen) -> (String, Arc<AtomicUsize>) {
        let seen = Arc::clone(seen);
        server(move |index, mut stream| {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while let Some((line, body)) = read_request(&mut reader) {
                seen.lock().unwrap().push((index, line, body));
                let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}";
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        })
    }

    #[cfg(feature = "testing")]
    #[test]
    fn two_requests_cost_one_round_trip_and_arrive_in_order_with_the_contract_s_headers() {
        use crate::testing::{Collector, Reply};

        let collector = Collector::start().unwrap();
        collector.set_reply(Reply::accepted().after(Duration::from_millis(300)));
        let host = format!("{}/relay/", collector.url());
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();

        let started = Instant::now();
        let answers = pipeline.post_all(&endpoint(&host), &requests, WAIT);
        let took = started.elapsed();

        assert_eq!(answers, Some(vec![status(202), status(202)]));
        // One by one, each answer 300 ms after its request: 600 ms and more.
        assert!(took < Duration::from_millis(550), "{took:?}");
        let received = collector.wait_for_requests(2, WAIT).unwrap();
        let authority = collector.url().trim_start_matches("http://");
        for (request, post) in received.iter().zip(&posts) {
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, format!("/relay{}", post.path));
            assert_eq!(request.header("host"), Some(authority));
            assert_eq!(request.header("content-type"), Some("application/json"));
            assert_eq!(request.header("x-allstak-key"), Some("test-key"));
            assert_eq!(request.header("user-agent"), Some(USER_AGENT));
            assert_eq!(request.body.as_bytes(), post.body);
        }
        assert!(received[0].received_at <= received[1].received_at);
    }

    #[test]
    fn work_meanwhile_is_done_once_the_requests_are_written_before_their_answers_are_read() {
        // (requests the server read, work done): the server answers only once the work is
        // done, and the work is done only once the server read both requests.
        let state = Arc::new((Mutex::new((0, false)), Condvar::new()));
        let server_state = Arc::clone(&state);
        let (url, _) = server(move |_, mut stream| {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            for _ in 0..2 {
                if read_request(&mut reader).is_none() {
                    return;
                }
            }
            let (lock, changed) = &*server_state;
            let mut read = lock.lock().unwrap();
            read.0 = 2;
            changed.notify_all();
            let (done, _) = changed.wait_timeout_while(read, WAIT, |s| !s.1).unwrap();
            if done.1 {
                let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                let _ = stream.write_all(answer.repeat(2).as_bytes());
            }
        });
        let work_state = Arc::clone(&state);
        let mut pipeline = Pipeline::default();
        pipeline.meanwhile(Some(Box::new(move || {
            let (lock, changed) = &*work_state;
            let read = lock.lock().unwrap();
            let (mut read, _) = changed.wait_timeout_while(read, WAIT, |s| s.0 < 2).unwrap();
            if read.0 == 2 {
                read.1 = true;
                changed.notify_all();
            }
        })));
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let answers = pipeline.post_all(&endpoint(&url), &requests, WAIT * 3);
        assert_eq!(answers, Some(vec![status(202), status(202)]));
        assert!(state.0.lock().unwrap().1);
    }

    #[test]
    fn a_kept_connection_that_got_an_answer_nobody_asked_for_is_not_reused() {
        // 0, then 1 once the first call is over (the test), then 2 once the first connection
        // got its stray answer (the server).
        let step = Arc::new((Mutex::new(0), Condvar::new()));
        let wait_for = |step: &(Mutex<u32>, Condvar), at: u32| {
            let now = step.0.lock().unwrap();
            *step
                .1
                .wait_timeout_while(now, WAIT, |now| *now < at)
                .unwrap()
                .0
                >= at
        };
        let go_on = |step: &(Mutex<u32>, Condvar), to: u32| {
            *step.0.lock().unwrap() = to;
            step.1.notify_all();
        };
        let served = Arc::clone(&step);
        let (url, accepted) = server(move |index, mut stream| {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while read_request(&mut reader).is_some() {
                let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
                if index == 0 && wait_for(&served, 1) {
                    let stray = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
                    let _ = stream.write_all(stray.as_bytes());
                    go_on(&served, 2);
                }
            }
        });
        let posts = start_and_end();
        let mut pipeline = Pipeline::default();
        let first = pipeline.post_all(&endpoint(&url), &[&posts[0]], WAIT);
        assert_eq!(first, Some(vec![status(202)]));
        go_on(&step, 1);
        assert!(wait_for(&step, 2));
        // Not the stray 500: the answer to this request, on a connection of its own.
        let second = pipeline.post_all(&endpoint(&url), &[&posts[1]], WAIT);
        assert_eq!(second, Some(vec![status(202)]));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    /// A TLS server on loopback (a certificate for `127.0.0.1`, made for these tests), with
    /// rustls's defaults: two session tickets sent after each handshake. Answers `202` to
    /// each request; counts the handshakes done (tickets sent).
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    fn tls_server() -> (String, Handshakes, Arc<rustls::ClientConfig>) {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let cert = CertificateDer::from(&include_bytes!("testdata/loopback-cert.der")[..]);
        let key = PrivatePkcs8KeyDer::from(&include_bytes!("testdata/loopback-key.der")[..]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], PrivateKeyDer::Pkcs8(key.clone_key()))
            .unwrap();
        let config = Arc::new(config);
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let handshakes = Handshakes::default();
        let done = Arc::clone(&handshakes);
        let (url, _) = server(move |_, mut tcp| {
            let mut tls = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            while tls.is_handshaking() || tls.wants_write() {
                if tls.complete_io(&mut tcp).is_err() {
                    return;
                }
            }
            *done.0.lock().unwrap() += 1;
            done.1.notify_all();
            let mut stream = rustls::StreamOwned::new(tls, tcp);
            while read_request(&mut BufReader::new(&mut stream)).is_some() {
                let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                if stream
                    .write_all(answer.as_bytes())
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
        (
            url.replace("http://", "https://"),
            handshakes,
            Arc::new(client),
        )
    }

    /// How many handshakes a [`tls_server`] did, and a wake on each.
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    type Handshakes = Arc<(Mutex<usize>, Condvar)>;

    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    #[test]
    fn a_warmed_tls_connection_carries_the_call_after_the_session_tickets_came() {
        let (url, handshakes, client) = tls_server();
        let mut pipeline = Pipeline::default();
        pipeline.tls.config = Some(client);
        pipeline.warm(&endpoint(&url), WAIT);
        let done = handshakes.0.lock().unwrap();
        let (done, _) = handshakes
            .1
            .wait_timeout_while(done, WAIT, |done| *done == 0)
            .unwrap();
        assert_eq!(*done, 1, "the handshake done and the tickets sent");
        drop(done);
        let posts = start_and_end();
        for post in &posts {
            let answers = pipeline.post_all(&endpoint(&url), &[post], WAIT);
            assert_eq!(answers, Some(vec![status(202)]));
        }
        assert_eq!(*handshakes.0.lock().unwrap(), 1, "one connection for both");
    }

    #[test]
    fn a_kept_connection_carries_the_next_call() {
        let seen = Seen::default();
        let (url, accepted) = accepting_server(&seen);
        let posts = start_and_end();
        let mut pipeline = Pipeline::default();
        for post in &posts {
            let answers = pipeline.post_all(&endpoint(&url), &[post], WAIT);
            assert_eq!(answers, Some(vec![status(202)]));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        let lines: Vec<_> = seen.lock().unwrap().iter().map(|s| s.1.clone()).collect();
        assert_eq!(
            lines,
            [
                format!("POST {SESSIONS_START} HTTP/1.1"),
                format!("POST {SESSIONS_END} HTTP/1.1")
            ]
        );
    }

    #[test]
    fn an_answer_that_closes_the_connection_ends_the_call_and_nothing_is_sent_again() {
        let seen = Seen::default();
        let recorded = Arc::clone(&seen);
        let (url, accepted) = server(move |index, mut stream| {
            read_requests(&stream, 2, index, &recorded);
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            );
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();

        let answers = pipeline.post_all(&endpoint(&url), &requests, WAIT);

        assert_eq!(answers, Some(vec![status(202)]));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_fresh_connection_that_ends_unanswered_is_not_tried_again() {
        let seen = Seen::default();
        let recorded = Arc::clone(&seen);
        let (url, accepted) = server(move |index, stream| {
            read_requests(&stream, 2, index, &recorded);
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();

        let answers = Pipeline::default().post_all(&endpoint(&url), &requests, WAIT);

        assert_eq!(answers, Some(vec![]));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_warmed_connection_the_server_closed_is_replaced_once() {
        let seen = Seen::default();
        let recorded = Arc::clone(&seen);
        let (url, accepted) = server(move |index, mut stream| {
            // The first connection is closed at once, as by an idle timeout.
            if index == 0 {
                return;
            }
            read_requests(&stream, 2, index, &recorded);
            let answer = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}";
            let _ = stream.write_all(answer.repeat(2).as_bytes());
            thread::sleep(WAIT);
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();
        pipeline.warm(&endpoint(&url), WAIT);
        // Time for the server to close it, and for its end to reach the client.
        thread::sleep(Duration::from_millis(100));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        let answers = pipeline.post_all(&endpoint(&url), &requests, WAIT);

        assert_eq!(answers, Some(vec![status(202), status(202)]));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        let connections: Vec<_> = seen.lock().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(connections, [1, 1]);
    }

    #[test]
    fn chunked_answers_are_read_through_and_the_connection_kept() {
        let seen = Seen::default();
        let recorded = Arc::clone(&seen);
        let (url, accepted) = server(move |index, stream| {
            read_requests(&stream, 2, index, &recorded);
            write_in_pieces(
                &stream,
                b"HTTP/1.1 100 Continue\r\n\r\n\
                  HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n\
                  HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n\
                  Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            );
            read_requests(&stream, 1, index, &recorded);
            write_in_pieces(&stream, b"HTTP/1.1 204 No Content\r\n\r\n");
            thread::sleep(WAIT);
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();

        let answers = pipeline.post_all(&endpoint(&url), &requests, WAIT);
        let again = pipeline.post_all(&endpoint(&url), &requests[..1], WAIT);

        let limited = Answer::Status {
            status: 429,
            retry_after: Some("7".to_owned()),
        };
        assert_eq!(answers, Some(vec![status(202), limited]));
        assert_eq!(again, Some(vec![status(204)]));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    /// A server that reads two requests and answers the first with `head` followed by a body
    /// of `MAX_RESPONSE_BODY + 1` bytes (`chunk` makes it one chunk), and then, if the client
    /// still reads, the second with `202`.
    fn oversized_body_server(head: &'static str, chunked: bool) -> (String, Arc<AtomicUsize>) {
        server(move |index, mut stream| {
            read_requests(&stream, 2, index, &Seen::default());
            let length = usize::try_from(MAX_RESPONSE_BODY).unwrap() + 1;
            let mut answer = head.as_bytes().to_vec();
            if chunked {
                answer.extend_from_slice(format!("{length:x}\r\n").as_bytes());
            }
            answer.extend(std::iter::repeat_n(b'x', length));
            if chunked {
                answer.extend_from_slice(b"\r\n0\r\n\r\n");
            }
            answer.extend_from_slice(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}");
            let _ = stream.write_all(&answer);
            thread::sleep(WAIT);
        })
    }

    #[test]
    fn an_answer_past_the_body_bound_counts_and_ends_the_call() {
        let length = MAX_RESPONSE_BODY + 1;
        let heads = [
            (
                format!("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: {length}\r\n\r\n"),
                false,
            ),
            (
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_owned(),
                true,
            ),
        ];
        for (head, chunked) in heads {
            let (url, accepted) = oversized_body_server(head.leak(), chunked);
            let posts = start_and_end();
            let requests: Vec<&Post> = posts.iter().collect();
            let mut pipeline = Pipeline::default();

            let started = Instant::now();
            let answers = pipeline.post_all(&endpoint(&url), &requests, WAIT);

            let unavailable = Answer::Status {
                status: 503,
                retry_after: Some("7".to_owned()),
            };
            assert_eq!(answers, Some(vec![unavailable]), "chunked: {chunked}");
            // Not waiting for the connection to end: it stays open for 5 s.
            assert!(started.elapsed() < Duration::from_secs(2));
            // The connection is not kept: the next call opens another.
            let _ = pipeline.post_all(&endpoint(&url), &requests, Duration::from_millis(100));
            assert_eq!(accepted.load(Ordering::SeqCst), 2);
        }
    }

    #[test]
    fn the_last_answer_may_end_with_the_connection() {
        let (url, _) = server(move |index, stream| {
            read_requests(&stream, 2, index, &Seen::default());
            write_in_pieces(
                &stream,
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}\
                  HTTP/1.1 202 Accepted\r\n\r\n{\"success\":true}",
            );
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();

        let answers = Pipeline::default().post_all(&endpoint(&url), &requests, WAIT);

        assert_eq!(answers, Some(vec![status(202), status(202)]));
    }

    #[test]
    fn the_call_ends_by_its_timeout_when_no_answer_comes() {
        let (url, _) = server(move |index, stream| {
            read_requests(&stream, 2, index, &Seen::default());
            thread::sleep(WAIT);
        });
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();

        let started = Instant::now();
        let answers =
            Pipeline::default().post_all(&endpoint(&url), &requests, Duration::from_millis(300));
        let took = started.elapsed();

        assert_eq!(answers, Some(vec![]));
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn a_refused_connection_gives_no_answers_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();

        let started = Instant::now();
        let answers = Pipeline::default().post_all(&endpoint(&url), &requests, WAIT);

        assert_eq!(answers, Some(vec![]));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn through_a_proxy_nothing_is_pipelined_nor_opened_ahead() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let proxied = Endpoint {
            proxy: Some("http://127.0.0.1:9".to_owned()),
            ..endpoint(&url)
        };
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();

        pipeline.warm(&proxied, WAIT);
        assert_eq!(pipeline.post_all(&proxied, &requests, WAIT), None);
        let nothing = listener.accept().map(drop).unwrap_err();
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);

        // The same host without the proxy: opened ahead of time.
        pipeline.warm(&endpoint(&url), WAIT);
        assert!(listener.accept().is_ok());
    }

    #[test]
    fn the_ureq_backend_opens_ahead_and_pipelines_through_the_backend_seam() {
        use super::super::http::Backend;

        let seen = Seen::default();
        let (url, accepted) = accepting_server(&seen);
        let endpoint = endpoint(&url);
        let mut backend: Box<dyn Backend> = Box::new(super::super::ureq::Ureq::default());
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();

        backend.warm(&endpoint, WAIT);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        let answers = backend.post_all(&endpoint, &requests, WAIT);

        assert_eq!(answers, Some(vec![status(202), status(202)]));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(seen.lock().unwrap().len(), 2);
        // Posted one by one after them (a long-running program's next request): on it too.
        assert_eq!(backend.post(&endpoint, &posts[0], WAIT), status(202));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn a_failed_tls_handshake_gives_no_answers() {
        let (url, accepted) = server(|_, mut stream| {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        });
        let host = url.replace("http://", "https://");
        let posts = start_and_end();
        let requests: Vec<&Post> = posts.iter().collect();
        let mut pipeline = Pipeline::default();

        pipeline.warm(&endpoint(&host), WAIT);
        let answers = pipeline.post_all(&endpoint(&host), &requests, WAIT);

        assert_eq!(answers, Some(vec![]));
        // One for the warm, one for the call: nothing was kept.
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    #[test]
    fn rustls_is_set_up_with_the_platform_verifier() {
        assert!(rustls_config().is_ok());
    }

    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    #[test]
    fn without_tls_an_https_host_is_left_to_ureq() {
        let posts = start_and_end();
        let https = endpoint("https://127.0.0.1:9");
        assert_eq!(
            Pipeline::default().post_all(&https, &[&posts[0]], WAIT),
            None
        );
        let http = endpoint("http://127.0.0.1:9");
        assert!(
            Pipeline::default()
                .post_all(&http, &[&posts[0]], WAIT)
                .is_some()
        );
    }

    #[test]
    fn a_host_is_read_into_where_to_connect_and_what_to_write() {
        let target = |host: &str| Target::parse(host);
        let expected = |secure, host: &str, port, authority: &str, base: &str| {
            Some(Target {
                secure,
                host: host.to_owned(),
                port,
                authority: authority.to_owned(),
                base: base.to_owned(),
            })
        };
        assert_eq!(
            target("https://api.allstak.sa"),
            expected(true, "api.allstak.sa", 443, "api.allstak.sa", "")
        );
        assert_eq!(
            target("http://h:8080/relay/v2/"),
            expected(false, "h", 8080, "h:8080", "/relay/v2")
        );
        assert_eq!(target("HTTPS://h:443"), expected(true, "h", 443, "h", ""));
        assert_eq!(
            target("http://[::1]:9/x"),
            expected(false, "::1", 9, "[::1]:9", "/x")
        );
        assert_eq!(target("http://u:p@h"), None);
        assert_eq!(target("http://h/?q=1"), None);
        assert_eq!(target("ftp://h"), None);
        assert_eq!(target("h:80"), None);
        assert_eq!(target(""), None);
    }

    #[test]
    fn a_key_that_is_no_header_value_is_left_to_ureq() {
        let (url, accepted) = accepting_server(&Seen::default());
        let injected = Endpoint {
            key: "k\r\nX-Injected: 1".to_owned(),
            ..endpoint(&url)
        };
        let posts = start_and_end();
        let mut pipeline = Pipeline::default();
        assert_eq!(pipeline.post_all(&injected, &[&posts[0]], WAIT), None);
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        let answers = pipeline.post_all(&endpoint(&url), &[&posts[0]], WAIT);
        assert_eq!(answers, Some(vec![status(202)]));
    }
}
