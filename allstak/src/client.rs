//! The client: one configuration, one session tracker, one breadcrumb trail, one outbox, and
//! the session's ending, as a value. A process has one, set up by `#[allstak::main]` or
//! [`crate::init`]; `allstak::testing::capture` runs a closure with another on its thread, and
//! unit tests build their own around a fake HTTP backend.
//!
//! Everything the SDK does for the program goes through [`current`]: the thread's capturing
//! client if there is one, else the process's.

mod caught;
mod shutdown;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::breadcrumbs::{self, Breadcrumb, Mark, ScopeTrail, Trail};
use crate::config::{self, Config};
use crate::diag::{self, Notice};
use crate::disabled::DisabledReason;
use crate::event::PanicRecord;
use crate::event::{ErrorEvent, Event, EventId, Level};
use crate::fork;
use crate::prepare;
use crate::session::SessionTracker;
use crate::stack::Stack;
use crate::state::{SessionFile, Spool, SpooledEvent, StateDir};
use crate::transport::{self, Backend, Delivery, Endpoint, Outgoing, Transport, Worker};
use crate::wire::Post;
use crate::{SessionId, SessionStatus};

pub(crate) use shutdown::at_exit;

/// How long the session's start is held back on the SDK's thread, unless the program ends
/// its session first (then the start goes out with the end, on one connection: one round trip
/// at exit instead of two) or anything else is queued (an error event, a flush: then at once).
const START_HELD_FOR: Duration = Duration::from_secs(1);

/// The process's client, once set up.
static PROCESS: OnceLock<Client> = OnceLock::new();

thread_local! {
    /// The client `testing::capture` runs its closure with, on this thread.
    static CAPTURING: Cell<Option<&'static Client>> = const { Cell::new(None) };
}
/// Whether any thread ever captured: until then [`current`] skips the thread-local.
static CAPTURING_ANYWHERE: AtomicBool = AtomicBool::new(false);

/// The client of this thread: its capturing one, else the process's.
#[inline]
pub(crate) fn current() -> Option<&'static Client> {
    if CAPTURING_ANYWHERE.load(Ordering::Relaxed)
        && let Some(capturing) = CAPTURING.try_with(Cell::get).ok().flatten()
    {
        return Some(capturing);
    }
    PROCESS.get()
}

pub(crate) struct Client {
    pub(crate) config: Arc<Config>,
    tracker: SessionTracker,
    trail: Trail,
    outbox: Option<Outbox>,
    /// The thread that started the session: its panics wait for `main`'s verdict.
    session_thread: ThreadId,
    panics: caught::Panics,
    ending: shutdown::Ending,
    /// The id of the latest event queued, for [`crate::last_event_id`].
    last_event_id: Mutex<Option<EventId>>,
    /// Why nothing is sent, when nothing is (`None` while events go out).
    not_sending: Option<DisabledReason>,
}

/// Where events go.
enum Outbox {
    /// To the ingest API, by the transport's thread, with the session's state file and the
    /// spool of events kept for a later run.
    Http {
        transport: Transport,
        file: Arc<SessionFile>,
        spool: Arc<Spool>,
    },
    /// Into a list, for `testing::capture`: no thread, no network.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Capture(Mutex<Vec<Event>>),
}

impl Client {
    /// A client for `config`: sending over HTTP when it has a key and a host and this is not a
    /// test run (`backend` in place of the build's own, for unit tests), else sending nothing.
    fn new(config: Config, test_run: bool, backend: Option<Box<dyn Backend>>) -> Self {
        let config = Arc::new(config);
        let outbox = match (&config.api_key, &config.host) {
            (Some(key), Some(host)) if !test_run => {
                warn_if_plain_http(host);
                http_outbox(&config, host, key, backend).ok_or(DisabledReason::NoTransport)
            }
            (None, _) if config.api_key_refused => Err(DisabledReason::UnusableApiKey),
            (None, _) => {
                diag::debug!("no API key (ALLSTAK_API_KEY): nothing will be sent");
                Err(DisabledReason::NoApiKey)
            }
            (Some(_), None) => Err(DisabledReason::UnusableHost),
            (Some(_), Some(_)) => Err(DisabledReason::TestRun),
        };
        let not_sending = outbox.as_ref().err().copied();
        let mut client = Self::with_outbox(config, outbox.ok());
        client.not_sending = not_sending;
        client
    }

    fn with_outbox(config: Arc<Config>, outbox: Option<Outbox>) -> Self {
        let trail = Trail::new();
        trail.set_capacity(config.max_breadcrumbs);
        Self {
            config,
            tracker: SessionTracker::new(),
            trail,
            outbox,
            session_thread: thread::current().id(),
            panics: caught::Panics::new(),
            ending: shutdown::Ending::new(),
            last_event_id: Mutex::new(None),
            not_sending: None,
        }
    }

