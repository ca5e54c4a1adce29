//! The worker loop: runs jobs in order, and delivers each request as the retry policy says,
//! never past the exit deadline.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, Answer, Backend, Endpoint, Meanwhile};
use super::queue::{Inbox, Taken};
use super::retry::{self, MAX_ATTEMPTS, Outcome};
use super::{Deliver, Heartbeat, InFlight, Job, Outgoing, Shared, Task};
use crate::diag::{self, Notice};
use crate::sdk_thread;
use crate::wire::Post;

const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How often the worker calls its heartbeat (which refreshes the state file), busy or idle.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// When the heartbeat is next due.
struct Schedule {
    every: Duration,
    next: Instant,
}

impl Schedule {
    fn new(every: Duration, now: Instant) -> Self {
        Self {
            every,
            next: now + every,
        }
    }

    /// How long the worker may wait for a job before the heartbeat is due.
    fn wait(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }

    /// Whether the heartbeat is due at `now`; if it is, the next one is `every` from now.
    fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.every;
        true
    }
}

/// What became of a request once [`Worker::deliver`] is done with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Sent,
    /// Refused for good (a 4xx, or the key was refused): never sent again, by any run.
    Refused,
    /// Not sent yet (no answer, 5xx, the deadline): worth another try by the next run.
    NotYet,
}

/// The transport thread's state; tasks get it to deliver their requests.
pub(crate) struct Worker {
    endpoint: Endpoint,
    shared: Arc<Shared>,
    inbox: Arc<Inbox<Job>>,
    /// Made on first use, so that a program that sends nothing never sets up HTTP or TLS.
    backend: Option<Box<dyn Backend>>,
    paused_until: Option<Instant>,
    /// The dropped events counted when the previous flush was done: a flush is all sent when
    /// none was dropped since.
    dropped_at_flush: u64,
    /// Requests posted ahead and what each came to, in order ([`Self::deliver_ahead`]).
    ahead: VecDeque<(Post, Outcome)>,
    /// Done before the next error event is sent ([`Self::before_events`]).
    before_events: Option<Task>,
    /// Whether `before_events` is also done at the next heartbeat ([`Self::until_taken`]).
    on_heartbeat: bool,
    /// Done once the next pipelined requests are written ([`Self::while_answered`]).
    meanwhile: Option<Meanwhile>,
    /// In a run that does not wait ([`super::Written`]): what earlier such runs wrote without
    /// reading the answer, read on first need; not written again until an answer is read.
    earlier: Option<HashMap<u64, super::Earlier>>,
    /// Whether this run read an answer from the server: it lives long enough to settle what
    /// it writes, so nothing is withheld any longer.
    answered: bool,
    /// Whether the last post read an answer (the server could be reached).
    reached: bool,
    /// Whether this run kept something it may send itself once the server is back (an error
    /// event it could not send, what earlier runs left that it stopped at): see
    /// [`Self::left_for_later`].
    kept_here: bool,
    /// Heartbeats in a row that tried what was kept and left some ([`Self::kept_tried`]), and
    /// when the next may try again.
    kept_failures: u32,
    kept_next: Option<Instant>,
    /// Each request tried once, without backoff ([`Self::trying_once`]).
    one_try: bool,
}

impl Worker {
    pub(super) fn new(
        endpoint: Endpoint,
        shared: Arc<Shared>,
        inbox: Arc<Inbox<Job>>,
        backend: Option<Box<dyn Backend>>,
    ) -> Self {
        Self {
            endpoint,
            shared,
            inbox,
            backend,
            paused_until: None,
            dropped_at_flush: 0,
            ahead: VecDeque::new(),
            before_events: None,
            on_heartbeat: false,
            meanwhile: None,
            earlier: None,
            answered: false,
            reached: false,
            kept_here: false,
            kept_failures: 0,
            kept_next: None,
            one_try: false,
        }
    }

    pub(super) fn run(self, heartbeat: Heartbeat) {
        self.run_beating_every(HEARTBEAT_EVERY, heartbeat);
    }

    /// Runs jobs until the inbox closes, and `heartbeat` every `every`: after a job as after a
    /// wait, so that a worker busy every few seconds beats on time too.
    fn run_beating_every(mut self, every: Duration, mut heartbeat: Heartbeat) {
        let inbox = Arc::clone(&self.inbox);
        let mut schedule = Schedule::new(every, Instant::now());
        loop {
            match inbox.take(schedule.wait(Instant::now())) {
                Taken::Job(job) => self.run_job(job),
                Taken::Idle => {}
                Taken::Closed => return,
            }
            if schedule.due(Instant::now()) {
                self.retry_what_waits();
                heartbeat(&mut self);
            }
        }
    }

    fn run_job(&mut self, job: Job) {
        match job {
            Job::Event(build) => {
                // Seen by the exiting thread from now on: it waits a moment for the build.
                self.in_flight().building = true;
                let outgoing = build(super::Build::Whole);
                let lost = match outgoing {
                    Outgoing::Post(request) => match self.deliver_event(request) {
                        Delivery::Sent | Delivery::NotYet => None,
                        Delivery::Refused => Some("was refused"),
                    },
                    Outgoing::Discarded => {
                        self.built(None);
                        None
                    }
                    Outgoing::Unsendable => {
                        self.built(None);
                        Some("is too large to send")
                    }
                };
                if let Some(why) = lost {
                    self.shared.dropped.add(1);
                    diag::say_once(
                        Notice::EventLost,
                        "debug",
                        format_args!(
                            "an error event {why}; it is dropped, counted by \
                             dropped_event_count(), and flush() returns false"
                        ),
                    );
                }
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            }
            Job::Task(task) => task(self),
            Job::Flush { done, all_sent } => {
                // Kept for a later run is not sent either.
                let dropped = self.shared.dropped.sum() + self.shared.kept.load(Ordering::Relaxed);
                all_sent.store(dropped == self.dropped_at_flush, Ordering::Relaxed);
                self.dropped_at_flush = dropped;
                done.raise();
            }
        }
    }

