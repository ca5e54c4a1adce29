//! Sending to the AllStak ingest API, on one thread the SDK owns.
//!
//! The transport knows requests (a path and a body, [`crate::wire::Post`]), not sessions or
//! events. Callers hand it jobs through its inbox and never wait, except the one that ends the
//! session, which waits for its job and never longer than the exit deadline. Jobs run in order,
//! so a session's start always reaches the server before its end.
//!
//! One concern per file: the handle (here), the inbox and the signals callers wait on
//! ([`queue`]), the worker loop ([`worker`]), the retry policy ([`retry`]), and the HTTP backends
//! behind one seam ([`http`]).

mod http;
mod queue;
#[cfg(feature = "reqwest")]
mod reqwest;
mod retry;
#[cfg(feature = "ureq")]
#[cfg_attr(feature = "reqwest", allow(dead_code))] // compiled and linted, but reqwest is used
mod ureq;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;
use std::time::Instant;

use crate::counter::ShardedCounter;
use crate::diag::{self, Notice};
use crate::sdk_thread;
use crate::wire::Post;
use queue::{Done, Inbox, Wait};

#[cfg(test)]
pub(crate) use http::Answer;
pub(crate) use http::{BACKEND, Backend, Endpoint, TLS};
pub(crate) use queue::signal;
pub(crate) use worker::{Delivery, Worker};

/// Error events queued or being sent; past this they are dropped and counted.
const QUEUE_CAPACITY: usize = 256;

/// Work for the worker thread, the layer above's: it may deliver requests and touch its files.
pub(crate) type Task = Box<dyn FnOnce(&mut Worker) + Send>;

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
    Event(Box<dyn FnOnce() -> Outgoing + Send>),
    Task(Task),
    /// Raised once everything queued before it is done with; `all_sent` says whether no error
    /// event was dropped since the previous flush.
    Flush {
        done: Done,
        all_sent: Arc<AtomicBool>,
    },
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
}

impl Shared {
    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Spawns the worker, which calls `heartbeat` every 30 s, busy or idle; `None` (with a
    /// diagnostic) if the system refuses a thread.
    /// `backend` in place of the build's own HTTP client (unit tests).
    pub(crate) fn spawn(
        endpoint: Endpoint,
        backend: Option<Box<dyn Backend>>,
        heartbeat: Box<dyn FnMut() + Send>,
    ) -> Option<Self> {
        let inbox = Arc::new(Inbox::new());
        let shared = Arc::new(Shared {
            queued: CacheLine(AtomicUsize::new(0)),
            dropped: ShardedCounter::new(),
            unauthorized: AtomicBool::new(false),
            deadline: Mutex::new(None),
        });
        let worker = Worker::new(endpoint, Arc::clone(&shared), backend);
        let taken = Arc::clone(&inbox);
        let spawned = sdk_thread::spawn("allstak-transport", move || {
            // A bug of ours on this thread must not reach the program; the thread just ends.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker.run(&taken, heartbeat);
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
    pub(crate) fn send_event(&self, request: impl FnOnce() -> Outgoing + Send + 'static) {
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