    /// The transport; never in a forked child (see [`crate::fork`]).
    fn transport(&self) -> Option<&Transport> {
        match &self.outbox {
            Some(Outbox::Http { transport, .. }) if !fork::is_child() => Some(transport),
            _ => None,
        }
    }

    fn file(&self) -> Option<&Arc<SessionFile>> {
        match &self.outbox {
            Some(Outbox::Http { file, .. }) if !fork::is_child() => Some(file),
            _ => None,
        }
    }

    fn spool(&self) -> Option<&Arc<Spool>> {
        match &self.outbox {
            Some(Outbox::Http { spool, .. }) if !fork::is_child() => Some(spool),
            _ => None,
        }
    }

    /// Whether events go anywhere: only then are they built.
    fn sends(&self) -> bool {
        match &self.outbox {
            Some(Outbox::Http { .. }) => !fork::is_child(),
            Some(Outbox::Capture(_)) => true,
            None => false,
        }
    }

    /// Starts the session (the hooks that end it are [`crate::hooks`]'s).
    fn start_session(&'static self) {
        self.start_session_at(Instant::now());
    }

    fn start_session_at(&'static self, now: Instant) {
        let id = SessionId::random();
        if !self.tracker.start(id, now) {
            return;
        }
        diag::debug!("session {id} started");
        if let (Some(transport), Some(file), Some(spool)) =
            (self.transport(), self.file(), self.spool())
        {
            let config = Arc::clone(&self.config);
            let (file, spool) = (Arc::clone(file), Arc::clone(spool));
            transport.run(Box::new(move |worker| {
                let start = prepare::session_start(id, &config);
                file.owe_start(&start);
                // The state dir found and the mark looked up first, then on disk, whatever
                // comes before its start: a process killed meanwhile is still ended
                // (`abnormal`) by a later run. A program that ended meanwhile (done in a
                // microsecond) has nothing to leave open: its end is next in line, and is
                // written only if it cannot be sent.
                file.look_up();
                if !self.tracker.has_ended() {
                    file.open(id);
                }
                // Before our own start, a first few of what earlier runs left: the sessions of
                // processes that died, or whose start or end the server had not taken. Unless
                // the program is done already and its start goes with its end: then they are
                // looked for while the answers to those two are on their way (also where the
                // process does not wait at exit: what this thread does while `main` exits
                // delays the exit, 0.06 to 0.12 ms here). A process that does not wait at exit
                // writes its start with them, after the events earlier runs kept (see
                // `write_at_once`).
                let earlier = if self.tracker.has_ended() && file.pipelines() {
                    Ok((Some(true), Vec::new()))
                } else if file.waits() {
                    recover_if_reachable(worker, &file, &spool).map(|found| (found, Vec::new()))
                } else {
                    write_at_once(worker, &file, &spool, &start)
                };
                let deferred = earlier.is_err();
                // Deferred: more may be left, for once the server answers.
                let (recovered, events) = earlier.unwrap_or((Some(true), Vec::new()));
                // Those events were written, and answered if the process lived that long.
                spool.settle_taken_ahead(events, worker);
                // Held back a moment (once the server took a start from this key and host):
                // a program that ends meanwhile sends its start with its end, on a connection
                // opened meanwhile, one round trip at exit instead of two. Sent at once if
                // this session's error events are queued: they go after it.
                if file.holds_the_start() {
                    worker.linger(Instant::now() + START_HELD_FOR);
                }
                if !self.tracker.has_ended() || worker.has_pending_events() {
                    if deferred {
                        // After this run's start, once the server takes it (its retries, then
                        // before each error event and at each heartbeat), or at the end if the
                        // server answers that (see `Client::send_end`).
                        file.leave_the_rest_left(Some(true));
                        deliver_the_start(worker, &file, start, Some(&spool));
                    } else {
                        deliver_the_start(worker, &file, start, None);
                        deliver_the_rest_left(worker, &file, &spool, recovered);
                    }
                    // Off the exit's path, now and then: what other keys and hosts left.
                    file.sweep_others_now_and_then();
                } else {
                    // Its start goes with its end, next in line; what earlier runs left, after
                    // them. Unless an error event comes first (reported from another thread as
                    // the program ended): then the start goes before it.
                    file.leave_the_rest_left(recovered);
                    let file = Arc::clone(&file);
                    worker.before_events(Some(Box::new(move |worker| {
                        deliver_the_start(worker, &file, start, None);
                    })));
                }
            }));
        }
    }

