//! The process-wide client: one configuration, one session tracker, one transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::breadcrumbs::{Breadcrumb, Trail};
use crate::config::{self, Config};
use crate::diag::{self, Once};
use crate::event::ErrorEvent;
use crate::panic::PanicRecord;
use crate::session::{EndedSession, SessionTracker};
use crate::stack::Stack;
use crate::state::{SessionFile, StateDir};
use crate::transport::{self, Delivery, Endpoint, Outgoing, Transport};
use crate::wire;
use crate::{SessionId, SessionStatus};

/// The session of this process.
static TRACKER: SessionTracker = SessionTracker::new();
/// The breadcrumbs of this process.
static TRAIL: Trail = Trail::new();
static CLIENT: OnceLock<Client> = OnceLock::new();
/// A panic on the session's own thread, kept until we know whether it ended the process.
static SESSION_THREAD_PANIC: Mutex<Option<PanicRecord>> = Mutex::new(None);
/// Set once the thread that ended the session is done sending the end.
static END_SENT: (Mutex<Option<EndSent>>, Condvar) = (Mutex::new(None), Condvar::new());

/// How the session's end went, for what the process does at exit.
#[derive(Clone, Copy)]
struct EndSent {
    /// The exit deadline it was sent under.
    deadline: Instant,
    /// Whether the worker was done with it before the deadline (sent, refused, or not
    /// reachable); a server that takes the connection and never answers keeps it past.
    settled: bool,
    /// Ended by the program (`end_session`, `Guard::end_with`), which may run on after it;
    /// otherwise by `main` returning, the guard's drop, a signal or the exit itself.
    by_the_program: bool,
}
/// How long an ending program waits for its end to be sent before it also writes the end into
/// the state file (so that a kill during a long wait does not make it `abnormal`).
const KEEP_END_AFTER: Duration = Duration::from_millis(10);

struct Client {
    config: Arc<Config>,
    outbox: Option<Outbox>,
    session_thread: ThreadId,
}

/// What sends: the transport, and the session's state file it keeps up to date.
struct Outbox {
    transport: Transport,
    file: Arc<SessionFile>,
}

impl Outbox {
    fn spawn(config: &Config, host: &str, key: &str) -> Option<Self> {
        let dir = StateDir::locate(config.state_dir.clone(), key, host);
        let file = Arc::new(SessionFile::new(
            dir,
            config.release(),
            config.environment(),
        ));
        let endpoint = Endpoint {
            host: host.to_owned(),
            key: key.to_owned(),
            proxy: config.proxy_url().map(str::to_owned),
        };
        diag::debug!(
            "sending to {host} with {} and {}{}",
            transport::BACKEND,
            transport::TLS,
            config
                .proxy
                .as_ref()
                .map_or(String::new(), |proxy| format!(" through the proxy {proxy}"))
        );
        if transport::TLS == "none" && host.starts_with("https://") {
            diag::warning!(
                "this build has no TLS (the `rustls` or `native-tls` feature of allstak): \
                 nothing can reach {host}"
            );
        }
        let heartbeat = Arc::clone(&file);
        let transport = Transport::spawn(endpoint, Box::new(move || heartbeat.heartbeat()))?;
        Some(Self { transport, file })
    }
}

