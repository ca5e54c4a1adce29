//! The process-wide client: one configuration, one session tracker, one transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::breadcrumbs::{Breadcrumb, Trail};
use crate::config::{self, Config};
use crate::diag::{self, Once};
use crate::event::ErrorEvent;
use crate::fork;
use crate::panic::PanicRecord;
use crate::session::{EndedSession, SessionTracker};
use crate::stack::Stack;
use crate::state::{SessionFile, StateDir};
use crate::transport::{self, Endpoint, Outgoing, Transport};
use crate::wire;
use crate::{SessionId, SessionStatus};

/// The session of this process.
static TRACKER: SessionTracker = SessionTracker::new();
/// The breadcrumbs of this process.
static TRAIL: Trail = Trail::new();
static CLIENT: OnceLock<Client> = OnceLock::new();
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
    // Every way the session can end is in place before the program's first line, and the only
    // one that can come from another thread (a signal) after the start is queued: an end is
    // always queued behind its start.
    fork::watch();
    crate::panic::install();
    register_at_exit();
    if let (Some(client), Some(outbox)) = (client(), outbox()) {
        let config = Arc::clone(&client.config);
        let file = Arc::clone(&outbox.file);
        outbox.transport.run(Box::new(move |worker| {
            // Before our own start: the ends of sessions whose processes died.
            file.recover_abnormal_sessions(|request| worker.deliver(request));
            let start = wire::session_start(id, &config);
            file.owe_start(&start);
            // A program already ending (done in a microsecond) has nothing to leave open: its
            // end is next in line, and is written only if it cannot be sent.
            if !worker.is_ending() {
                file.open(id);
            }
            file.settle_start(worker.deliver(&start));
        }));
    }
    if client().is_some_and(|c| c.config.end_on_signals) {
        crate::signals::install();
    }
    true
}

fn client() -> Option<&'static Client> {
    CLIENT.get()
}

/// What sends; never in a forked child (see [`crate::fork`]).
fn outbox() -> Option<&'static Outbox> {
    client()?.outbox.as_ref().filter(|_| !fork::is_child())
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
    TRACKER.is_active() && !fork::is_child()
}

pub(crate) fn current_session_id() -> Option<SessionId> {
    TRACKER.current_id().filter(|_| !fork::is_child())
}

pub(crate) fn session_status() -> SessionStatus {
    TRACKER.status()
}

pub(crate) fn handled_error_count() -> u64 {
    TRACKER.error_count()
}