    /// Without a session of its own (tracking is off), a run still delivers what earlier runs
    /// left: their sessions, then the error events they kept.
    fn deliver_what_earlier_runs_left(&self) {
        if let (Some(transport), Some(file), Some(spool)) =
            (self.transport(), self.file(), self.spool())
        {
            let (file, spool) = (Arc::clone(file), Arc::clone(spool));
            transport.run(Box::new(move |worker| {
                // Without a session of its own to try first, it tries them as it always did.
                deliver_all_left(worker, &file, &spool);
            }));
        }
    }

    /// Why this client does not report everything, if it does not.
    fn disabled_reason(&self) -> Option<DisabledReason> {
        if fork::is_child() {
            return Some(DisabledReason::ForkedChild);
        }
        self.not_sending.or_else(|| {
            (!self.config.auto_session_tracking).then_some(DisabledReason::SessionTrackingOff)
        })
    }

    /// Whether a session is running: one relaxed atomic load.
    fn session_active(&self) -> bool {
        self.tracker.is_active() && !fork::is_child()
    }

    fn is_session_thread(&self) -> bool {
        self.session_thread == thread::current().id()
    }

    /// Records a handled error on the session and queues its event (never waits); the event's
    /// id, if it goes anywhere.
    fn capture(&'static self, build: impl FnOnce() -> ErrorEvent) -> Option<EventId> {
        self.capture_at(Level::Error, build)
    }

    /// What every capture does first: a forked child's event is dropped and counted; an error
    /// marks the session `errored`; then whether the event goes anywhere.
    fn admits(&self, level: Level) -> bool {
        if fork::is_child() {
            fork::drop_event();
            return false;
        }
        if level.is_error() {
            self.tracker.record_handled_error();
        }
        self.sends()
    }

    /// [`Self::capture`] for an event of `level`: only `error` and `fatal` make the session
    /// `errored` (the event is built with its level by `build`).
    ///
    /// The event is only built (the user's `Display` or `Debug` run) when it goes somewhere:
    /// without a key, in a test run, or sampled out, it would be thrown away. The sampling dice
    /// are thrown first; a sampled-out error still counts for the session.
    fn capture_at(
        &'static self,
        level: Level,
        build: impl FnOnce() -> ErrorEvent,
    ) -> Option<EventId> {
        if !self.admits(level) {
            return None;
        }
        self.send_caught_panics_if_past_them();
        if !self.sampled_in() {
            return None;
        }
        let mut event = build();
        event.sampled = true;
        if self.config.attach_stacktrace {
            event.stack = Some(Stack::capture());
        }
        // Only errors are what `#[instrument(err)]` reports too.
        if !level.is_error() || !TRACING_LAYER.load(Ordering::Relaxed) {
            return self.send_event(event);
        }
        if let Err(earlier) = reported_once::first(Reporter::Call, fingerprint(&event.message)) {
            // The `tracing` layer sent this error a moment ago: its event is this one.
            return earlier;
        }
        let id = self.send_event(event);
        reported_once::sent_as(id);
        id
    }

    #[cfg(feature = "tracing")]
    fn capture_from_tracing(
        &'static self,
        level: Level,
        fingerprint: u64,
        build: impl FnOnce() -> ErrorEvent,
    ) -> Option<EventId> {
        if !self.admits(level) {
            return None;
        }
        // The once-only rule before the dice: a report it drops is not thrown for.
        if level.is_error()
            && let Err(earlier) = reported_once::first(Reporter::Tracing, fingerprint)
        {
            return earlier;
        }
        let id = self.sampled_in().then(|| {
            let mut event = build();
            event.sampled = true;
            self.send_event(event)
        });
        let id = id.flatten();
        if level.is_error() {
            reported_once::sent_as(id);
        }
        id
    }

    /// The sampling dice: whether an error event is kept, at `sample_rate`.
    fn sampled_in(&self) -> bool {
        crate::random::chance(self.config.sample_rate)
    }

    fn send_event(&'static self, event: ErrorEvent) -> Option<EventId> {
        self.send_event_as_of(event, mark())
    }

