//! HTTP to the AllStak ingest API, on one thread the SDK owns.
//!
//! Callers hand jobs to the worker through a channel and never wait, except the one that ends
//! the session, which waits for the end to be sent and never longer than the exit deadline.
//! Jobs run in order, so a session's start always reaches the server before its end.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant, SystemTime};

use crate::config::Config;
use crate::counter::ShardedCounter;
use crate::diag::{self, Once};
use crate::event::ErrorEvent;
use crate::session::EndedSession;
use crate::state::{Ended, SessionState, StateDir};
use crate::{SDK_NAME, SDK_VERSION, SessionId};

/// Error events waiting to be sent; past this they are dropped and counted.
const QUEUE_CAPACITY: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// How long an ending program waits for its end to be sent before it also writes the end into
/// the state file (so that a kill during a long wait does not make it `abnormal`).
const KEEP_END_AFTER: Duration = Duration::from_millis(10);
/// How often an open session's state file is refreshed, bounding an abnormal session's duration.
const HEARTBEAT: Duration = Duration::from_secs(30);

const SESSIONS_START: &str = "/ingest/v1/sessions/start";
const SESSIONS_END: &str = "/ingest/v1/sessions/end";
const ERRORS: &str = "/ingest/v1/errors";

enum Job {
    Start(SessionId),
    Event(Box<ErrorEvent>),
    End(EndedSession, SyncSender<()>),
    Flush(SyncSender<()>),
}

/// State shared between the handle and the worker.
struct Shared {
    queued: CacheLine<AtomicUsize>,
    dropped: ShardedCounter,
    unauthorized: AtomicBool,
    /// Set once the process is ending: no request, wait or retry may run past it.
    deadline: OnceLock<Instant>,
    state_dir: Option<StateDir>,
    state: Mutex<StateSlot>,
}

/// Keeps a hot counter off the cache line of its neighbours (no false sharing between threads).
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// This session's state file, shared by the worker and the thread that ends the session.
enum StateSlot {
    /// Nothing on disk.
    NotWritten,
    /// The open session is on disk: if the process dies, the next run ends it `abnormal`.
    Open(SessionState),
    /// The end is on disk, with its real status, for the next run to send.
    Kept,
    /// The end was sent, or refused for good: nothing on disk.
    Done,
}

impl Shared {
    /// Settles the state file once the worker is done with the end: removed when it was sent
    /// or refused for good, or, to `keep` it for the next run, written with its real status.
    /// Either thread may come second: it finds the file settled.
    fn settle_end(&self, ended: &EndedSession, keep: bool, config: &Config) {
        let (Some(dir), Ok(slot)) = (&self.state_dir, self.state.lock()) else {
            return;
        };
        Self::settle_end_in(dir, slot, ended, keep, config);
    }

    /// [`Self::settle_end`] from the ending thread, which must not wait on the worker's file
    /// I/O (a hung disk would hold the process past its deadline): if the worker holds the
    /// state, it is settling it.
    fn keep_end_unless_busy(&self, ended: &EndedSession, config: &Config) {
        let (Some(dir), Ok(slot)) = (&self.state_dir, self.state.try_lock()) else {
            return;
        };
        Self::settle_end_in(dir, slot, ended, true, config);
    }

    fn settle_end_in(
        dir: &StateDir,
        mut slot: MutexGuard<'_, StateSlot>,
        ended: &EndedSession,
        keep: bool,
        config: &Config,
    ) {
        let settled = if keep {
            StateSlot::Kept
        } else {
            StateSlot::Done
        };
        let write_end = |mut state: SessionState| {
            state.ended = Some(Ended {
                status: ended.status,
                duration_ms: millis(ended.duration),
            });
            let _ = dir.write(&state);
        };
        match (std::mem::replace(&mut *slot, settled), keep) {
            (StateSlot::Done, _) => *slot = StateSlot::Done,
            (StateSlot::NotWritten, false) | (StateSlot::Kept, true) => {}
            (StateSlot::Open(_) | StateSlot::Kept, false) => dir.remove(&ended.id.to_string()),
            (StateSlot::Open(state), true) => write_end(state),
            (StateSlot::NotWritten, true) => {
                write_end(dir.new_state(ended.id, config.release(), config.environment()));
            }
        }
    }
}