/// Sets the SDK up with `config`; starts the session unless tracking is off or this is a test
/// run. Returns whether this setup took effect: only the first in a process does.
pub(crate) fn start(config: Config, cfg_test: bool) -> bool {
    diag::enable(config.debug);
    for problem in &config.problems {
        diag::warning!("{problem}");
    }
    let test_run = !config.track_test_runs && config::is_test_run(cfg_test);
    if test_run {
        diag::debug!(
            "this is a test run: nothing will be sent (ALLSTAK_TRACK_TEST_RUNS=1 to change that)"
        );
    }
    let config = Arc::new(config);
    let new_outbox = match (&config.api_key, &config.host) {
        (Some(key), Some(host)) if !test_run => {
            warn_if_plain_http(host);
            Outbox::spawn(&config, host, key)
        }
        (None, _) if !config.api_key_refused => {
            diag::debug!("no API key (ALLSTAK_API_KEY): nothing will be sent");
            None
        }
        _ => None,
    };
    let track = config.auto_session_tracking && !test_run;
    let new_client = Client {
        config,
        outbox: new_outbox,
        session_thread: thread::current().id(),
    };
    let max_breadcrumbs = new_client.config.max_breadcrumbs;
    if CLIENT.set(new_client).is_err() {
        diag::debug!("allstak was already set up in this process; this setup is ignored");
        return false;
    }
    TRAIL.set_capacity(max_breadcrumbs);
    if let Some(id) = client().and_then(|c| c.config.user_id.as_deref()) {
        crate::scope::set_configured_user(id);
    }
    if !track {
        return true;
    }
    let id = SessionId::random();
    if !TRACKER.start(id, Instant::now()) {
        return true;
    }
    diag::debug!("session {id} started");
    // Every way the session can end is in place before anything is sent.
    crate::panic::install();
    register_at_exit();
    if client().is_some_and(|c| c.config.end_on_signals) {
        crate::signals::install();
    }
    if let (Some(client), Some(outbox)) = (client(), outbox()) {
        let config = Arc::clone(&client.config);
        let file = Arc::clone(&outbox.file);
        outbox.transport.run(Box::new(move |worker| {
            // Before our own start: the ends of sessions whose processes died.
            file.recover_abnormal_sessions(|end| worker.deliver(end) != Delivery::NotYet);
            // A program already ending (done in a microsecond) has nothing to leave open: its
            // end is next in line, and is written only if it cannot be sent.
            if !worker.is_ending() {
                file.open(id);
            }
            worker.deliver(&wire::session_start(id, &config));
        }));
    }
    true
}

fn client() -> Option<&'static Client> {
    CLIENT.get()
}

fn outbox() -> Option<&'static Outbox> {
    client()?.outbox.as_ref()
}

fn transport() -> Option<&'static Transport> {
    outbox().map(|outbox| &outbox.transport)
}

fn warn_if_plain_http(host: &str) {
    let Some(rest) = host.strip_prefix("http://") else {
        return;
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let name = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(name, _)| name);
    let loopback = name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        diag::say_once(
            Once::PlainHttp,
            "warn",
            format_args!("the API key goes over plain http:// to {name}; use https://"),
        );
    }
}

/// Whether a session is running: one relaxed atomic load.
#[inline]
pub(crate) fn session_active() -> bool {
    TRACKER.is_active()
}

pub(crate) fn current_session_id() -> Option<SessionId> {
    TRACKER.current_id()
}

pub(crate) fn session_status() -> SessionStatus {
    TRACKER.status()
}

pub(crate) fn handled_error_count() -> u64 {
    TRACKER.error_count()
}

pub(crate) fn dropped_event_count() -> u64 {
    transport().map_or(0, Transport::dropped_event_count)
}

/// Whether error events are sent (there is a transport): integrations skip work otherwise.
#[cfg(feature = "tower")]
pub(crate) fn sending() -> bool {
    transport().is_some()
}

/// Records a handled error on the session and queues its event (never waits).
///
/// The event is only built (the user's `Display` or `Debug` run) when there is a transport to
/// send it: without a key, in a test run, it would be thrown away.
pub(crate) fn capture(build: impl FnOnce() -> ErrorEvent) {
    TRACKER.record_handled_error();
    if transport().is_some() {
        let mut event = build();
        if client().is_some_and(|c| c.config.attach_stacktrace) {
            event.stack = Some(Stack::capture());
        }
        if !TRACING_LAYER.load(Ordering::Relaxed)
            || reported_once::first(Reporter::Call, fingerprint(&event.message))
        {
            send_event(event);
        }
    }
}

/// Whether a `tracing` layer of ours exists: only then can an error be reported twice.
static TRACING_LAYER: AtomicBool = AtomicBool::new(false);

#[cfg(feature = "tracing")]
pub(crate) fn note_tracing_layer() {
    TRACING_LAYER.store(true, Ordering::Relaxed);
}

/// [`capture`] for an error-level `tracing` event, identified by `fingerprint` (its error's
/// text, or its message): skipped when a call on this thread just reported the same error.
#[cfg(feature = "tracing")]
pub(crate) fn capture_from_tracing(fingerprint: u64, build: impl FnOnce() -> ErrorEvent) {
    TRACKER.record_handled_error();
    if transport().is_some() && reported_once::first(Reporter::Tracing, fingerprint) {
        send_event(build());
    }
}

/// What tells one error from another for [`reported_once`]: its text, hashed.
pub(crate) fn fingerprint(text: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(text)
}

/// Who reports an error.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reporter {
    /// `#[allstak::track]` or `capture_*`.
    Call,
    /// An error-level `tracing` event.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    Tracing,
}