    /// Sends `event` with the breadcrumbs added before `mark` (taken when it happened): its id
    /// once it is queued, `None` when sampling or `before_send` dropped it, or it goes nowhere.
    fn send_event_as_of(&'static self, mut event: ErrorEvent, mark: Mark) -> Option<EventId> {
        let outbox = self.outbox.as_ref()?;
        // Panics come here unsampled: their dice are thrown now.
        if !event.sampled && !self.sampled_in() {
            return None;
        }
        let id = event.id;
        event.session_id = self.tracker.current_id();
        event.context.attach();
        let config = &self.config;
        // A panic in `before_send` while this thread unwinds (or in the panic hook before it
        // unwinds) would abort the process: then it runs on the transport thread instead. Under
        // `panic = "abort"` a panic aborts on any thread, and the fatal event must be ready to
        // keep when the hook ends the session: the hook runs here.
        let hook_later =
            config.before_send.is_some() && thread::panicking() && !cfg!(panic = "abort");
        if let Some(hook) = config.before_send.as_deref().filter(|_| !hook_later) {
            event = crate::before_send::apply(hook, event)?;
        }
        if event.level.is_error() {
            event.context.mark_reported();
        }
        match outbox {
            Outbox::Capture(events) => {
                if let Some(hook) = config.before_send.as_deref().filter(|_| hook_later) {
                    event = crate::before_send::apply(hook, event)?;
                }
                events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Event::captured(event));
            }
            Outbox::Http { transport, .. } => {
                if fork::is_child() {
                    fork::drop_event();
                    return None;
                }
                // The trail is read on the transport thread: the caller only took the mark.
                transport.send_event(move |build| {
                    if build == transport::Build::AtExit && !crate::stack::symbolizer_warm() {
                        // Kept at exit, and the first stack to symbolize (which may take
                        // seconds): its location's frame only.
                        event.stack = None;
                    }
                    if hook_later && let Some(hook) = config.before_send.as_deref() {
                        match crate::before_send::apply(hook, event) {
                            Some(kept) => event = kept,
                            None => return Outgoing::Discarded,
                        }
                    }
                    let breadcrumbs = mark.read(&self.trail, config.max_breadcrumbs);
                    prepare::error(&event, &breadcrumbs, config)
                        .map_or(Outgoing::Unsendable, Outgoing::Post)
                });
            }
        }
        *self
            .last_event_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(id);
        Some(id)
    }

    /// Adds a breadcrumb to a scope's trail, or (`None`) to the process's, after
    /// `before_breadcrumb`.
    fn add_breadcrumb(&self, scope: Option<&ScopeTrail>, build: impl FnOnce() -> Breadcrumb) {
        if !self.sends() {
            return;
        }
        let breadcrumb = build();
        let kept = match self.config.before_breadcrumb.as_deref() {
            Some(hook) => crate::breadcrumbs::apply(hook, breadcrumb),
            None => Some(breadcrumb),
        };
        if let Some(breadcrumb) = kept {
            match scope {
                Some(trail) => trail.add(breadcrumb, self.config.max_breadcrumbs),
                None => self.trail.add(breadcrumb),
            }
        }
    }

    /// From the panic hook: a panic is a handled error until we learn it ended the process.
    fn record_panic(&'static self, record: PanicRecord) {
        if fork::is_child() {
            return fork::drop_event();
        }
        if !self.tracker.record_handled_error() {
            return;
        }
        if !self.is_session_thread() {
            // Its thread's end (a join, a task's handle) is the program's business: handled.
            let _ = self.send_event(record.into_event(false));
            return;
        }
        // `main`'s guard decides: the crash if it unwinds out of `main`; otherwise it was
        // caught (see `panic_hook_done`).
        let _ = self.panics.hold(record, mark());
    }

    /// The panic hook is done with the session thread's latest panic, which now unwinds: sent
    /// as caught once it has unwound for `CAUGHT_AFTER`, unless the guard took it first.
    fn panic_hook_done(&'static self, now: Instant) {
        if self.is_session_thread()
            && self.panics.unwinding(now)
            && let Some(transport) = self.transport()
        {
            transport.run(Box::new(move |worker| {
                worker.pause_until(now + caught::CAUGHT_AFTER);
                for (record, mark) in self.panics.take_older_than(caught::CAUGHT_AFTER) {
                    let _ = self.send_event_as_of(record.into_event(false), mark);
                }
            }));
        }
    }

    /// The session thread is past its panics (it reports, flushes or ends normally): every
    /// panic still undecided was caught, and is sent as a handled event before what comes next.
    fn send_caught_panics(&'static self) {
        for (record, mark) in self.panics.take_all() {
            let _ = self.send_event_as_of(record.into_event(false), mark);
        }
    }

    fn send_caught_panics_if_past_them(&'static self) {
        if !thread::panicking() && self.is_session_thread() {
            self.send_caught_panics();
        }
    }

    fn dropped_event_count(&self) -> u64 {
        if fork::is_child() {
            return fork::dropped_event_count();
        }
        self.transport().map_or(0, Transport::dropped_event_count)
            + self.spool().map_or(0, |spool| spool.dropped())
    }
}