    /// Delivers an error event; one not delivered is kept for a later run (unless the exiting
    /// thread kept it while it was in flight).
    fn deliver_event(&mut self, request: Post) -> Delivery {
        let request = Arc::new(request);
        self.built(Some(Arc::clone(&request)));
        let delivery = self.deliver_after_what_waits(&request);
        let mut slot = self.in_flight();
        let kept = slot.sending.take().and_then(|(_, kept)| kept);
        if let Some(take_back) = kept {
            if delivery != Delivery::NotYet {
                // Kept by the exiting thread while in flight, then delivered (or refused for
                // good): no later run may send it again.
                take_back();
            }
        } else if delivery == Delivery::NotYet {
            // Under the lock: the exiting thread sees it either in flight or kept.
            let _ = self
                .shared
                .keep(std::slice::from_ref(&*request), super::Keeper::Worker);
            diag::say_once(
                Notice::EventLost,
                "debug",
                format_args!(
                    "an error event could not be sent in time; it is kept, sent again once the \
                     server takes it (by this run, at its next heartbeat, or by a later one), and \
                     flush() returns false"
                ),
            );
        }
        drop(slot);
        if delivery == Delivery::NotYet {
            self.left_for_later(); // kept, by this thread or the exiting one
        }
        delivery
    }

    /// Delivers `request`, an error event, as [`Self::deliver`] does, after what goes before
    /// events ([`Self::before_events`]: the session's start, held back or not taken yet; its
    /// events follow it). While that is not taken (it set itself again) because the server
    /// cannot be reached, the event is not tried either: it waits as its own retries would,
    /// and the start is tried again first, so a server back meanwhile takes the start before
    /// the event. A server that answered the start (a 5xx) is tried with the event as well.
    fn deliver_after_what_waits(&mut self, request: &Post) -> Delivery {
        for attempt in 0..MAX_ATTEMPTS {
            let Some(task) = self.take_what_waits() else {
                return self.deliver(request);
            };
            task(self);
            if self.before_events.is_none() || self.reached {
                return self.deliver(request);
            }
            let backoff = retry::backoff(attempt);
            if attempt + 1 == MAX_ATTEMPTS || !self.wait_until(Instant::now() + backoff, true) {
                break;
            }
        }
        Delivery::NotYet
    }