/// One error, one event: a fn with both `#[tracing::instrument(err)]` and `#[allstak::track]`
/// reports its `Err` through both, one right after the other on the same thread, in the order
/// of the attributes. The second report of the same text by the other reporter is dropped.
mod reported_once {
    use std::cell::Cell;

    use super::Reporter;

    thread_local! {
        static LAST: Cell<Option<(Reporter, u64)>> = const { Cell::new(None) };
    }

    /// Whether this report is the first of its error: `false` if the other reporter just
    /// reported the same fingerprint on this thread (that report is then consumed).
    pub(super) fn first(reporter: Reporter, fingerprint: u64) -> bool {
        LAST.try_with(|last| match last.get() {
            Some((other, seen)) if other != reporter && seen == fingerprint => {
                last.set(None);
                false
            }
            _ => {
                last.set(Some((reporter, fingerprint)));
                true
            }
        })
        .unwrap_or(true)
    }
}

fn send_event(mut event: ErrorEvent) {
    if let (Some(client), Some(transport)) = (client(), transport()) {
        event.session_id = TRACKER.current_id();
        event.context.attach();
        let mark = TRAIL.mark();
        let config = Arc::clone(&client.config);
        // A panic in `before_send` while this thread panics (in the panic hook, or unwinding)
        // would abort the process: then it runs on the transport thread instead.
        let hook_later = config.before_send.is_some() && thread::panicking();
        if let Some(hook) = config.before_send.as_deref().filter(|_| !hook_later) {
            match crate::before_send::apply(hook, event) {
                Some(kept) => event = kept,
                None => return,
            }
        }
        // The trail is read on the transport thread: the caller only took the mark.
        transport.send_event(move || {
            if hook_later && let Some(hook) = config.before_send.as_deref() {
                match crate::before_send::apply(hook, event) {
                    Some(kept) => event = kept,
                    None => return Outgoing::Discarded,
                }
            }
            wire::error(&event, &TRAIL.before(mark), &config)
                .map_or(Outgoing::Unsendable, Outgoing::Request)
        });
    }
}

/// Adds a breadcrumb to the trail later error events carry; nothing without a transport.
pub(crate) fn add_breadcrumb(build: impl FnOnce() -> Breadcrumb) {
    if transport().is_some() {
        TRAIL.add(build());
    }
}

/// A handled error that is not sent (`#[allstak::track(report = false)]`).
pub(crate) fn record_handled_error() {
    TRACKER.record_handled_error();
}

pub(crate) fn record_crash() {
    TRACKER.record_crash();
}

/// From the panic hook: a panic is a handled error until we learn it ended the process.
pub(crate) fn record_panic(record: PanicRecord) {
    if !TRACKER.record_handled_error() {
        return;
    }
    let on_session_thread = client().is_some_and(|c| c.session_thread == thread::current().id());
    if on_session_thread {
        // `main`'s guard decides: a crash if it unwinds, a caught panic if main goes on.
        if let Ok(mut slot) = SESSION_THREAD_PANIC.try_lock() {
            *slot = Some(record);
        }
    } else {
        send_event(record.into_event(false));
    }
}

fn take_session_thread_panic() -> Option<PanicRecord> {
    SESSION_THREAD_PANIC.try_lock().ok()?.take()
}

/// Ends the session with the status reached so far (or `final_status`), sending whatever is
/// queued first; returns within the exit deadline whatever the server does.
pub(crate) fn end(final_status: Option<SessionStatus>) -> bool {
    // A panic on main's thread that main survived was caught: report it as handled.
    if final_status != Some(SessionStatus::Crashed)
        && TRACKER.status() != SessionStatus::Crashed
        && let Some(record) = take_session_thread_panic()
    {
        send_event(record.into_event(false));
    }
    let Some(ended) = TRACKER.end(final_status, Instant::now()) else {
        wait_for_the_end_in_flight();
        return false;
    };
    diag::debug!("session {} ended: {}", ended.id, ended.status);
    let deadline = Instant::now() + client().map_or(Duration::ZERO, |c| c.config.exit_deadline);
    let sent = send_end(ended, deadline);
    let (done, sent_signal) = &END_SENT;
    if let Ok(mut done) = done.lock() {
        *done = Some(EndSent {
            deadline,
            settled: sent,
            by_the_program: final_status.is_some(),
        });
    }
    sent_signal.notify_all();
    sent
}