/// The HTTP outbox: the session's state file and the transport thread that keeps it.
fn http_outbox(
    config: &Config,
    host: &str,
    key: &str,
    backend: Option<Box<dyn Backend>>,
) -> Option<Outbox> {
    let dir = StateDir::locate(config.state_dir.clone(), key, host);
    let waits = !config.exit_deadline.is_zero();
    let mut file = SessionFile::new(dir.clone(), config.release(), config.environment());
    if !waits {
        file = file.not_waiting();
    }
    let file = Arc::new(file);
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
    // A run that does not wait for the network notes what it wrote without reading the
    // answer, and does not write again what earlier such runs did.
    let written = (!waits).then(|| Box::new(dir.clone()) as Box<dyn transport::Written>);
    let spool = Arc::new(Spool::new(dir));
    let (beating, kept) = (Arc::clone(&file), Arc::clone(&spool));
    let keeper = Arc::clone(&spool);
    let transport = Transport::spawn(
        endpoint,
        backend,
        Box::new(move |worker| {
            beating.heartbeat();
            deliver_what_waits_here(worker, &beating, &kept);
        }),
        Box::new(move |requests, keeper_thread| {
            let may_wait = keeper_thread == transport::Keeper::Worker;
            let (taken, written) = keeper.keep_files(requests, may_wait);
            let spool = Arc::clone(&keeper);
            transport::Kept {
                taken,
                take_back: Box::new(move || spool.take_back(&written)),
            }
        }),
        written,
    )?;
    Some(Outbox::Http {
        transport,
        file,
        spool,
    })
}

/// Sets the process's client up with `config`, and starts its session unless tracking is off
/// or this is a test run. Returns whether this setup took effect: only the first in a process
/// does.
pub(crate) fn start(config: Config, cfg_test: bool) -> bool {
    diag::enable(config.debug);
    for problem in &config.problems {
        diag::warning!("{problem}");
    }
    let already_set_up = || {
        diag::debug!("allstak was already set up in this process; this setup is ignored");
        false
    };
    if PROCESS.get().is_some() {
        return already_set_up();
    }
    let test_run = !config.track_test_runs && config::is_test_run(cfg_test);
    if test_run {
        diag::debug!(
            "this is a test run: nothing will be sent (ALLSTAK_TRACK_TEST_RUNS=1 to change that)"
        );
    }
    let track = config.auto_session_tracking && !test_run;
    if PROCESS.set(Client::new(config, test_run, None)).is_err() {
        return already_set_up();
    }
    let Some(client) = PROCESS.get() else {
        return false;
    };
    if let Some(id) = client.config.user_id.as_deref() {
        crate::scope::set_configured_user(id);
    }
    if track {
        client.start_session();
    } else {
        client.deliver_what_earlier_runs_left();
    }
    true
}

/// What a process that does not wait at exit writes at once, on one connection, without
/// waiting for answers (it may end before they come): the sessions earlier runs left (a few,
/// see [`SessionFile::claim_sessions`]), the error events they kept (those that may go right
/// after these sessions' starts, [`Spool::claim_ahead`]), then its own start. Returns what
/// [`SessionFile::recover_sessions`] would, and the events it claimed (their answers, if any
/// came, for [`Spool::settle_taken_ahead`]). `Err` as [`recover_if_reachable`]'s: the server
/// cannot be reached, and nothing was claimed (its start goes in its turn).
fn write_at_once(
    worker: &mut Worker,
    file: &SessionFile,
    spool: &Spool,
    start: &Post,
) -> Result<(Option<bool>, Vec<SpooledEvent>), Deferred> {
    // Its start goes on this connection, so it is opened first whatever was left.
    if !worker.reachable() {
        file.keep_within_the_bound();
        return Err(Deferred);
    }
    let sessions = file.claim_sessions(worker);
    let ids: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    let events = spool.claim_ahead(&ids);
    let ours: Vec<&Post> = events
        .iter()
        .map(SpooledEvent::request)
        .chain([start])
        .collect();
    let recovered = file.deliver_sessions(worker, sessions, &ours);
    if recovered.is_none() {
        // No session to go first: the events and the start alone (the start alone is not
        // written ahead, but in its turn).
        worker.deliver_ahead(&ours);
    }
    Ok((recovered, events))
}

/// Earlier runs left something, and the server cannot be reached ([`Worker::reachable`]): it
/// is left as it is (within its bound, [`SessionFile::keep_within_the_bound`]), for once this
/// run reads an answer, or for a later run.
struct Deferred;

/// What earlier runs left, a first few of their sessions, as [`SessionFile::recover_sessions`]
/// says; `Err` if the server cannot be reached (nothing is opened where nothing was left).
fn recover_if_reachable(
    worker: &mut Worker,
    file: &SessionFile,
    spool: &Spool,
) -> Result<Option<bool>, Deferred> {
    if !file.sessions_left() && !spool.anything_kept() {
        return Ok(None);
    }
    if worker.reachable() {
        return Ok(file.recover_sessions(worker, &[]));
    }
    file.keep_within_the_bound();
    Err(Deferred)
}

