//! Sending to the AllStak ingest API, on one thread the SDK owns.
//!
//! The transport knows requests (a path and a body, [`crate::wire::Post`]), not sessions or
//! events. Callers hand it jobs through its inbox and never wait, except the one that ends the
//! session, which waits for its job and never longer than the exit deadline. Jobs run in order,
//! so a session's start always reaches the server before its end.
//!
//! One concern per file: the handle (here), the inbox and the signals callers wait on
//! ([`queue`]), the worker loop ([`worker`]), the retry policy ([`retry`]), and the HTTP backends
//! behind one seam ([`http`]), the ureq one with its pipelined connection (`pipeline`).

mod http;
#[cfg(feature = "ureq")]
#[cfg_attr(feature = "reqwest", allow(dead_code))] // compiled and linted, but reqwest is used
mod pipeline;
mod queue;
#[cfg(feature = "reqwest")]
mod reqwest;
mod retry;
#[cfg(feature = "ureq")]
#[cfg_attr(feature = "reqwest", allow(dead_code))] // compiled and linted, but reqwest is used
mod ureq;
mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::counter::ShardedCounter;
use crate::diag::{self, Notice};
use crate::sdk_thread;
use crate::wire::Post;
use queue::{Done, Inbox, Wait};

#[cfg(test)]
pub(crate) use http::Answer;
#[cfg(test)]
pub(crate) use http::Meanwhile;
pub(crate) use http::{BACKEND, Backend, Endpoint, TLS};
pub(crate) use queue::signal;
pub(crate) use worker::{Delivery, Worker};

/// Delivers requests in order: what the session's file asks of the worker (and of a test's
/// stand-in for it).
pub(crate) trait Deliver {
    /// Sends one request, as [`Worker::deliver`].
    fn deliver(&mut self, request: &Post) -> Delivery;

    /// Sends `first`, then `then` once `first` is sent, as [`Worker::deliver_after`]: one by
    /// one unless pipelined.
    fn deliver_after(&mut self, first: &Post, then: &Post) -> (Delivery, Option<Delivery>) {
        one_then_the_other(self, first, then)
    }

    /// Posts `requests` ahead, pipelined, as [`Worker::deliver_ahead`]; then each is delivered
    /// in turn by [`Self::deliver`]. By default nothing is posted ahead.
    fn deliver_ahead(&mut self, requests: &[&Post]) {
        let _ = requests;
    }

    /// What `request` came to when posted ahead, if it was taken or refused for good then, as
    /// [`Worker::taken_ahead`]; posts nothing. By default nothing was posted ahead.
    fn taken_ahead(&mut self, request: &Post) -> Option<Delivery> {
        let _ = request;
        None
    }

    /// Whether `request` would not be written now, as [`Worker::withholds`]: an earlier run
    /// that did not wait wrote it. By default nothing is withheld.
    fn withholds(&mut self, request: &Post) -> bool {
        let _ = request;
        false
    }

    /// Writes `request` from now on even if [`Self::withholds`] said not to, as
    /// [`Worker::release`].
    fn release(&mut self, request: &Post) {
        let _ = request;
    }
}

/// Sends `first`, then `then` only once `first` is sent, one by one (never pipelined).
pub(crate) fn one_then_the_other(
    deliver: &mut (impl Deliver + ?Sized),
    first: &Post,
    then: &Post,
) -> (Delivery, Option<Delivery>) {
    let first_delivery = deliver.deliver(first);
    let then_delivery = (first_delivery == Delivery::Sent).then(|| deliver.deliver(then));
    (first_delivery, then_delivery)
}

/// Error events queued or being sent; past this they are dropped and counted.
const QUEUE_CAPACITY: usize = 256;

/// Work for the worker thread, the layer above's: it may deliver requests and touch its files.
pub(crate) type Task = Box<dyn FnOnce(&mut Worker) + Send>;

/// What the worker does every 30 s, busy or idle ([`Transport::spawn`]).
pub(crate) type Heartbeat = Box<dyn FnMut(&mut Worker) + Send>;

/// Keeps error events that were not delivered for a later run (the layer above's spool).
pub(crate) type Keep = Box<dyn Fn(&[Post], Keeper) -> Kept + Send + Sync>;

/// The thread that keeps: the worker may wait for another keep; the exiting thread must not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keeper {
    Worker,
    Exiting,
}