/// The handle to the worker thread.
pub(crate) struct Transport {
    config: Arc<Config>,
    jobs: Sender<Job>,
    shared: Arc<Shared>,
    worker: Thread,
}

impl Transport {
    /// Spawns the worker; `None` (with a diagnostic) if the system refuses a thread.
    pub(crate) fn spawn(config: Arc<Config>, host: String, key: String) -> Option<Self> {
        let (jobs, inbox) = mpsc::channel();
        let state_dir = StateDir::locate(config.state_dir.clone(), &key, &host);
        let shared = Arc::new(Shared {
            queued: CacheLine(AtomicUsize::new(0)),
            dropped: ShardedCounter::new(),
            unauthorized: AtomicBool::new(false),
            deadline: OnceLock::new(),
            state_dir: Some(state_dir),
            state: Mutex::new(StateSlot::NotWritten),
        });
        let worker = Worker {
            config: Arc::clone(&config),
            host,
            key,
            shared: Arc::clone(&shared),
            agent: None,
            paused_until: None,
        };
        let spawned = thread::Builder::new()
            .name("allstak-transport".to_owned())
            .spawn(move || {
                crate::panic::mark_sdk_thread();
                // A bug of ours on this thread must not reach the program; the thread just ends.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    worker.run(&inbox);
                }));
            });
        match spawned {
            Ok(handle) => Some(Self {
                config,
                jobs,
                shared,
                worker: handle.thread().clone(),
            }),
            Err(error) => {
                diag::warning!(
                    "could not start the transport thread ({error}); nothing will be sent"
                );
                None
            }
        }
    }

    pub(crate) fn send_start(&self, id: SessionId) {
        let _ = self.jobs.send(Job::Start(id));
    }

    /// Queues an error event without waiting: when the queue is full it is dropped and counted.
    pub(crate) fn send_event(&self, event: ErrorEvent) {
        // A plain load first: while the queue is full, callers on many threads share the line
        // read-only instead of fighting over it.
        let queued = &self.shared.queued;
        let full = queued.load(Ordering::Relaxed) >= QUEUE_CAPACITY || {
            let claimed = queued.fetch_add(1, Ordering::Relaxed) < QUEUE_CAPACITY;
            if !claimed {
                queued.fetch_sub(1, Ordering::Relaxed);
            }
            !claimed
        };
        if full {
            self.shared.dropped.add(1);
            diag::say_once(
                Once::QueueFull,
                "warn",
                format_args!("the error queue is full; events are being dropped and counted"),
            );
            return;
        }
        if self.jobs.send(Job::Event(Box::new(event))).is_err() {
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Sends the session's end after everything queued before it, waiting until `deadline` at
    /// most. Returns whether the worker got through it in time.
    pub(crate) fn send_end(&self, ended: EndedSession, deadline: Instant) -> bool {
        // The process is ending: from now on nothing may run past the deadline.
        let _ = self.shared.deadline.set(deadline);
        let (done, wait) = mpsc::sync_channel(1);
        if !self.queue_final(Job::End(ended, done)) {
            self.shared.keep_end_unless_busy(&ended, &self.config);
            return false;
        }
        // A server that answers at once leaves nothing to write.
        if signalled_by(&wait, deadline.min(Instant::now() + KEEP_END_AFTER)) {
            return true;
        }
        // Not yet: if the process dies or exits before the worker is done, the next run sends
        // this end as it was, not as `abnormal`. (The worker removes it once the end is sent.)
        self.shared.keep_end_unless_busy(&ended, &self.config);
        done_by_deadline(&wait, deadline)
    }

    /// Waits until everything queued so far was sent, or `deadline` (the worker goes on after).
    pub(crate) fn flush(&self, deadline: Instant) -> bool {
        let (done, wait) = mpsc::sync_channel(1);
        self.queue_final(Job::Flush(done)) && done_by_deadline(&wait, deadline)
    }

    /// Queues a job that someone waits for, and wakes the worker if it is waiting out a
    /// backoff: the deadline changes its plans.
    fn queue_final(&self, job: Job) -> bool {
        if self.jobs.send(job).is_err() {
            return false;
        }
        self.worker.unpark();
        true
    }

    /// How many error events were dropped because the queue was full.
    pub(crate) fn dropped_events(&self) -> u64 {
        self.shared.dropped.sum()
    }
}

/// What a response or failure means for the request that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    /// Not retried: the server refused this request for good.
    Rejected(u16),
    Unauthorized,
    /// Retried after the server's `Retry-After`, or the backoff when it gave none.
    RetryAfter(Option<Duration>),
    /// A 5xx: retried with backoff.
    Failed,
    /// No answer at all (refused, unresolvable, TLS failure, timeout): retried with backoff
    /// while the program runs, not once it is ending — waiting would only delay its exit.
    Unreachable,
}