/// At each heartbeat (every 30 s) of a program that runs on, if this run kept or left
/// something ([`Worker::left_for_later`]: its error events that could not be sent, the server
/// away for a while; what earlier runs left that it stopped at): it is sent once the server is
/// back, by this run; a server that runs for weeks does not leave them to its next start, past
/// their 7 days. Each tried once (a later heartbeat tries again, less and less often while some
/// is left: [`Worker::kept_tried`]), after one connect ahead if the last post read no answer.
/// Not while this run's start is not taken (they go after it, see [`deliver_the_start`]), nor
/// once the session is ending (its end sends them, `Client::send_end`).
fn deliver_what_waits_here(worker: &mut Worker, file: &SessionFile, spool: &Spool) {
    if worker.is_ending() || worker.has_what_waits() || !worker.take_kept_here() {
        return;
    }
    if worker.reachable_now() {
        worker.trying_once(|worker| deliver_all_left(worker, file, spool));
    } else {
        worker.left_for_later();
    }
    worker.kept_tried();
}

/// Delivers the session's start; if the server does not take it yet (down as the program
/// started), it is tried again, once, before each error event and at each heartbeat, until it
/// goes or the session ends (then it goes with the end): the session's events follow its start
/// as soon as the server is back, not only once the program ends. With `deferred`, what
/// earlier runs left and [`SessionFile::leave_the_rest_left`] left for then goes after it.
fn deliver_the_start(
    worker: &mut Worker,
    file: &Arc<SessionFile>,
    start: Post,
    deferred: Option<&Arc<Spool>>,
) {
    let delivery = worker.deliver(&start);
    settle_the_start(worker, file, start, delivery, deferred.cloned());
}

fn settle_the_start(
    worker: &mut Worker,
    file: &Arc<SessionFile>,
    start: Post,
    delivery: Delivery,
    deferred: Option<Arc<Spool>>,
) {
    file.settle_start(delivery);
    if delivery == Delivery::NotYet {
        let file = Arc::clone(file);
        worker.until_taken(Box::new(move |worker| {
            if file.owes_start() {
                // One attempt: while the server is down, an event is not held back for the
                // start's whole backoff as well as its own.
                let delivery = worker.deliver_once(&start);
                settle_the_start(worker, &file, start, delivery, deferred);
            }
        }));
    } else if let Some(spool) = deferred
        && worker.has_read_an_answer()
        && !worker.is_ending()
        && file.take_the_rest_left().is_some()
    {
        // The server is back: what earlier runs left goes now, after this run's start. (Once
        // the session is ending, after its end instead, within its deadline: `send_end`.)
        deliver_all_left(worker, file, &spool);
    }
}

/// What earlier runs left (and what this run kept), all of it while the server takes it: a
/// first few sessions ([`SessionFile::recover_sessions`]), then [`deliver_the_rest_left`].
fn deliver_all_left(worker: &mut Worker, file: &SessionFile, spool: &Spool) {
    let recovered = file.recover_sessions(worker, &[]);
    deliver_the_rest_left(worker, file, spool, recovered);
}

/// After the first few sessions earlier runs left (`recovered`, as
/// [`SessionFile::recover_sessions`] said): the rest of them, then the error events kept (each
/// after its session's start), while the server takes them.
fn deliver_the_rest_left(
    worker: &mut transport::Worker,
    file: &SessionFile,
    spool: &Spool,
    mut recovered: Option<bool>,
) {
    if recovered.is_none() && !file.waits() && worker.has_read_an_answer() {
        // What it withheld at first (written by earlier such runs, their answers not read)
        // goes once it read an answer itself: those sessions before their events.
        recovered = file.recover_sessions(worker, &[]);
    }
    while recovered == Some(true) {
        if !worker.reachable() {
            // Left for a run the server answers, within their bound, or for this one's next
            // heartbeat.
            file.keep_within_the_bound();
            worker.left_for_later();
            return;
        }
        recovered = file.recover_sessions(worker, &[]);
    }
    if recovered == Some(false) {
        worker.left_for_later(); // stopped at one the server did not take yet
    }
    // Nothing is opened for an empty spool.
    if recovered.is_none()
        && spool.anything_kept()
        && (!worker.reachable() || !spool.deliver(worker, file.pipelines()))
    {
        worker.left_for_later();
    }
}

/// Runs `run` with a client of its own on this thread, which keeps the events it would send
/// (after `before_send`) instead of sending them; returns them. Its session starts before
/// `run` and ends after it.
#[cfg(feature = "testing")]
pub(crate) fn capture_events(config: Config, run: impl FnOnce()) -> Vec<Event> {
    // Leaked: an event built on this thread may still hold it when `run` returns (a few
    // hundred bytes per call, no thread).
    let client: &'static Client = Box::leak(Box::new(Client::with_outbox(
        Arc::new(config),
        Some(Outbox::Capture(Mutex::new(Vec::new()))),
    )));
    CAPTURING_ANYWHERE.store(true, Ordering::Relaxed);
    let previous = CAPTURING.with(|capturing| capturing.replace(Some(client)));
    client.start_session();
    /// Gives the thread its client back, even if `run` panics.
    struct Restore(Option<&'static Client>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CAPTURING.try_with(|capturing| capturing.set(self.0));
        }
    }
    let restore = Restore(previous);
    run();
    client.end(None);
    drop(restore);
    match &client.outbox {
        Some(Outbox::Capture(events)) => {
            std::mem::take(&mut *events.lock().unwrap_or_else(PoisonError::into_inner))
        }
        _ => Vec::new(),
    }
}

