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

use super::http::{Answer, Endpoint, MAX_RESPONSE_BODY};
use super::ureq::CONNECT_TIMEOUT;
use crate::diag;
use crate::wire::{Post, USER_AGENT};

/// The most bytes of an answer's head (status line and headers), and of a chunked body's
/// trailers: the ingest API's are a few hundred.
const MAX_HEAD: usize = 16 * 1024;

/// The most headers an answer may have.
const MAX_HEADERS: usize = 64;

/// How many bytes are read from the connection at a time.
const READ_CHUNK: usize = 8 * 1024;

/// The ureq backend's pipelined connection: none, or one to the host of the last call.
#[derive(Default)]
pub(super) struct Pipeline {
    connection: Option<Connection>,
    tls: Tls,
}

impl Pipeline {
    /// Opens the connection [`Self::post_all`] will use to `endpoint` (TCP connect and TLS
    /// handshake), taking at most `timeout`, unless one is open to it already. Does nothing
    /// where `post_all` would not pipeline (a proxy, …); a failure is only said in diagnostics.
    pub(super) fn warm(&mut self, endpoint: &Endpoint, timeout: Duration) {
        let Some(target) = Target::of(endpoint) else {
            return;
        };
        if self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.host == endpoint.host)
        {
            return;
        }
        self.connection = None;
        match Connection::open(&endpoint.host, &target, &mut self.tls, deadline_in(timeout)) {
            Ok(connection) => self.connection = Some(connection),
            Err(error) => diag::debug!("could not open a connection ahead of time: {error}"),
        }
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
        if let Some(mut kept) = self.connection.take()
            && kept.host == endpoint.host
        {
            let exchange = kept.exchange(&bytes, requests.len(), deadline);
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
        let exchange = fresh.exchange(&bytes, requests.len(), deadline);
        if exchange.reusable {
            self.connection = Some(fresh);
        }
        Some(exchange.answers)
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
        let uri: http::Uri = host.parse().ok()?;
        let scheme = uri.scheme_str()?;
        let secure = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return None;
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') || uri.query().is_some() {
            return None;
        }
        let name = authority.host();
        let default_port = if secure { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        Some(Self {
            secure,
            host: name
                .strip_prefix('[')
                .and_then(|name| name.strip_suffix(']'))
                .unwrap_or(name)
                .to_owned(),
            port,
            authority: if port == default_port {
                name.to_owned()
            } else {
                format!("{name}:{port}")
            },
            base: uri.path().trim_end_matches('/').to_owned(),
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
    deadline: Instant,
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(time_left(self.deadline)?))?;
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

/// The connection's bytes: plain, or through the build's TLS.
enum Stream {
    Plain(Socket),
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, Socket>>),
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
    buffer: Vec<u8>,
    /// Bytes read since the exchange began.
    received: usize,
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
    retry_after: Option<String>,
    body: Body,
    /// The server closes the connection after this answer.
    close: bool,
}

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Empty,
    Length(u64),
    Chunked,
    /// When the server closes the connection.
    UntilClose,
}

/// Whether the connection can carry more after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Continue,
    Stop,
}

impl Connection {
    /// Connects to `target` (each of its addresses in turn, within the connect bound) and
    /// does the TLS handshake for `https`, all by `deadline`.
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
                    });
                }
                Err(error) => failure = Some(error),
            }
        }
        Err(failure
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address")))
    }

    /// Writes `requests` (`count` of them) and reads their answers, by `deadline`.
    fn exchange(&mut self, requests: &[u8], count: usize, deadline: Instant) -> Exchange {
        self.stream.socket().deadline = deadline;
        self.received = 0;
        let mut answers = Vec::with_capacity(count);
        let outcome = self
            .stream
            .write_all(requests)
            .and_then(|()| self.stream.flush())
            .and_then(|()| self.read_answers(count, &mut answers));
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