/// What became of a request once [`Worker::deliver`] is done with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Sent,
    /// Refused for good (a 4xx, or the key was refused): never sent again, by any run.
    Refused,
    /// Not sent yet (no answer, 5xx, the deadline): worth another try by the next run.
    NotYet,
}

fn classify(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        401 => Outcome::Unauthorized,
        429 | 503 => Outcome::RetryAfter(
            retry_after
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
                .map(|wait| wait.min(MAX_RETRY_AFTER)),
        ),
        500..=599 => Outcome::Failed,
        _ => Outcome::Rejected(status),
    }
}

struct Worker {
    config: Arc<Config>,
    host: String,
    key: String,
    shared: Arc<Shared>,
    agent: Option<ureq::Agent>,
    paused_until: Option<Instant>,
}

impl Worker {
    fn run(mut self, inbox: &Receiver<Job>) {
        loop {
            let job = match inbox.recv_timeout(HEARTBEAT) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.heartbeat();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            match job {
                Job::Start(id) => {
                    self.recover_abnormal_sessions();
                    self.open_state(id);
                    let body = crate::client::start_payload(&self.config, id);
                    self.deliver(SESSIONS_START, &body);
                }
                Job::Event(event) => {
                    self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                    self.deliver(ERRORS, &event.to_json(&self.config));
                }
                Job::End(ended, done) => {
                    let body = crate::client::end_payload(&ended);
                    let keep = self.deliver(SESSIONS_END, &body) == Delivery::NotYet;
                    self.shared.settle_end(&ended, keep, &self.config);
                    let _ = done.try_send(());
                }
                Job::Flush(done) => {
                    let _ = done.try_send(());
                }
            }
        }
    }

    /// Ends the sessions of programs that died without ending theirs, before our own start.
    fn recover_abnormal_sessions(&mut self) {
        let Some(dir) = self.shared.state_dir.clone() else {
            return;
        };
        for recovered in dir.recover(SystemTime::now()) {
            diag::debug!(
                "ending session {} of a process that is gone: {}",
                recovered.session_id,
                recovered.status
            );
            let body = crate::client::recovered_end_payload(&recovered);
            let delivery = self.deliver(SESSIONS_END, &body);
            recovered.settle(delivery != Delivery::NotYet);
        }
    }