/// What runs that do not wait for the network (exit deadline 0) wrote without reading the
/// answer, by the hash of each request (the layer above's state dir): such a run does not
/// write them again until it reads an answer of its own ([`Worker`] withholds them).
pub(crate) trait Written: Send + Sync {
    /// The requests written so by earlier runs, by hash ([`Post::digest`]).
    fn load(&self) -> HashMap<u64, Earlier>;
    /// Whether `request`, written with `next` right after it, is noted.
    fn notes(&self, request: &Post, next: Option<&Post>) -> bool;
    /// Adds these, just written by this run, which may end before it reads their answers:
    /// each hash with the times it was written, this one included.
    fn note(&self, written: &[(u64, u32)]);
}

/// A request earlier runs wrote without reading the answer ([`Written::load`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Earlier {
    /// Not to be written again yet.
    pub(crate) withheld: bool,
    /// How many times it was written.
    pub(crate) times: u32,
}

/// Takes back what a [`Keep`] kept: its event was delivered (or refused for good) after all.
pub(crate) type TakeBack = Box<dyn FnOnce() + Send>;

/// What a [`Keep`] did.
pub(crate) struct Kept {
    /// How many it took: kept, or dropped and counted by it.
    pub(crate) taken: usize,
    pub(crate) take_back: TakeBack,
}

/// How long the exiting thread may spend building the queued error events it keeps (without
/// their stacks, [`Build::AtExit`]), or waiting for the one the worker builds, from when keeping
/// starts: it runs after the exit deadline. Those not built in time are dropped and counted.
const KEEP_BUILDING_FOR: Duration = Duration::from_millis(30);

/// Who builds an error event's job, and so how far it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Build {
    /// The worker: the whole event.
    Whole,
    /// The exiting thread, keeping it for a later run: nothing that may take long (the stack
    /// is not symbolized unless one was already in this process: the first can take seconds
    /// on a large binary).
    AtExit,
}

/// What an error event's job makes on the worker.
pub(crate) enum Outgoing {
    /// The request to send.
    Post(Post),
    /// Nothing to send: `before_send` dropped it (the program's choice, not counted).
    Discarded,
    /// Nothing that can be sent (too large even trimmed): counted as dropped.
    Unsendable,
}

enum Job {
    /// An error event, serialized on the worker so that the caller never pays for it.
    Event(Box<dyn FnOnce(Build) -> Outgoing + Send>),
    Task(Task),
    /// Raised once everything queued before it is done with; `all_sent` says whether no error
    /// event was dropped since the previous flush.
    Flush {
        done: Done,
        all_sent: Arc<AtomicBool>,
    },
}

/// The error event the worker has taken from the inbox: being built, or being sent.
#[derive(Default)]
struct InFlight {
    /// Built on the worker (`before_send`, the stack symbolized): the exiting thread waits a
    /// moment for it, as it would build it itself.
    building: bool,
    /// The exiting thread waited for this build as long as it may, and counted it dropped: a
    /// second keep at exit does not wait again.
    given_up: bool,
    /// Being sent, and, once the exiting thread kept it, how to take that back if the worker
    /// delivers it after all.
    sending: Option<(Arc<Post>, Option<TakeBack>)>,
}

/// State shared between the handle and the worker.
struct Shared {
    queued: CacheLine<AtomicUsize>,
    /// Error events that will never reach the server: dropped on a full queue (by callers), or
    /// refused, unsendable or given up (by the worker).
    dropped: ShardedCounter,
    unauthorized: AtomicBool,
    /// Set while the session's end is being sent, and again when the process exits after it:
    /// no request, wait or retry may run past it.
    deadline: Mutex<Option<Instant>>,
    /// Error events not delivered but kept for a later run: not dropped, not sent either.
    kept: AtomicU64,
    keep: Keep,
    in_flight: Mutex<InFlight>,
    /// Notified when the worker is done building an event ([`InFlight::building`]).
    built: Condvar,
    /// Set in a run that does not wait for the network.
    written: Option<Box<dyn Written>>,
}