    /// The event taken from the inbox is built: `sending` it, or nothing to send.
    fn built(&self, sending: Option<Arc<Post>>) {
        {
            let mut slot = self.in_flight();
            slot.building = false;
            slot.given_up = false;
            slot.sending = sending.map(|request| (request, None));
        }
        self.shared.built.notify_all();
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.shared
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the session is ending (a deadline is set), as [`super::Transport::is_ending`].
    pub(crate) fn is_ending(&self) -> bool {
        self.shared.deadline().is_some()
    }

    /// Whether error events are queued (as [`super::Transport::has_pending_events`]).
    pub(crate) fn has_pending_events(&self) -> bool {
        self.shared.queued.load(Ordering::Relaxed) > 0
    }

    /// The session's end, sent under `deadline`, is settled: a program that goes on running
    /// after it sends what it reports later as it did before (until it exits).
    pub(crate) fn ended_by(&self, deadline: Instant) {
        let mut current = self
            .shared
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *current == Some(deadline) {
            *current = None;
        }
    }

    /// Sends one request, retrying as the contract says, never past the exit deadline.
    pub(crate) fn deliver(&mut self, request: &Post) -> Delivery {
        // What it came to when posted ahead ([`Self::deliver_ahead`]): its first attempt.
        let posted_ahead = self.answered_ahead(request);
        self.deliver_from(request, posted_ahead)
    }

    /// One attempt at `request`, no backoff and no wait (a pause the server asked for is not
    /// waited out: not yet): for a request tried again before others, which must not hold
    /// them back while the server is down.
    pub(crate) fn deliver_once(&mut self, request: &Post) -> Delivery {
        if self.shared.unauthorized.load(Ordering::Relaxed) {
            return Delivery::Refused;
        }
        if self
            .paused_until
            .is_some_and(|until| until > Instant::now())
        {
            return Delivery::NotYet;
        }
        self.paused_until = None;
        let Some(timeout) = self.time_left(REQUEST_TIMEOUT) else {
            return Delivery::NotYet;
        };
        let outcome = self.post(request, timeout);
        self.settled(request.path, outcome)
            .unwrap_or(Delivery::NotYet)
    }

    /// [`Self::deliver`], its first attempt's outcome `posted` already, if it was posted.
    fn deliver_from(&mut self, request: &Post, mut posted_ahead: Option<Outcome>) -> Delivery {
        let path = request.path;
        let attempts = if self.one_try { 1 } else { MAX_ATTEMPTS };
        for attempt in 0..attempts {
            let outcome = if let Some(outcome) = posted_ahead.take() {
                outcome
            } else {
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
                self.post(request, timeout)
            };
            if let Some(delivery) = self.settled(path, outcome) {
                return delivery;
            }
            let backoff = match outcome {
                // Written by an earlier run: again only once an answer came meanwhile (to
                // the requests posted ahead with it), then at once.
                Outcome::Withheld if self.answered => continue,
                Outcome::Withheld => return Delivery::NotYet,
                Outcome::RetryAfter(Some(_)) => continue,
                Outcome::Unreachable if self.is_ending() => return Delivery::NotYet,
                _ => retry::backoff(attempt),
            };
            let unreachable = outcome == Outcome::Unreachable;
            if attempt + 1 < attempts && !self.wait_until(Instant::now() + backoff, unreachable) {
                return Delivery::NotYet;
            }
        }
        Delivery::NotYet
    }

    /// What `outcome` settles for a request to `path`: sent, or refused for good (the key
    /// refused stops everything); `None` if it is worth another try (after the pause a
    /// `Retry-After` asks for, which is then set).
    fn settled(&mut self, path: &str, outcome: Outcome) -> Option<Delivery> {
        match outcome {
            Outcome::Sent => Some(Delivery::Sent),
            Outcome::Unauthorized => {
                self.shared.unauthorized.store(true, Ordering::Relaxed);
                diag::say_once(
                    Notice::Unauthorized,
                    "warn",
                    format_args!("the API key was refused (401); nothing more will be sent"),
                );
                Some(Delivery::Refused)
            }
            Outcome::Rejected(status) => {
                diag::debug!("{path} was rejected with {status}; not retried");
                Some(Delivery::Refused)
            }
            Outcome::RetryAfter(Some(wait)) => {
                self.paused_until = Some(Instant::now() + wait);
                None
            }
            Outcome::RetryAfter(None)
            | Outcome::Failed
            | Outcome::Unreachable
            | Outcome::Withheld => None,
        }
    }

    /// Sends `first`, then `then` once `first` is sent, as [`Self::deliver`] would, but both
    /// written on one connection before either answer is read where the backend can (the
    /// server receives them in order, for one round trip, not two). `then` is not delivered
    /// (`None`) unless `first` was sent; what was not answered, or answered "try again", is
    /// sent again one by one.
    pub(crate) fn deliver_after(
        &mut self,
        first: &Post,
        then: &Post,
    ) -> (Delivery, Option<Delivery>) {
        // The answers to both from one pipelined post: ahead, with others, or now.
        let (first_answer, then_answer) = if self.ahead.iter().any(|(posted, _)| posted == first) {
            (self.answered_ahead(first), self.answered_ahead(then))
        } else {
            self.ahead.clear();
            let mut answers = self.post_in_order(&[first, then]).into_iter();
            (answers.next(), answers.next())
        };
        // `then`'s answer counts only if `first` was taken at once: one taken on a retry came
        // after it, and `then` goes again (the same request: the server can tell).
        let then_answer = then_answer.filter(|_| first_answer == Some(Outcome::Sent));
        let first_delivery = self.deliver_from(first, first_answer);
        if first_delivery != Delivery::Sent {
            return (first_delivery, None);
        }
        (first_delivery, Some(self.deliver_from(then, then_answer)))
    }

    /// What `request` came to when posted ahead, if the server took it or refused it for good
    /// then; posts nothing (for a caller that stopped before `request`'s turn).
    pub(crate) fn taken_ahead(&mut self, request: &Post) -> Option<Delivery> {
        let outcome = self.answered_ahead(request)?;
        self.settled(request.path, outcome)
    }

    /// Posts `requests` ahead, all written on one connection before any answer is read where
    /// the backend can (one round trip for all): [`Self::deliver`] then takes each one's answer
    /// as its first attempt, in the same order (requests it skips lose theirs). What was not
    /// answered is posted again when its turn comes.
    pub(crate) fn deliver_ahead(&mut self, requests: &[&Post]) {
        self.ahead.clear();
        if requests.len() < 2 {
            return;
        }
        let outcomes = self.post_in_order(requests);
        self.ahead = requests
            .iter()
            .zip(outcomes)
            .map(|(request, outcome)| ((*request).clone(), outcome))
            .collect();
    }

    /// What `request` came to when posted ahead, if it was (the ones before it are dropped).
    fn answered_ahead(&mut self, request: &Post) -> Option<Outcome> {
        while let Some((posted, outcome)) = self.ahead.pop_front() {
            if posted == *request {
                return Some(outcome);
            }
        }
        None
    }

    /// Posts `requests` pipelined on one connection, if the backend can and nothing holds them
    /// back (a pause, the key refused, the deadline passed): what each of those answered came
    /// to, in order.
    fn post_in_order(&mut self, requests: &[&Post]) -> Vec<Outcome> {
        if self.paused_until.is_some() || self.shared.unauthorized.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let Some(timeout) = self.time_left(REQUEST_TIMEOUT) else {
            return Vec::new();
        };
        let withheld: Vec<bool> = requests.iter().map(|r| self.withholds(r)).collect();
        let written: Vec<&Post> = requests
            .iter()
            .zip(&withheld)
            .filter_map(|(request, withheld)| (!withheld).then_some(*request))
            .collect();
        let mut answers = if written.is_empty() {
            Vec::new()
        } else {
            self.post_all(&written, timeout)
        }
        .into_iter();
        // Each in its place: a withheld one is not written (and comes to that at once).
        let mut outcomes = Vec::with_capacity(requests.len());
        for (request, withheld) in requests.iter().zip(withheld) {
            if withheld {
                outcomes.push(Outcome::Withheld);
            } else if let Some(answer) = answers.next() {
                outcomes.push(outcome_of(request.path, answer));
            } else if !written.is_empty() {
                break;
            }
        }
        outcomes
    }

    /// Posts `requests` pipelined, the work [`Self::while_answered`] gave done once they are
    /// written (and, in a run that does not wait, their noting: see [`Self::once_written`]).
    fn post_all(&mut self, requests: &[&Post], timeout: Duration) -> Vec<Answer> {
        self.once_written(requests);
        let (backend, endpoint) = self.backend();
        let answers = sdk_thread::without_tracing(|| backend.post_all(endpoint, requests, timeout))
            .unwrap_or_default();
        self.answered_now(&answers);
        answers
    }

    /// Hands the backend what is to be done once `requests` are written (by its next post, if
    /// it writes them on its connection of its own): the work [`Self::while_answered`] gave,
    /// and, in a run that does not wait and has read no answer yet (it may end before it
    /// reads theirs), noting those the layer above says ([`super::Written::notes`]) as written,
    /// on this thread, off the exit's path.
    fn once_written(&mut self, requests: &[&Post]) {
        let work = self.meanwhile.take();
        let notable: Vec<u64> = match &self.shared.written {
            Some(written) if !self.answered => requests
                .iter()
                .enumerate()
                .filter(|(at, request)| written.notes(request, requests.get(at + 1).copied()))
                .map(|(_, request)| request.digest())
                .collect(),
            _ => Vec::new(),
        };
        let noted: Vec<(u64, u32)> = notable
            .into_iter()
            .map(|hash| (hash, self.times_written(hash).saturating_add(1)))
            .collect();
        let hook: Option<Meanwhile> = if noted.is_empty() {
            work
        } else {
            let shared = Arc::clone(&self.shared);
            Some(Box::new(move || {
                if let Some(written) = &shared.written {
                    written.note(&noted);
                }
                if let Some(work) = work {
                    work();
                }
            }))
        };
        self.backend().0.meanwhile(hook);
    }

    /// The backend is done with a post: nothing is left for its next one to do; an answer
    /// read means this run lives long enough to settle what it writes.
    fn answered_now(&mut self, answers: &[Answer]) {
        self.backend().0.meanwhile(None);
        let reached = answers.iter().any(|a| matches!(a, Answer::Status { .. }));
        self.answered |= reached;
        self.reached = reached;
    }

    /// Writes `request` whether or not an earlier run did (a start whose end goes now: the
    /// two go together).
    pub(crate) fn release(&mut self, request: &Post) {
        if let Some(earlier) = self
            .earlier
            .as_mut()
            .and_then(|earlier| earlier.get_mut(&request.digest()))
        {
            earlier.withheld = false;
        }
    }

    /// How many times earlier runs that did not wait wrote the request `hash`, unanswered.
    fn times_written(&mut self, hash: u64) -> u32 {
        self.earlier()
            .and_then(|earlier| earlier.get(&hash))
            .map_or(0, |earlier| earlier.times)
    }

    /// What earlier runs that did not wait wrote (in such a run), read on first need.
    fn earlier(&mut self) -> Option<&HashMap<u64, super::Earlier>> {
        let written = self.shared.written.as_ref()?;
        Some(self.earlier.get_or_insert_with(|| written.load()))
    }

    /// Whether this run read an answer from the server: from then on it withholds nothing.
    pub(crate) fn has_read_an_answer(&self) -> bool {
        self.answered
    }

    /// Whether `request` is not written (yet): in a run that does not wait, one that has read
    /// no answer, an earlier such run wrote it recently without reading its answer.
    pub(crate) fn withholds(&mut self, request: &Post) -> bool {
        if self.answered {
            return false;
        }
        // A run that waits has nothing to look up: no digest for it.
        self.earlier()
            .and_then(|earlier| earlier.get(&request.digest()))
            .is_some_and(|earlier| earlier.withheld)
    }

    /// `Some(task)`: done before the next error event is sent, if one is queued before it is
    /// called off (`None`). The session's start, held back to go with its end, goes first that
    /// way: an error reported from another thread as the program ends must not reach the
    /// server before the start of its session.
    pub(crate) fn before_events(&mut self, task: Option<Task>) {
        self.before_events = task;
        self.on_heartbeat = false;
    }

    /// [`Self::before_events`], and also at the next heartbeat (every 30 s), for what the
    /// server did not take as the program started (down, or the network not up yet: a daemon
    /// started at boot): it goes soon after the server is back, not only before the program's
    /// next error event or with its end. `task` sets itself again if it is still not taken.
    pub(crate) fn until_taken(&mut self, task: Task) {
        self.before_events = Some(task);
        self.on_heartbeat = true;
    }

    /// The heartbeat is due: what waits for the server ([`Self::until_taken`]) is tried.
    fn retry_what_waits(&mut self) {
        if self.on_heartbeat
            && let Some(task) = self.take_what_waits()
        {
            task(self);
        }
    }

    /// Something was kept, or left, that this run may send itself once the server is back: at
    /// a heartbeat ([`Self::take_kept_here`]).
    pub(crate) fn left_for_later(&mut self) {
        self.kept_here = true;
    }

    /// Whether this run kept or left something since this was last asked
    /// ([`Self::left_for_later`]), and a heartbeat may try it now ([`Self::kept_tried`]).
    pub(crate) fn take_kept_here(&mut self) -> bool {
        if self.kept_next.is_some_and(|next| Instant::now() < next) {
            return false;
        }
        std::mem::take(&mut self.kept_here)
    }

    /// A heartbeat tried what was kept: if some is still left ([`Self::left_for_later`] again),
    /// the next try waits twice as long as the last did, from 30 s up to an hour, so that a
    /// server refusing one of them for now is not sent all of them every 30 s.
    pub(crate) fn kept_tried(&mut self) {
        if self.kept_here {
            self.kept_failures = self.kept_failures.saturating_add(1);
            let wait = HEARTBEAT_EVERY * 2u32.pow(self.kept_failures.min(7));
            self.kept_next = Some(Instant::now() + wait);
        } else {
            self.kept_failures = 0;
            self.kept_next = None;
        }
    }

    /// Runs `deliver` with each request tried once, without backoff: what a heartbeat sends
    /// again does not hold the worker for a server still away.
    pub(crate) fn trying_once<T>(&mut self, deliver: impl FnOnce(&mut Self) -> T) -> T {
        self.one_try = true;
        let delivered = deliver(self);
        self.one_try = false;
        delivered
    }

    /// Whether the server may take something now, as [`Self::reachable`], but asked of the
    /// server again unless the last post read an answer: one connect ahead, where the backend
    /// can tell.
    pub(crate) fn reachable_now(&mut self) -> bool {
        self.reached || self.opens()
    }

    /// Whether something goes before events ([`Self::before_events`]): the session's start is
    /// held back, or not taken yet.
    pub(crate) fn has_what_waits(&self) -> bool {
        self.before_events.is_some()
    }

    /// What goes before events, to be done now (it sets itself again if it must).
    fn take_what_waits(&mut self) -> Option<Task> {
        self.on_heartbeat = false;
        self.before_events.take()
    }

    /// Runs `deliver` with `work` done while the answers to the first requests it posts on the
    /// backend's connection of its own are on their way (a round trip otherwise spent
    /// waiting): `work` is not done at all if none went that way.
    pub(crate) fn while_answered<T>(
        &mut self,
        work: Meanwhile,
        deliver: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.meanwhile = Some(work);
        let delivered = deliver(self);
        self.meanwhile = None;
        delivered
    }

    /// Holds the caller (the session's start) back until `until`, the program ending its
    /// session, or anything else queued for the worker, whichever comes first; meanwhile opens
    /// the connection pipelined requests go out on. A program that ends within it sends its
    /// start and its end together ([`Self::deliver_after`]).
    pub(crate) fn linger(&mut self, until: Instant) {
        let Some(timeout) = self.time_left(until.saturating_duration_since(Instant::now())) else {
            return;
        };
        let (backend, endpoint) = self.backend();
        sdk_thread::without_tracing(|| backend.warm(endpoint, timeout));
        if !self.is_ending() {
            self.inbox.wait_until_queued(until);
        }
    }

    /// Whether the server may take something now: it answered this run, or a connection to it
    /// opens (kept for the requests that follow); `true` where the backend cannot tell (it
    /// opens no connection ahead). What earlier runs left is not claimed for a server that
    /// cannot be reached: each claim is a rename, put back at once, and finding the oldest
    /// looks at every file kept (2 ms of an exit with a thousand of them).
    pub(crate) fn reachable(&mut self) -> bool {
        self.answered || self.opens()
    }

    /// Whether a connection to the server opens (or is open), where the backend can tell.
    fn opens(&mut self) -> bool {
        let Some(timeout) = self.time_left(REQUEST_TIMEOUT) else {
            return false; // past the deadline: nothing goes
        };
        let (backend, endpoint) = self.backend();
        sdk_thread::without_tracing(|| backend.warm(endpoint, timeout)) != Some(false)
    }

    /// Waits until `until`, or less if the session starts ending first (a deadline is set):
    /// whether it waited the whole time.
    pub(crate) fn pause_until(&self, until: Instant) -> bool {
        self.shared.deadline().is_none() && self.wait_until(until, true)
    }

    /// The time a request may take: `limit`, or what is left before the deadline.
    fn time_left(&self, limit: Duration) -> Option<Duration> {
        match self.shared.deadline() {
            None => Some(limit),
            // What a heartbeat tries again ([`Self::trying_once`]) gives way to the session's
            // end: it is left for later, and the end is next.
            Some(_) if self.one_try => None,
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
            match self.shared.deadline() {
                Some(_) if unreachable => return false,
                Some(deadline) if until > deadline => return false,
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

    fn post(&mut self, request: &Post, timeout: Duration) -> Outcome {
        if self.withholds(request) {
            return Outcome::Withheld;
        }
        self.once_written(&[request]);
        let (backend, endpoint) = self.backend();
        let answer = sdk_thread::without_tracing(|| backend.post(endpoint, request, timeout));
        self.answered_now(std::slice::from_ref(&answer));
        outcome_of(request.path, answer)
    }

    /// The backend, made on first use, and the endpoint it posts to.
    fn backend(&mut self) -> (&mut dyn Backend, &Endpoint) {
        let backend = self
            .backend
            .get_or_insert_with(|| http::backend(&self.endpoint));
        (backend.as_mut(), &self.endpoint)
    }
}

impl Deliver for Worker {
    fn deliver(&mut self, request: &Post) -> Delivery {
        Worker::deliver(self, request)
    }

    fn deliver_after(&mut self, first: &Post, then: &Post) -> (Delivery, Option<Delivery>) {
        Worker::deliver_after(self, first, then)
    }

    fn deliver_ahead(&mut self, requests: &[&Post]) {
        Worker::deliver_ahead(self, requests);
    }

    fn taken_ahead(&mut self, request: &Post) -> Option<Delivery> {
        Worker::taken_ahead(self, request)
    }

    fn withholds(&mut self, request: &Post) -> bool {
        Worker::withholds(self, request)
    }

    fn release(&mut self, request: &Post) {
        Worker::release(self, request);
    }
}

/// What an answer to a request to `path` means, said in the debug log.
fn outcome_of(path: &str, answer: Answer) -> Outcome {
    match answer {
        Answer::Status {
            status,
            retry_after,
        } => {
            diag::debug!("POST {path} → {status}");
            retry::classify(status, retry_after.as_deref())
        }
        Answer::Unreachable(error) => {
            diag::debug!("POST {path} failed: {error}");
            Outcome::Unreachable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use crate::wire;

    fn worker(inbox: Arc<Inbox<Job>>) -> Worker {
        worker_written(inbox, None)
    }

    /// A worker of a run that does not wait, if `written` is given.
    fn worker_written(
        inbox: Arc<Inbox<Job>>,
        written: Option<Box<dyn super::super::Written>>,
    ) -> Worker {
        let endpoint = Endpoint {
            host: "http://127.0.0.1:9".to_owned(),
            key: "k".to_owned(),
            proxy: None,
        };
        let keep: super::super::Keep = Box::new(|_, _| super::super::Kept {
            taken: 0,
            take_back: Box::new(|| {}),
        });
        Worker::new(endpoint, Arc::new(Shared::new(keep, written)), inbox, None)
    }

    /// What was posted: `(path, "all" or "one")`.
    type Posted = Arc<Mutex<Vec<(&'static str, &'static str)>>>;

    /// A backend that pipelines: `post_all` answers as told, in order, after the work given
    /// meanwhile; `post` takes anything.
    struct Pipelining {
        all: Vec<u16>,
        posted: Posted,
        meanwhile: Option<Meanwhile>,
    }

    impl Backend for Pipelining {
        fn post(&mut self, _: &Endpoint, request: &Post, _: Duration) -> Answer {
            self.posted.lock().unwrap().push((request.path, "one"));
            Answer::Status {
                status: 202,
                retry_after: None,
            }
        }

        fn post_all(
            &mut self,
            _: &Endpoint,
            requests: &[&Post],
            _: Duration,
        ) -> Option<Vec<Answer>> {
            self.posted
                .lock()
                .unwrap()
                .extend(requests.iter().map(|request| (request.path, "all")));
            if let Some(work) = self.meanwhile.take() {
                work();
            }
            Some(
                self.all
                    .iter()
                    .map(|&status| Answer::Status {
                        status,
                        // Try again at once.
                        retry_after: Some("0".to_owned()),
                    })
                    .collect(),
            )
        }

        fn meanwhile(&mut self, work: Option<Meanwhile>) {
            self.meanwhile = work;
        }
    }

    /// A backend answering every request with `status`, counting them.
    struct Answering(u16, Arc<AtomicUsize>);

    impl Backend for Answering {
        fn post(&mut self, _: &Endpoint, _: &Post, _: Duration) -> Answer {
            self.1.fetch_add(1, Ordering::Relaxed);
            Answer::Status {
                status: self.0,
                retry_after: None,
            }
        }
    }

    #[test]
    fn one_delivery_attempt_posts_once_and_never_backs_off() {
        let posts = Arc::new(AtomicUsize::new(0));
        let mut worker = worker(Arc::new(Inbox::new()));
        worker.backend = Some(Box::new(Answering(503, Arc::clone(&posts))));
        let request = Post {
            path: wire::SESSIONS_START,
            body: b"{}".to_vec(),
        };
        let trying = Instant::now();
        assert_eq!(worker.deliver_once(&request), Delivery::NotYet);
        assert_eq!(posts.load(Ordering::Relaxed), 1);
        assert!(trying.elapsed() < Duration::from_millis(500), "no backoff");
        worker.backend = Some(Box::new(Answering(202, Arc::clone(&posts))));
        assert_eq!(worker.deliver_once(&request), Delivery::Sent);
        worker.backend = Some(Box::new(Answering(400, Arc::clone(&posts))));
        assert_eq!(worker.deliver_once(&request), Delivery::Refused);
    }

    fn pipelining_worker(all: &[u16]) -> (Worker, Posted) {
        let posted = Arc::new(Mutex::new(Vec::new()));
        let mut worker = worker(Arc::new(Inbox::new()));
        worker.backend = Some(Box::new(Pipelining {
            all: all.to_vec(),
            posted: Arc::clone(&posted),
            meanwhile: None,
        }));
        (worker, posted)
    }

    fn request(path: &'static str) -> Post {
        Post {
            path,
            body: path.as_bytes().to_vec(),
        }
    }

    fn event(path: &'static str) -> Job {
        Job::Event(Box::new(move |_| Outgoing::Post(request(path))))
    }

    /// What a run noted: each hash with the times it was written.
    type Noted = Arc<Mutex<Vec<(u64, u32)>>>;

    /// What earlier runs wrote (as given), and what this one notes.
    struct Recording {
        earlier: HashMap<u64, super::super::Earlier>,
        noted: Noted,
    }

    impl super::super::Written for Recording {
        fn load(&self) -> HashMap<u64, super::super::Earlier> {
            self.earlier.clone()
        }
        /// All but an error event followed by another.
        fn notes(&self, request: &Post, next: Option<&Post>) -> bool {
            request.path != wire::ERRORS || next.is_none()
        }
        fn note(&self, written: &[(u64, u32)]) {
            self.noted.lock().unwrap().extend_from_slice(written);
        }
    }

    /// A worker of a run that does not wait, after runs that wrote `earlier` (hash: withheld,
    /// times), with a pipelining backend that answers nothing; what it posts, what it notes.
    fn not_waiting(earlier: &[(&Post, bool, u32)]) -> (Worker, Posted, Noted) {
        let noted = Arc::new(Mutex::new(Vec::new()));
        let earlier = earlier
            .iter()
            .map(|&(request, withheld, times)| {
                let earlier = super::super::Earlier { withheld, times };
                (request.digest(), earlier)
            })
            .collect();
        let written = Recording {
            earlier,
            noted: Arc::clone(&noted),
        };
        let mut worker = worker_written(Arc::new(Inbox::new()), Some(Box::new(written)));
        let posted = Arc::new(Mutex::new(Vec::new()));
        worker.backend = Some(Box::new(Pipelining {
            all: Vec::new(),
            posted: Arc::clone(&posted),
            meanwhile: None,
        }));
        (worker, posted, noted)
    }

    #[test]
    fn a_run_that_does_not_wait_writes_only_what_earlier_ones_did_not_until_it_reads_an_answer() {
        let (old, new, other) = (
            request(wire::SESSIONS_START),
            request(wire::SESSIONS_END),
            request(wire::ERRORS),
        );
        // No answer comes back (the program ends first).
        let (mut worker, posted, noted) = not_waiting(&[(&old, true, 1)]);
        worker.deliver_ahead(&[&old, &new]);
        assert_eq!(*posted.lock().unwrap(), [(wire::SESSIONS_END, "all")]);
        // Written, its answer not read: noted as it was written.
        assert_eq!(*noted.lock().unwrap(), [(new.digest(), 1)]);
        assert_eq!(worker.deliver_once(&old), Delivery::NotYet);
        assert_eq!(worker.deliver(&old), Delivery::NotYet);
        assert_eq!(posted.lock().unwrap().len(), 1, "withheld, not written");

        // An answer read: this run settles what it writes, and withholds (and notes) nothing.
        assert_eq!(worker.deliver(&other), Delivery::Sent);
        assert_eq!(worker.deliver(&old), Delivery::Sent);
        assert_eq!(
            posted.lock().unwrap()[1..],
            [(wire::ERRORS, "one"), (wire::SESSIONS_START, "one")]
        );
        worker.deliver_ahead(&[&other, &new]);
        assert_eq!(noted.lock().unwrap().len(), 1);
    }

    #[test]
    fn what_is_noted_is_what_the_layer_above_says_with_the_times_each_was_written() {
        let event = |id: &str| Post {
            path: wire::ERRORS,
            body: id.as_bytes().to_vec(),
        };
        let (a, b, c) = (event("a"), event("b"), event("c"));
        // "b" was written three times before, the last long enough ago.
        let (mut worker, posted, noted) = not_waiting(&[(&b, false, 3)]);
        worker.deliver_ahead(&[&a, &b, &c]);
        assert_eq!(posted.lock().unwrap().len(), 3, "all written");
        assert_eq!(*noted.lock().unwrap(), [(c.digest(), 1)], "not a, not b");
        let (mut worker, _, noted) = not_waiting(&[(&b, false, 3)]);
        worker.deliver_ahead(&[&b, &c]);
        worker.deliver_ahead(&[&c, &b]);
        assert_eq!(
            *noted.lock().unwrap(),
            [(c.digest(), 1), (b.digest(), 4)],
            "each with the times it was written"
        );
    }

    #[test]
    fn a_run_that_waits_withholds_nothing() {
        let (mut worker, posted) = pipelining_worker(&[]);
        let (old, new) = (request(wire::SESSIONS_START), request(wire::SESSIONS_END));
        assert!(!worker.withholds(&old));
        worker.deliver_ahead(&[&old, &new]);
        assert_eq!(posted.lock().unwrap().len(), 2);
    }

    #[test]
    fn what_is_to_go_before_events_goes_before_the_next_one_only_and_not_once_called_off() {
        let (mut worker, posted) = pipelining_worker(&[]);
        worker.shared.queued.fetch_add(3, Ordering::Relaxed);
        worker.before_events(Some(Box::new(|worker| {
            worker.deliver(&request(wire::SESSIONS_START));
        })));
        worker.run_job(event(wire::ERRORS));
        worker.run_job(event(wire::ERRORS));
        worker.before_events(Some(Box::new(|worker| {
            worker.deliver(&request(wire::SESSIONS_START));
        })));
        worker.before_events(None);
        worker.run_job(event(wire::ERRORS));
        assert_eq!(
            *posted.lock().unwrap(),
            [
                (wire::SESSIONS_START, "one"),
                (wire::ERRORS, "one"),
                (wire::ERRORS, "one"),
                (wire::ERRORS, "one"),
            ]
        );
    }

    /// What goes before events and is not taken `times` times (it sets itself again), noted
    /// in `posted` as `(SESSIONS_START, "tried")` each time.
    fn owed(times: usize, posted: Posted) -> Task {
        Box::new(move |worker| {
            posted.lock().unwrap().push((wire::SESSIONS_START, "tried"));
            if times > 0 {
                worker.until_taken(owed(times - 1, posted));
            }
        })
    }

    #[test]
    fn an_event_is_not_tried_while_what_goes_before_it_cannot_reach_the_server() {
        let tried = (wire::SESSIONS_START, "tried");
        // Taken at its second try (one backoff, 1 s at most, later): then the event.
        let (mut worker, posted) = pipelining_worker(&[]);
        worker.shared.queued.fetch_add(1, Ordering::Relaxed);
        worker.until_taken(owed(1, Arc::clone(&posted)));
        worker.run_job(event(wire::ERRORS));
        assert_eq!(
            *posted.lock().unwrap(),
            [tried, tried, (wire::ERRORS, "one")]
        );
        // Not taken, but the server answered it (a 5xx): the event is tried.
        let (mut worker, posted) = pipelining_worker(&[]);
        worker.shared.queued.fetch_add(1, Ordering::Relaxed);
        worker.until_taken(owed(usize::MAX, Arc::clone(&posted)));
        worker.reached = true;
        worker.run_job(event(wire::ERRORS));
        assert_eq!(*posted.lock().unwrap(), [tried, (wire::ERRORS, "one")]);
        // Never taken, the session ending (no wait): the event is not sent, but kept.
        let (mut worker, posted) = pipelining_worker(&[]);
        worker.shared.queued.fetch_add(1, Ordering::Relaxed);
        worker.until_taken(owed(usize::MAX, Arc::clone(&posted)));
        *worker.shared.deadline.lock().unwrap() = Some(Instant::now() + Duration::from_secs(1));
        assert_eq!(
            worker.deliver_event(request(wire::ERRORS)),
            Delivery::NotYet
        );
        assert_eq!(*posted.lock().unwrap(), [tried]);
    }

    #[test]
    fn trying_once_a_request_is_tried_once_and_an_event_kept_is_noted_for_the_heartbeat() {
        let posts = Arc::new(AtomicUsize::new(0));
        let mut worker = worker(Arc::new(Inbox::new()));
        worker.backend = Some(Box::new(Answering(503, Arc::clone(&posts))));
        let delivery = worker.trying_once(|worker| worker.deliver(&request(wire::ERRORS)));
        assert_eq!(
            (delivery, posts.load(Ordering::Relaxed)),
            (Delivery::NotYet, 1)
        );
        assert!(!worker.take_kept_here());
        // The session ending: no backoff past its deadline.
        *worker.shared.deadline.lock().unwrap() = Some(Instant::now() + Duration::from_millis(500));
        worker.shared.queued.fetch_add(1, Ordering::Relaxed);
        assert_eq!(
            worker.deliver_event(request(wire::ERRORS)),
            Delivery::NotYet
        );
        assert!(worker.take_kept_here(), "kept, for the next heartbeat");
        assert!(!worker.take_kept_here(), "once");
        // That heartbeat left some: the next waits a minute; one that left none, not at all.
        worker.left_for_later();
        worker.kept_tried();
        assert!(!worker.take_kept_here(), "backing off");
        worker.kept_next = None;
        assert!(worker.take_kept_here());
        worker.kept_tried();
        worker.left_for_later();
        assert!(worker.take_kept_here(), "all went the last time: no wait");
    }

    #[test]
    fn what_a_heartbeat_tries_again_gives_way_to_the_sessions_end() {
        let (mut worker, posted) = pipelining_worker(&[202, 202]);
        *worker.shared.deadline.lock().unwrap() = Some(Instant::now() + Duration::from_secs(60));
        let (one, two) = (request(wire::SESSIONS_START), request(wire::SESSIONS_END));
        let tried = worker.trying_once(|worker| {
            let pipelined = worker.post_in_order(&[&one, &two]);
            (worker.deliver(&one), pipelined.len())
        });
        assert_eq!(tried, (Delivery::NotYet, 0));
        assert!(posted.lock().unwrap().is_empty(), "nothing posted");
        // The end's own work, within its deadline, is not held back.
        assert_eq!(worker.post_in_order(&[&one, &two]).len(), 2);
        assert_eq!(worker.deliver(&one), Delivery::Sent);
        assert_eq!(posted.lock().unwrap().len(), 3);
    }

    #[test]
    fn work_while_answered_is_done_by_the_first_pipelined_post_only() {
        let (mut worker, posted) = pipelining_worker(&[202, 202, 202, 202]);
        let (start, end) = (request(wire::SESSIONS_START), request(wire::SESSIONS_END));
        let done = Arc::new(AtomicUsize::new(0));
        let work = |done: &Arc<AtomicUsize>| -> Meanwhile {
            let done = Arc::clone(done);
            Box::new(move || {
                done.fetch_add(1, Ordering::Relaxed);
            })
        };
        // Done while the two are answered, once.
        let delivered = worker.while_answered(work(&done), |worker| {
            let pair = worker.deliver_after(&start, &end);
            (pair, done.load(Ordering::Relaxed))
        });
        assert_eq!(delivered, ((Delivery::Sent, Some(Delivery::Sent)), 1));
        // Nothing pipelined: not done, and not by a later post either.
        worker.while_answered(work(&done), |worker| worker.deliver(&start));
        worker.deliver_after(&start, &end);
        assert_eq!(done.load(Ordering::Relaxed), 1);
        assert_eq!(posted.lock().unwrap().len(), 5);
    }

    #[test]
    fn a_start_and_its_end_taken_together_cost_one_post() {
        let (mut worker, posted) = pipelining_worker(&[202, 202]);
        let (start, end) = (request(wire::SESSIONS_START), request(wire::SESSIONS_END));
        let delivered = worker.deliver_after(&start, &end);
        assert_eq!(delivered, (Delivery::Sent, Some(Delivery::Sent)));
        assert_eq!(
            *posted.lock().unwrap(),
            [(wire::SESSIONS_START, "all"), (wire::SESSIONS_END, "all")]
        );
    }

    #[test]
    fn an_end_taken_before_its_start_was_is_sent_again_after_it() {
        // The start answered "try again", its end taken: the server had the end first, so once
        // the start is taken, the end goes again (the same request).
        let (mut worker, posted) = pipelining_worker(&[503, 202]);
        let (start, end) = (request(wire::SESSIONS_START), request(wire::SESSIONS_END));
        let delivered = worker.deliver_after(&start, &end);
        assert_eq!(delivered, (Delivery::Sent, Some(Delivery::Sent)));
        assert_eq!(
            *posted.lock().unwrap(),
            [
                (wire::SESSIONS_START, "all"),
                (wire::SESSIONS_END, "all"),
                (wire::SESSIONS_START, "one"),
                (wire::SESSIONS_END, "one"),
            ]
        );
    }

    #[test]
    fn what_was_posted_ahead_is_taken_in_order_as_each_ones_first_attempt() {
        let (mut worker, posted) = pipelining_worker(&[202, 503, 202]);
        let requests = [request("/a"), request("/b"), request("/c")];
        worker.deliver_ahead(&requests.iter().collect::<Vec<_>>());
        assert_eq!(worker.deliver(&requests[0]), Delivery::Sent);
        // Answered "try again": posted once more, alone.
        assert_eq!(worker.deliver(&requests[1]), Delivery::Sent);
        assert_eq!(worker.taken_ahead(&requests[2]), Some(Delivery::Sent));
        assert_eq!(
            *posted.lock().unwrap(),
            [("/a", "all"), ("/b", "all"), ("/c", "all"), ("/b", "one")]
        );
    }

    #[test]
    fn the_heartbeat_is_due_every_interval_whenever_it_is_checked() {
        let every = Duration::from_secs(30);
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut schedule = Schedule::new(every, start);
        assert_eq!(schedule.wait(start), every);
        // Checked after each job of a worker busy every 4 s: due at 32 s, then at 64 s.
        let due: Vec<u64> = (1..=20)
            .map(|job| job * 4)
            .filter(|&secs| schedule.due(at(secs)))
            .collect();
        assert_eq!(due, [32, 64]);
        assert_eq!(schedule.wait(at(80)), Duration::from_secs(14));
        // Checked late (a long job): due once, not once per interval missed.
        assert!(schedule.due(at(200)));
        assert!(!schedule.due(at(201)));
        assert_eq!(schedule.wait(at(300)), Duration::ZERO);
    }

    #[test]
    fn what_waits_for_the_server_is_tried_at_the_heartbeat_and_what_waits_for_events_is_not() {
        let (mut worker, posted) = pipelining_worker(&[]);
        let inbox = Arc::new(Inbox::new());
        worker.inbox = Arc::clone(&inbox);
        let start = |worker: &mut Worker| {
            worker.deliver(&request(wire::SESSIONS_START));
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = |seen: &Arc<Mutex<Vec<usize>>>, posted: &Posted| -> Job {
            let (seen, posted) = (Arc::clone(seen), Arc::clone(posted));
            Job::Task(Box::new(move |_| {
                seen.lock().unwrap().push(posted.lock().unwrap().len());
            }))
        };
        inbox.push(Job::Task(Box::new(move |worker| {
            worker.until_taken(Box::new(start));
        })));
        inbox.push(count(&seen, &posted));
        // Once: it is not set again.
        inbox.push(count(&seen, &posted));
        inbox.push(Job::Task(Box::new(move |worker| {
            worker.before_events(Some(Box::new(start)));
        })));
        inbox.push(count(&seen, &posted));
        inbox.close();
        // Due at once, after every job.
        worker.run_beating_every(Duration::ZERO, Box::new(|_| {}));
        assert_eq!(*seen.lock().unwrap(), [1, 1, 1]);
    }

    #[test]
    fn the_heartbeat_runs_between_jobs_when_the_worker_is_never_idle() {
        let beats = Arc::new(AtomicUsize::new(0));
        let seen_by_jobs = Arc::new(Mutex::new(Vec::new()));
        let inbox = Arc::new(Inbox::new());
        for _ in 0..3 {
            let (beats, seen) = (Arc::clone(&beats), Arc::clone(&seen_by_jobs));
            inbox.push(Job::Task(Box::new(move |_| {
                seen.lock().unwrap().push(beats.load(Ordering::Relaxed));
            })));
        }
        inbox.close();
        let counted = Arc::clone(&beats);
        // Due at once, every time: the inbox is never empty until it closes.
        worker(inbox).run_beating_every(
            Duration::ZERO,
            Box::new(move |_| {
                counted.fetch_add(1, Ordering::Relaxed);
            }),
        );
        assert_eq!(*seen_by_jobs.lock().unwrap(), [0, 1, 2]);
    }
}