fn warn_if_plain_http(host: &str) {
    let Some(url) = crate::host::Url::parse(host).filter(|url| !url.secure) else {
        return;
    };
    if !url.is_loopback() {
        let name = url.host;
        diag::say_once(
            Notice::PlainHttp,
            "warn",
            format_args!("the API key goes over plain http:// to {name}; use https://"),
        );
    }
}

// What the rest of the SDK calls: the thread's client, if there is one.

/// Whether a session is running: a load or two.
#[inline]
pub(crate) fn session_active() -> bool {
    current().is_some_and(Client::session_active)
}

/// Whether the process's client sends what it reports (it has a key, a usable host, and this
/// is not a test run).
pub(crate) fn sends() -> bool {
    current().is_some_and(|client| client.transport().is_some())
}

pub(crate) fn current_session_id() -> Option<SessionId> {
    current()?
        .tracker
        .current_id()
        .filter(|_| !fork::is_child())
}

pub(crate) fn session_status() -> SessionStatus {
    current().map_or(SessionStatus::Ok, |client| client.tracker.status())
}

pub(crate) fn handled_error_count() -> u64 {
    current().map_or(0, |client| client.tracker.error_count())
}

/// Why the SDK does not report everything, if it does not.
pub(crate) fn disabled_reason() -> Option<DisabledReason> {
    current().map_or(Some(DisabledReason::NotSetUp), Client::disabled_reason)
}

pub(crate) fn dropped_event_count() -> u64 {
    current().map_or(0, Client::dropped_event_count)
}

/// Whether error events go anywhere: integrations skip work otherwise.
#[cfg(feature = "tower")]
pub(crate) fn sending() -> bool {
    current().is_some_and(Client::sends)
}

/// Records a handled error on the session and queues its event (never waits): the event's id,
/// if it goes anywhere.
pub(crate) fn capture(build: impl FnOnce() -> ErrorEvent) -> Option<EventId> {
    current()?.capture(build)
}

/// [`capture`] for an event of `level`: only `error` and `fatal` make the session `errored`.
pub(crate) fn capture_at(level: Level, build: impl FnOnce() -> ErrorEvent) -> Option<EventId> {
    current()?.capture_at(level, build)
}