pub(crate) fn dropped_event_count() -> u64 {
    if fork::is_child() {
        return fork::dropped_event_count();
    }
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
    if fork::is_child() {
        return fork::drop_event();
    }
    TRACKER.record_handled_error();
    if transport().is_some() {
        if past_its_panics() {
            send_caught_panics();
        }
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
    if fork::is_child() {
        return fork::drop_event();
    }
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

fn send_event(event: ErrorEvent) {
    send_event_as_of(event, TRAIL.mark());
}

/// Sends `event` with the breadcrumbs added before `mark` (taken when it happened).
fn send_event_as_of(mut event: ErrorEvent, mark: u64) {
    if let (Some(client), Some(transport)) = (client(), transport()) {
        event.session_id = TRACKER.current_id();
        event.context.attach();
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
    if fork::is_child() {
        return fork::drop_event();
    }
    if !TRACKER.record_handled_error() {
        return;
    }
    let on_session_thread = client().is_some_and(|c| c.session_thread == thread::current().id());
    if !on_session_thread {
        // Its thread's end (a join, a task's handle) is the program's business: handled.
        send_event(record.into_event(false));
        return;
    }
    // `main`'s guard decides: the crash if it unwinds out of `main`; otherwise it was caught.
    let at = Instant::now();
    if undecided::hold(record, TRAIL.mark(), at)
        && let Some(transport) = transport()
    {
        // Caught by the time it is `CAUGHT_AFTER` old, unless the guard took it: sent then.
        transport.run(Box::new(move |worker| {
            worker.pause_until(at + undecided::CAUGHT_AFTER);
            for (record, mark) in undecided::take_older_than(undecided::CAUGHT_AFTER) {
                send_event_as_of(record.into_event(false), mark);
            }
        }));
    }
}

/// The session thread is past its panics (it reports, flushes or ends normally): every panic
/// still undecided was caught, and is sent as a handled event, before what comes next.
fn send_caught_panics() {
    for (record, mark) in undecided::take_all() {
        send_event_as_of(record.into_event(false), mark);
    }
}

/// Whether this is the session's thread and it is not unwinding: its panics were caught.
fn past_its_panics() -> bool {
    !thread::panicking() && client().is_some_and(|c| c.session_thread == thread::current().id())
}

/// Panics on the session's own thread, waiting for the verdict: caught somewhere inside `main`
/// (`catch_unwind`, a current-thread runtime's task), or unwinding out of it (the crash).
/// Nothing runs when a panic is caught, so a panic is taken as caught when the session thread
/// next reports, flushes, panics again or ends normally, or once it is [`CAUGHT_AFTER`] old
/// (unwinding out of `main` takes far less), unless `main`'s guard took it as the crash first.
mod undecided {
    use std::sync::{Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use crate::panic::PanicRecord;

    /// A panic, and the trail's mark when it happened (its event carries the breadcrumbs as of
    /// then).
    pub(super) type Held = (PanicRecord, u64);

    /// How long a panic may unwind before it is taken as caught.
    pub(super) const CAUGHT_AFTER: Duration = Duration::from_millis(250);

    struct Undecided {
        record: PanicRecord,
        /// The trail's mark when it happened: its event carries the breadcrumbs as of then.
        mark: u64,
        at: Instant,
    }

    struct Panics {
        undecided: Vec<Undecided>,
        /// The latest one, if taken as caught by its age: should it unwind out of `main` after
        /// all (a slow unwind), it is still the crash.
        latest_caught: Option<Held>,
    }

    static PANICS: Mutex<Panics> = Mutex::new(Panics {
        undecided: Vec::new(),
        latest_caught: None,
    });

    /// Holds a new panic; the ones before it were caught (a panic cannot unwind past another).
    /// `false` if it could not be held (the lock is this thread's: a panic inside our own
    /// section), and was dropped.
    pub(super) fn hold(record: PanicRecord, mark: u64, at: Instant) -> bool {
        let Ok(mut panics) = PANICS.try_lock() else {
            return false;
        };
        panics.latest_caught = None;
        panics.undecided.push(Undecided { record, mark, at });
        true
    }

    /// The panics held for at least `age`: caught.
    pub(super) fn take_older_than(age: Duration) -> Vec<Held> {
        let mut panics = PANICS.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let old = panics
            .undecided
            .iter()
            .take_while(|held| now.saturating_duration_since(held.at) >= age)
            .count();
        let taken: Vec<_> = panics
            .undecided
            .drain(..old)
            .map(|held| (held.record, held.mark))
            .collect();
        if let Some((record, mark)) = taken.last()
            && panics.undecided.is_empty()
        {
            panics.latest_caught = Some((record.clone(), *mark));
        }
        taken
    }

    /// Every panic held: caught.
    pub(super) fn take_all() -> Vec<Held> {
        let mut panics = PANICS.lock().unwrap_or_else(PoisonError::into_inner);
        panics.latest_caught = None;
        panics
            .undecided
            .drain(..)
            .map(|held| (held.record, held.mark))
            .collect()
    }

    /// `main` is unwinding: the latest panic is the crash, those before it were caught.
    pub(super) fn take_the_crash() -> (Vec<Held>, Option<Held>) {
        let mut panics = PANICS.lock().unwrap_or_else(PoisonError::into_inner);
        let latest_caught = panics.latest_caught.take();
        let mut caught: Vec<_> = panics
            .undecided
            .drain(..)
            .map(|held| (held.record, held.mark))
            .collect();
        let crash = caught.pop().or(latest_caught);
        (caught, crash)
    }
}

/// Ends the session with the status reached so far (or `final_status`), sending whatever is
/// queued first; returns within the exit deadline whatever the server does.
pub(crate) fn end(final_status: Option<SessionStatus>) -> bool {
    if fork::is_child() {
        return true; // the parent's session: the parent ends it
    }
    // Panics on main's thread that main survived were caught: handled, sent before the end.
    send_caught_panics();
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
    let (done, wait) = transport::signal();
    let file = Arc::clone(&outbox.file);
    let queued = transport.run_final(Box::new(move |worker| {
        // After the start, if that has not gone out yet; never without it.
        file.send_end(&ended, |request| worker.deliver(request));
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
    if fork::is_child() {
        return true; // the parent's session: the parent ends it
    }
    TRACKER.record_crash();
    let crash = match error {
        // `main` returned `Err`: every panic before it was caught.
        Some(error) => {
            send_caught_panics();
            Some((error, TRAIL.mark()))
        }
        None => {
            let (caught, crash) = undecided::take_the_crash();
            for (record, mark) in caught {
                send_event_as_of(record.into_event(false), mark);
            }
            crash.map(|(record, mark)| (record.into_event(true), mark))
        }
    };
    if let Some((mut event, mark)) = crash {
        event.level = crate::event::Level::Fatal;
        event.handled = false;
        send_event_as_of(event, mark);
    }
    end(None)
}

/// Under `panic = "abort"` the hook is the last code that runs: send the crash and the end.
pub(crate) fn end_after_fatal_panic(record: PanicRecord) {
    if session_active() {
        // A panic in `before_send` itself: the crash cannot go through the hook that keeps
        // secrets out of events (it would panic again), so only the end tells of it.
        if !crate::before_send::is_running() {
            send_event(record.into_event(true));
        }
        end(None);
    }
}

/// Waits until every queued event was sent, at most the exit deadline.
pub(crate) fn flush() -> bool {
    if fork::is_child() {
        return fork::dropped_event_count() == 0;
    }
    if past_its_panics() {
        send_caught_panics();
    }
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
        if fork::is_child() {
            return; // the parent's session, and locks the child must not touch
        }
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