/// Another thread is ending the session (main returning while a signal or `exit` arrives):
/// the process must not die under it, so wait for it, never longer than the exit deadline.
fn wait_for_the_end_in_flight() {
    let Some(client) = client() else {
        return;
    };
    if !TRACKER.has_ended() {
        return;
    }
    let (done, sent) = &END_SENT;
    if let Ok(done) = done.lock() {
        let _ = sent.wait_timeout_while(done, client.config.exit_deadline, |done| done.is_none());
    }
}

/// Sends the session's end after everything queued before it, waiting until the exit deadline
/// at most. Returns whether the worker got through it in time.
fn send_end(ended: EndedSession, deadline: Instant) -> bool {
    let Some(outbox) = outbox() else {
        return true;
    };
    let transport = &outbox.transport;
    transport.set_deadline(deadline);
    let end = wire::session_end(
        &ended.id.to_string(),
        wire::millis(ended.duration),
        ended.status,
    );
    let (done, wait) = transport::signal();
    let file = Arc::clone(&outbox.file);
    let queued = transport.run_final(Box::new(move |worker| {
        let settled = worker.deliver(&end) != Delivery::NotYet;
        file.settle_end(&ended, settled);
        worker.ended_by(deadline);
        done.raise();
    }));
    // A server that answers at once leaves nothing to write.
    if queued && wait.raised_by(deadline.min(Instant::now() + KEEP_END_AFTER)) {
        return true;
    }
    // Not yet: if the process dies or exits before the worker is done, the next run sends
    // this end as it was, not as `abnormal`. (The worker removes it once the end is sent.)
    outbox.file.keep_end_unless_busy(&ended);
    queued && transport::done_by_deadline(&wait, deadline)
}

/// The process is dying of a panic that unwound out of `main` (or the session's guard):
/// crash, send the panic as a fatal event, end.
pub(crate) fn end_crashed(error: Option<ErrorEvent>) -> bool {
    TRACKER.record_crash();
    let event = error.or_else(|| take_session_thread_panic().map(|record| record.into_event(true)));
    if let Some(mut event) = event {
        event.level = crate::event::Level::Fatal;
        event.handled = false;
        send_event(event);
    }
    end(None)
}

/// Under `panic = "abort"` the hook is the last code that runs: send the crash and the end.
pub(crate) fn end_after_fatal_panic(record: PanicRecord) {
    if TRACKER.is_active() {
        send_event(record.into_event(true));
        end(None);
    }
}

/// Waits until every queued event was sent, at most the exit deadline.
pub(crate) fn flush() -> bool {
    match (client(), transport()) {
        (Some(client), Some(transport)) => {
            transport.flush(Instant::now() + client.config.exit_deadline)
        }
        _ => true,
    }
}

/// How the session's end went, once its sending is over.
fn end_sent() -> Option<EndSent> {
    *END_SENT.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process exits after its session ended, with errors reported since still queued: they
/// are sent first, within one exit deadline for the whole ending.
/// - Ended by the program (`end_session`, `Guard::end_with`): that call had its own wait; the
///   exit is the program's next step, with a fresh exit deadline.
/// - Ended by `main` returning, the guard's drop or a signal: the exit is the same ending, and
///   has what is left of the end's deadline.
///
/// Nothing when the worker was not done with the end in time (the server is not answering:
/// waiting again would hold the exit for nothing), or while it is still on the end.
fn flush_after_the_end(end: EndSent) {
    if let (Some(client), Some(transport)) = (client(), transport())
        && end.settled
        && transport.has_pending_events()
        && !transport.is_ending()
    {
        let now = Instant::now();
        let deadline = if end.by_the_program {
            now + client.config.exit_deadline
        } else {
            end.deadline
        };
        if deadline > now {
            transport.set_deadline(deadline);
            transport.flush(deadline);
        }
    }
}

/// Ends the session when the process exits without returning from `main`
/// (`std::process::exit`), keeping the status reached so far and the exit code.
fn register_at_exit() {
    unsafe extern "C" {
        fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
    }
    extern "C" fn end_at_exit() {
        // Unwinding out of an `extern "C"` fn would abort the process.
        let _ = std::panic::catch_unwind(|| {
            let ended_earlier = end_sent();
            end(None);
            if let Some(end) = ended_earlier {
                flush_after_the_end(end);
            }
        });
    }
    // SAFETY: `atexit` is the C standard library's; the callback is a plain `extern "C" fn`
    // that never unwinds.
    let registered = unsafe { atexit(end_at_exit) };
    if registered != 0 {
        diag::debug!(
            "could not register the exit handler; std::process::exit will not end the session"
        );
    }
}