impl Shared {
    fn new(keep: Keep, written: Option<Box<dyn Written>>) -> Self {
        Self {
            queued: CacheLine(AtomicUsize::new(0)),
            dropped: ShardedCounter::new(),
            unauthorized: AtomicBool::new(false),
            deadline: Mutex::new(None),
            kept: AtomicU64::new(0),
            keep,
            in_flight: Mutex::new(InFlight::default()),
            built: Condvar::new(),
            written,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `requests` for a later run, and counts them as not sent; those the spool did not
    /// take (the state dir is not used) as dropped. Returns how to take them back.
    fn keep(&self, requests: &[Post], keeper: Keeper) -> TakeBack {
        if requests.is_empty() {
            return Box::new(|| {});
        }
        let kept = (self.keep)(requests, keeper);
        let taken = kept.taken.min(requests.len());
        self.kept.fetch_add(taken as u64, Ordering::Relaxed);
        self.dropped.add((requests.len() - taken) as u64);
        kept.take_back
    }

    /// The in-flight slot, from the exiting thread: the worker holds it while it keeps an event
    /// (one local file write), tried for [`crate::lock_soon::TRIES_FOR`] at most.
    fn in_flight_soon(&self) -> Option<MutexGuard<'_, InFlight>> {
        crate::lock_soon::lock_soon(&self.in_flight)
    }
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

/// The handle to the worker thread.
pub(crate) struct Transport {
    inbox: Arc<Inbox<Job>>,
    shared: Arc<Shared>,
    worker: Thread,
}

impl Transport {
    /// Spawns the worker, which calls `heartbeat` every 30 s, busy or idle, and `keep` with the
    /// error events it could not deliver; `None` (with a diagnostic) if the system refuses a
    /// thread. `backend` in place of the build's own HTTP client (unit tests). `written`: this
    /// run does not wait for the network (see [`Written`]).
    pub(crate) fn spawn(
        endpoint: Endpoint,
        backend: Option<Box<dyn Backend>>,
        heartbeat: Heartbeat,
        keep: Keep,
        written: Option<Box<dyn Written>>,
    ) -> Option<Self> {
        let inbox = Arc::new(Inbox::new());
        let shared = Arc::new(Shared::new(keep, written));
        let worker = Worker::new(endpoint, Arc::clone(&shared), Arc::clone(&inbox), backend);
        let taken = Arc::clone(&inbox);
        let spawned = sdk_thread::spawn("allstak-transport", move || {
            // A bug of ours on this thread must not reach the program; the thread just ends.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker.run(heartbeat);
            }));
            // Whoever waits for a job still queued stops waiting at once.
            taken.abandon();
        });
        match spawned {
            Ok(worker) => Some(Self {
                inbox,
                shared,
                worker,
            }),
            Err(error) => {
                diag::warning!(
                    "could not start the transport thread ({error}); nothing will be sent"
                );
                None
            }
        }
    }

    /// Queues `task` behind everything queued so far, without waiting.
    pub(crate) fn run(&self, task: Task) {
        let _ = self.inbox.push(Job::Task(task));
    }

    /// Queues an error event, built on the worker by `request`, without waiting: when the queue
    /// is full it is dropped and counted.
    pub(crate) fn send_event(&self, request: impl FnOnce(Build) -> Outgoing + Send + 'static) {
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
                Notice::QueueFull,
                "warn",
                format_args!("the error queue is full; events are being dropped and counted"),
            );
            return;
        }
        if !self.inbox.push(Job::Event(Box::new(request))) {
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The session is ending, or the process exiting: from now on no request, wait or retry
    /// may run past `deadline` (until [`Worker::ended_by`] lifts it).
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        *self
            .shared
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(deadline);
    }

    /// Whether a deadline is set: the worker has not got past the session's end yet.
    pub(crate) fn is_ending(&self) -> bool {
        self.shared.deadline().is_some()
    }

    /// Whether error events are queued or being sent.
    pub(crate) fn has_pending_events(&self) -> bool {
        self.shared.queued.load(Ordering::Relaxed) > 0
    }

    /// Queues a task that someone waits for, and wakes the worker if it is waiting out a
    /// backoff: the deadline changes its plans. `false` if the worker is gone.
    pub(crate) fn run_final(&self, task: Task) -> bool {
        self.queue_final(Job::Task(task))
    }

    /// Waits until the worker is done with everything queued so far, or `deadline` (the worker
    /// goes on after). `true` if it was in time and no error event was dropped since the
    /// previous flush (refused by the server, given up, or not queued at all).
    pub(crate) fn flush(&self, deadline: Instant) -> bool {
        let (done, wait) = signal();
        let all_sent = Arc::new(AtomicBool::new(false));
        let job = Job::Flush {
            done,
            all_sent: Arc::clone(&all_sent),
        };
        // The worker stores `all_sent` before it raises `done`: the signal's lock orders them.
        self.queue_final(job)
            && done_by_deadline(&wait, deadline)
            && all_sent.load(Ordering::Relaxed)
    }

    fn queue_final(&self, job: Job) -> bool {
        if !self.inbox.push(job) {
            return false;
        }
        self.worker.unpark();
        true
    }

    /// The process is exiting, and will not wait for the worker any longer: the error events it
    /// has not delivered (the one it is sending, then those still queued, built here) are kept
    /// for a later run. Never waits for the network, nor long for the worker.
    pub(crate) fn keep_what_is_left(&self) {
        let until = Instant::now() + KEEP_BUILDING_FOR;
        if let Some(mut slot) = self.shared.in_flight_soon() {
            // An event the worker is building: the time the exiting thread would take to build
            // it, at most.
            while slot.building && !slot.given_up {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                slot = match self.shared.built.wait_timeout(slot, left) {
                    Ok((slot, _)) => slot,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            if slot.building && !std::mem::replace(&mut slot.given_up, true) {
                self.shared.dropped.add(1);
                diag::debug!(
                    "an error event was still being built at exit; counted by \
                     dropped_event_count()"
                );
            }
            if let Some((request, kept)) = slot.sending.as_mut()
                && kept.is_none()
            {
                *kept = Some(
                    self.shared
                        .keep(std::slice::from_ref(&**request), Keeper::Exiting),
                );
            }
        }
        let queued = self.inbox.take_where(|job| matches!(job, Job::Event(_)));
        if queued.is_empty() {
            return;
        }
        self.shared
            .queued
            .fetch_sub(queued.len(), Ordering::Relaxed);
        let mut out_of_time = 0;
        let requests: Vec<Post> = queued
            .into_iter()
            .filter_map(|job| match job {
                Job::Event(_) if Instant::now() >= until => {
                    out_of_time += 1;
                    None
                }
                Job::Event(build) => match build(Build::AtExit) {
                    Outgoing::Post(request) => Some(request),
                    Outgoing::Discarded => None,
                    Outgoing::Unsendable => {
                        self.shared.dropped.add(1);
                        None
                    }
                },
                Job::Task(_) | Job::Flush { .. } => None,
            })
            .collect();
        if out_of_time > 0 {
            self.shared.dropped.add(out_of_time);
            diag::debug!(
                "{out_of_time} queued error events could not be kept in time at exit; \
                 counted by dropped_event_count()"
            );
        }
        let _ = self.shared.keep(&requests, Keeper::Exiting);
    }

    /// How many error events will never reach the server (see [`crate::dropped_event_count`]).
    pub(crate) fn dropped_event_count(&self) -> u64 {
        self.shared.dropped.sum()
    }
}

impl Drop for Transport {
    /// The worker takes what is queued, then ends.
    fn drop(&mut self) {
        self.inbox.close();
    }
}

/// Whether the worker signalled `wait` before the exit deadline.
pub(crate) fn done_by_deadline(wait: &Wait, deadline: Instant) -> bool {
    let done = wait.raised_by(deadline);
    if !done {
        diag::debug!("the exit deadline passed before everything was sent");
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn endpoint() -> Endpoint {
        Endpoint {
            host: "http://127.0.0.1:9".to_owned(),
            key: "k".to_owned(),
            proxy: None,
        }
    }

    /// A transport whose worker is held by a task until the returned sender drops, and whose
    /// keep counts what it is given.
    fn held_transport(kept: &Arc<AtomicUsize>) -> (Transport, mpsc::Sender<()>) {
        let transport = counting_transport(kept);
        let (release, held) = mpsc::channel::<()>();
        transport.run(Box::new(move |_| {
            let _ = held.recv();
        }));
        (transport, release)
    }

    fn slow_event(_: Build) -> Outgoing {
        std::thread::sleep(Duration::from_millis(50));
        Outgoing::Post(Post {
            path: crate::wire::ERRORS,
            body: b"{}".to_vec(),
        })
    }

    /// A transport whose keep counts what it is given, its worker free, sending to a closed
    /// port (retried with backoff: an event stays in flight a second).
    fn counting_transport(kept: &Arc<AtomicUsize>) -> Transport {
        let counted = Arc::clone(kept);
        Transport::spawn(
            endpoint(),
            None,
            Box::new(|_| {}),
            Box::new(move |requests, _| {
                counted.fetch_add(requests.len(), Ordering::Relaxed);
                Kept {
                    taken: requests.len(),
                    take_back: Box::new(|| {}),
                }
            }),
            None,
        )
        .expect("a thread")
    }

    /// An event whose build on the worker says it started, then takes `building`.
    fn event_built_in(
        building: Duration,
        started: mpsc::Sender<()>,
    ) -> impl FnOnce(Build) -> Outgoing + Send + 'static {
        move |_| {
            let _ = started.send(());
            std::thread::sleep(building);
            Outgoing::Post(Post {
                path: crate::wire::ERRORS,
                body: b"{}".to_vec(),
            })
        }
    }

    /// A counting transport whose worker is building an event that takes `building`; what it
    /// kept.
    fn building_an_event(building: Duration) -> (Transport, Arc<AtomicUsize>) {
        let kept = Arc::new(AtomicUsize::new(0));
        let transport = counting_transport(&kept);
        let (started, builds) = mpsc::channel();
        transport.send_event(event_built_in(building, started));
        builds.recv().expect("the worker builds it");
        (transport, kept)
    }

    #[test]
    fn an_event_the_worker_is_building_at_exit_is_kept_once_built() {
        let (transport, kept) = building_an_event(Duration::from_millis(10));
        transport.keep_what_is_left();
        assert_eq!(kept.load(Ordering::Relaxed), 1, "waited for, then kept");
        assert_eq!(transport.dropped_event_count(), 0);
    }

    #[test]
    fn an_event_still_being_built_past_the_budget_is_counted_dropped() {
        let (transport, kept) = building_an_event(Duration::from_millis(400));
        let waiting = Instant::now();
        transport.keep_what_is_left();
        let waited = waiting.elapsed();
        assert!(
            waited >= KEEP_BUILDING_FOR && waited < Duration::from_millis(300),
            "waited {waited:?}"
        );
        assert_eq!(kept.load(Ordering::Relaxed), 0);
        assert_eq!(transport.dropped_event_count(), 1);
        // The exit keeps again (`exit` after `end`): no second wait, no second count.
        let again = Instant::now();
        transport.keep_what_is_left();
        assert!(again.elapsed() < KEEP_BUILDING_FOR, "{:?}", again.elapsed());
        assert_eq!(transport.dropped_event_count(), 1);
    }

    #[test]
    fn the_worker_builds_an_event_whole_and_the_exiting_thread_quickly() {
        let kept = Arc::new(AtomicUsize::new(0));
        let (transport, release) = held_transport(&kept);
        let (built, builds) = mpsc::channel();
        for _ in 0..2 {
            let built = built.clone();
            transport.send_event(move |build| {
                let _ = built.send(build);
                Outgoing::Discarded
            });
        }
        transport.keep_what_is_left();
        assert_eq!(builds.try_iter().collect::<Vec<_>>(), [Build::AtExit; 2]);
        drop(release);

        let transport = counting_transport(&kept);
        transport.send_event(move |build| {
            let _ = built.send(build);
            Outgoing::Discarded
        });
        assert_eq!(builds.recv().ok(), Some(Build::Whole));
    }

    #[test]
    fn keeping_at_exit_builds_events_only_within_its_budget_and_counts_the_rest_dropped() {
        let kept = Arc::new(AtomicUsize::new(0));
        let (transport, release) = held_transport(&kept);
        for _ in 0..20 {
            transport.send_event(slow_event);
        }
        let started = Instant::now();
        transport.keep_what_is_left();
        let took = started.elapsed();
        // 20 builds of 50 ms each would take a second; the budget allows one started in time.
        assert!(took < Duration::from_millis(500), "took {took:?}");
        let kept = kept.load(Ordering::Relaxed);
        assert!(kept >= 1, "the first event is built and kept");
        assert_eq!(transport.dropped_event_count(), (20 - kept) as u64);
        assert!(!transport.has_pending_events());
        drop(release);
    }
}