/// The id of the latest event this thread's client queued.
pub(crate) fn last_event_id() -> Option<EventId> {
    // A forked child sends nothing, and must not wait on a lock a parent's thread held.
    if fork::is_child() {
        return None;
    }
    *current()?
        .last_event_id
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Whether a `tracing` layer of ours exists: only then can an error be reported twice.
static TRACING_LAYER: AtomicBool = AtomicBool::new(false);

#[cfg(feature = "tracing")]
pub(crate) fn note_tracing_layer() {
    TRACING_LAYER.store(true, Ordering::Relaxed);
}

/// [`capture_at`] for a `tracing` event, identified by `fingerprint` (its error's text, or its
/// message): skipped when a call on this thread just reported the same error.
#[cfg(feature = "tracing")]
pub(crate) fn capture_from_tracing(
    level: Level,
    fingerprint: u64,
    build: impl FnOnce() -> ErrorEvent,
) -> Option<EventId> {
    current()?.capture_from_tracing(level, fingerprint, build)
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
/// of the attributes. The second report of the same text by the other reporter, within
/// [`reported_once::WITHIN`], is dropped; later, it is another error (another request's, on the
/// same worker thread), and goes.
mod reported_once {
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    use super::{EventId, Reporter};

    /// How soon after the first the second report of one error comes: both attributes' checks
    /// on one return, with the error described in between.
    pub(super) const WITHIN: Duration = Duration::from_millis(50);

    /// A report: who, the fingerprint, the id it was sent with, and when.
    #[derive(Clone, Copy)]
    struct Report {
        reporter: Reporter,
        fingerprint: u64,
        id: Option<EventId>,
        at: Instant,
    }

    thread_local! {
        /// The latest report on this thread.
        static LAST: Cell<Option<Report>> = const { Cell::new(None) };
    }

    /// `Ok` if this report is the first of its error; `Err` with the id the other reporter's
    /// event was sent with, if it just reported the same fingerprint on this thread (that
    /// report is then consumed).
    pub(super) fn first(reporter: Reporter, fingerprint: u64) -> Result<(), Option<EventId>> {
        first_at(reporter, fingerprint, Instant::now())
    }

    fn first_at(reporter: Reporter, fingerprint: u64, now: Instant) -> Result<(), Option<EventId>> {
        LAST.try_with(|last| match last.get() {
            Some(other)
                if other.reporter != reporter
                    && other.fingerprint == fingerprint
                    && now.saturating_duration_since(other.at) < WITHIN =>
            {
                last.set(None);
                Err(other.id)
            }
            _ => {
                last.set(Some(Report {
                    reporter,
                    fingerprint,
                    id: None,
                    at: now,
                }));
                Ok(())
            }
        })
        .unwrap_or(Ok(()))
    }

    /// The report [`first`] just let through was sent with `id`.
    pub(super) fn sent_as(id: Option<EventId>) {
        let _ = LAST.try_with(|last| {
            if let Some(report) = last.get() {
                last.set(Some(Report { id, ..report }));
            }
        });
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_other_reporters_same_error_is_one_report_only_right_after() {
            let now = Instant::now();
            assert_eq!(first_at(Reporter::Tracing, 7, now), Ok(()));
            assert_eq!(
                first_at(Reporter::Call, 7, now),
                Err(None),
                "right after: dropped"
            );
            // Consumed: a third report is another error.
            assert_eq!(first_at(Reporter::Tracing, 7, now), Ok(()));
            // Much later, on the same thread (another request's error): it goes.
            assert_eq!(first_at(Reporter::Call, 7, now + WITHIN), Ok(()));
            // The same reporter twice, or another text: both go.
            assert_eq!(first_at(Reporter::Call, 7, now + WITHIN), Ok(()));
            assert_eq!(first_at(Reporter::Tracing, 8, now + WITHIN), Ok(()));
        }
    }
}

/// Adds a breadcrumb to the trail later error events carry; nothing when they go nowhere.
pub(crate) fn add_breadcrumb(build: impl FnOnce() -> Breadcrumb) {
    if let Some(client) = current() {
        client.add_breadcrumb(crate::scope::current_trail().as_deref(), build);
    }
}

/// Adds a breadcrumb to a scope's trail (`None`: the process's), whatever scope is current.
pub(crate) fn add_breadcrumb_to(scope: Option<&ScopeTrail>, build: impl FnOnce() -> Breadcrumb) {
    if let Some(client) = current() {
        client.add_breadcrumb(scope, build);
    }
}

/// Where the breadcrumbs of an event raised now on this thread are: its scope's trail (else
/// the process's), up to now.
fn mark() -> Mark {
    Mark {
        scope: crate::scope::current_trail(),
        at: breadcrumbs::mark_now(),
    }
}

/// A handled error that is not sent (`#[allstak::track(report = false)]`).
pub(crate) fn record_handled_error() {
    if let Some(client) = current() {
        client.tracker.record_handled_error();
    }
}

pub(crate) fn record_crash() {
    if let Some(client) = current() {
        client.tracker.record_crash();
    }
}

/// From the panic hook.
pub(crate) fn record_panic(record: PanicRecord) {
    if let Some(client) = current() {
        client.record_panic(record);
    }
}

/// From the panic hook, after the program's own hook ran: the panic unwinds from now.
pub(crate) fn panic_hook_done() {
    if let Some(client) = current() {
        client.panic_hook_done(Instant::now());
    }
}

/// Ends the session with the status reached so far (or `final_status`), within the exit
/// deadline.
pub(crate) fn end(final_status: Option<SessionStatus>) -> bool {
    current().is_none_or(|client| client.end(final_status))
}

/// The process is dying of a panic that unwound out of `main`, or of `main`'s `Err`.
pub(crate) fn end_crashed(error: Option<ErrorEvent>) -> bool {
    current().is_none_or(|client| client.end_crashed(error))
}

/// The session's guard (`main`'s, or `init`'s) is dropped: `crashed` if a panic unwinds through
/// it, else the status reached so far. Never unwinds: the drop may run during unwinding.
pub(crate) fn end_as_the_guard_drops() {
    let _ = std::panic::catch_unwind(|| {
        if thread::panicking() {
            end_crashed(None)
        } else {
            end(None)
        }
    });
}

/// Under `panic = "abort"` the hook is the last code that runs: send the crash and the end.
pub(crate) fn end_after_fatal_panic(record: PanicRecord) {
    if let Some(client) = current() {
        client.end_after_fatal_panic(record);
    }
}

/// Waits until every queued event was sent, at most `timeout`.
pub(crate) fn flush(timeout: std::time::Duration) -> bool {
    current().is_none_or(|client| client.flush(timeout))
}

#[cfg(test)]
mod tests;