    fn open_state(&self, id: SessionId) {
        let (Some(dir), Ok(mut slot)) = (&self.shared.state_dir, self.shared.state.lock()) else {
            return;
        };
        // A program already ending (done in a microsecond) has nothing to leave open: its end
        // is next in line, and is written only if it cannot be sent.
        if matches!(*slot, StateSlot::NotWritten) && self.shared.deadline.get().is_none() {
            let state = dir.new_state(id, self.config.release(), self.config.environment());
            match dir.write(&state) {
                Ok(()) => *slot = StateSlot::Open(state),
                Err(error) => {
                    diag::debug!("no state file, so no abnormal-session recovery: {error}")
                }
            }
        }
    }

    /// Refreshes the open session's state file, so an abnormal end gets a fair duration.
    fn heartbeat(&self) {
        let (Some(dir), Ok(mut slot)) = (&self.shared.state_dir, self.shared.state.lock()) else {
            return;
        };
        if let StateSlot::Open(state) = &mut *slot {
            state.updated_at_ms = crate::state::unix_ms(SystemTime::now());
            let _ = dir.write(state);
        }
    }

    /// Sends one request, retrying as the contract says, never past the exit deadline.
    fn deliver(&mut self, path: &str, body: &[u8]) -> Delivery {
        for attempt in 0..MAX_ATTEMPTS {
            if self.shared.unauthorized.load(Ordering::Relaxed) {
                return Delivery::Refused;
            }
            if let Some(until) = self.paused_until.take()
                && !self.wait_until(until, false)
            {
                self.paused_until = Some(until);
                return Delivery::NotYet;
            }
            let Some(timeout) = self.time_left(REQUEST_TIMEOUT) else {
                return Delivery::NotYet;
            };
            let outcome = self.post(path, body, timeout);
            let backoff = match outcome {
                Outcome::Sent => return Delivery::Sent,
                Outcome::Unauthorized => {
                    self.shared.unauthorized.store(true, Ordering::Relaxed);
                    diag::say_once(
                        Once::Unauthorized,
                        "warn",
                        format_args!("the API key was refused (401); nothing more will be sent"),
                    );
                    return Delivery::Refused;
                }
                Outcome::Rejected(status) => {
                    diag::debug!("{path} was rejected with {status}; not retried");
                    return Delivery::Refused;
                }
                Outcome::RetryAfter(Some(wait)) => {
                    self.paused_until = Some(Instant::now() + wait);
                    continue;
                }
                Outcome::Unreachable if self.shared.deadline.get().is_some() => {
                    return Delivery::NotYet;
                }
                Outcome::RetryAfter(None) | Outcome::Failed | Outcome::Unreachable => {
                    backoff(attempt)
                }
            };
            let unreachable = outcome == Outcome::Unreachable;
            if attempt + 1 < MAX_ATTEMPTS && !self.wait_until(Instant::now() + backoff, unreachable)
            {
                return Delivery::NotYet;
            }
        }
        Delivery::NotYet
    }

    /// The time a request may take: `limit`, or what is left before the deadline.
    fn time_left(&self, limit: Duration) -> Option<Duration> {
        match self.shared.deadline.get() {
            None => Some(limit),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(limit))
            }
        }
    }

    /// Sleeps until `until`; `false` (at once) if the deadline comes first, or, for a retry of
    /// an unreachable server (`unreachable`), as soon as the program starts ending.
    fn wait_until(&self, until: Instant, unreachable: bool) -> bool {
        loop {
            match self.shared.deadline.get() {
                Some(_) if unreachable => return false,
                Some(deadline) if until > *deadline => return false,
                _ => {}
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            // Parked, so that a session end (which unparks us) is seen at once.
            thread::park_timeout(until - now);
        }
    }

    fn post(&mut self, path: &str, body: &[u8], timeout: Duration) -> Outcome {
        let agent = self.agent.get_or_insert_with(new_agent);
        let url = format!("{}{path}", self.host);
        // Each phase is bounded rather than the whole call: a whole-call timeout makes ureq
        // resolve the host on a thread of its own per request. DNS is then bounded by the
        // system resolver, and the process's exit by the deadline, whatever this thread does.
        let response = agent
            .post(&url)
            .config()
            .timeout_connect(Some(timeout.min(CONNECT_TIMEOUT)))
            .timeout_send_request(Some(timeout))
            .timeout_send_body(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .header("X-AllStak-Key", &self.key)
            .send(body);
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok());
                let outcome = classify(status, retry_after);
                diag::debug!("POST {path} → {status}");
                outcome
            }
            Err(error) => {
                diag::debug!("POST {path} failed: {error}");
                Outcome::Unreachable
            }
        }
    }
}

/// Whether the worker signalled `wait` before `until`.
fn signalled_by(wait: &Receiver<()>, until: Instant) -> bool {
    wait.recv_timeout(until.saturating_duration_since(Instant::now()))
        .is_ok()
}

/// Whether the worker signalled `wait` before the exit deadline.
fn done_by_deadline(wait: &Receiver<()>, deadline: Instant) -> bool {
    let done = signalled_by(wait, deadline);
    if !done {
        diag::debug!("the exit deadline passed before everything was sent");
    }
    done
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn new_agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(format!("{SDK_NAME}/{SDK_VERSION}"))
        .max_redirects(0)
        // Our requests and their answers are small: ureq's 128 KiB default buffers cost two
        // fresh zeroed allocations per connection, ~100 µs on loopback.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(16 * 1024)
        .tls_config(tls)
        .build()
        .new_agent()
}

/// 1 s, 2 s, 4 s, 8 s…, each shortened by up to a quarter at random so clients spread out.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF * 2u32.saturating_pow(attempt.min(8));
    let jitter = base.mul_f64(0.25 * random_unit());
    base - jitter
}

fn random_unit() -> f64 {
    // The top 53 bits of a random UUID: plenty for spreading retries.
    #[allow(clippy::cast_precision_loss)]
    let bits = (uuid::Uuid::new_v4().as_u128() >> 75) as f64;
    bits / (1u64 << 53) as f64
}

/// `Retry-After` as seconds or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<SystemTime> {
    // IMF-fixdate, the only form HTTP/1.1 senders may produce.
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|n| n.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    let plausible = (1..=31).contains(&day) && (1970..=9999).contains(&year);
    if parts.next()? != "GMT" || !plausible || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_contract_says() {
        assert_eq!(classify(202, None), Outcome::Sent);
        assert_eq!(classify(401, None), Outcome::Unauthorized);
        for permanent in [400, 403, 404, 422] {
            assert_eq!(classify(permanent, None), Outcome::Rejected(permanent));
        }
        assert_eq!(classify(500, None), Outcome::Failed);
        assert_eq!(classify(502, None), Outcome::Failed);
        assert_eq!(
            classify(429, Some("7")),
            Outcome::RetryAfter(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            classify(503, Some("86400")),
            Outcome::RetryAfter(Some(MAX_RETRY_AFTER))
        );
        assert_eq!(classify(503, Some("whenever")), Outcome::RetryAfter(None));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49 GMT", now), None);
        assert_eq!(parse_retry_after("tomorrow", now), None);
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics_on_any_header(value in ".{0,64}") {
            let _ = parse_retry_after(&value, SystemTime::now());
        }

        #[test]
        fn http_dates_never_panic_on_any_numbers(
            day in 0u64..100, year in 0u64..u64::MAX, h in 0u64..100, m in 0u64..100, s in 0u64..100
        ) {
            let _ = parse_http_date(&format!("Sun, {day} Nov {year} {h}:{m}:{s} GMT"));
        }
    }

    #[test]
    fn backoff_doubles_with_at_most_a_quarter_of_jitter() {
        for attempt in 0..4 {
            let full = FIRST_BACKOFF * 2u32.pow(attempt);
            for _ in 0..20 {
                let wait = backoff(attempt);
                assert!(wait <= full && wait >= full.mul_f64(0.75), "{wait:?}");
            }
        }
    }
}
