//! The worker's inbox and the signal its callers wait on: a lock and a condition variable
//! each, where std's channels would instantiate all three of their flavours (list, array,
//! rendezvous) for every message type, some 15 kB of machine code per channel in the program.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Jobs in order, pushed from any thread, taken by one.
pub(super) struct Inbox<T> {
    state: Mutex<InboxState<T>>,
    ready: Condvar,
}

struct InboxState<T> {
    jobs: VecDeque<T>,
    /// The taker is waiting: only then does a push pay for a wake.
    waiting: bool,
    closed: bool,
}

/// What [`Inbox::take`] found.
pub(super) enum Taken<T> {
    Job(T),
    /// Nothing came within the timeout.
    Idle,
    /// Closed, and every job before the close taken.
    Closed,
}

impl<T> Inbox<T> {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(InboxState {
                jobs: VecDeque::new(),
                waiting: false,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, InboxState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` behind the others; `false` (the job dropped) once closed.
    pub(super) fn push(&self, job: T) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.jobs.push_back(job);
        let wake = state.waiting;
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        true
    }

    /// No more jobs: the taker gets what was queued before, then [`Taken::Closed`].
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The taker is gone: pushes are refused from now on, and what was queued is dropped.
    pub(super) fn abandon(&self) {
        let mut state = self.lock();
        state.closed = true;
        let jobs = std::mem::take(&mut state.jobs);
        drop(state);
        drop(jobs);
    }

    /// Takes out the jobs `wanted` picks, in order, leaving the others queued.
    pub(super) fn take_where(&self, wanted: impl Fn(&T) -> bool) -> Vec<T> {
        let mut state = self.lock();
        let mut taken = Vec::new();
        for job in std::mem::take(&mut state.jobs) {
            if wanted(&job) {
                taken.push(job);
            } else {
                state.jobs.push_back(job);
            }
        }
        taken
    }

    /// The next job, waiting for one up to `timeout`.
    pub(super) fn take(&self, timeout: Duration) -> Taken<T> {
        let mut state = self.wait_for_job(Instant::now() + timeout);
        match state.jobs.pop_front() {
            Some(job) => Taken::Job(job),
            None if state.closed => Taken::Closed,
            None => Taken::Idle,
        }
    }

    /// Waits until a job is queued, the inbox closes, or `until`; takes nothing.
    pub(super) fn wait_until_queued(&self, until: Instant) {
        drop(self.wait_for_job(until));
    }

    /// The state once a job is queued, the inbox closed, or `until` passed.
    fn wait_for_job(&self, until: Instant) -> MutexGuard<'_, InboxState<T>> {
        let mut state = self.lock();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if !state.jobs.is_empty() || state.closed || left.is_zero() {
                return state;
            }
            state.waiting = true;
            state = match self.ready.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
            state.waiting = false;
        }
    }
}

/// A job someone waits for: the worker raises [`Done`] when it is through; [`Wait`] says whether
/// that happened before a bound. A job dropped unraised (the worker gone) ends the wait at once.
pub(crate) fn signal() -> (Done, Wait) {
    let shared = Arc::new(SignalState {
        raised: Mutex::new(None),
        changed: Condvar::new(),
    });
    (Done(Arc::clone(&shared)), Wait(shared))
}

struct SignalState {
    /// `None` while the job is pending; then whether it was raised.
    raised: Mutex<Option<bool>>,
    changed: Condvar,
}

/// The worker's end of a [`signal`].
pub(crate) struct Done(Arc<SignalState>);

/// The waiting end of a [`signal`].
pub(crate) struct Wait(Arc<SignalState>);

impl Done {
    pub(crate) fn raise(self) {
        self.finish(true);
    }

    fn finish(&self, raised: bool) {
        let mut state = self.0.raised.lock().unwrap_or_else(PoisonError::into_inner);
        if state.is_none() {
            *state = Some(raised);
            // Woken after the lock is let go: the waiter takes it at once, instead of waking
            // to find it held and waiting on it again.
            drop(state);
            self.0.changed.notify_all();
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        self.finish(false);
    }
}

impl Wait {
    /// Whether the job was done before `until`.
    pub(crate) fn raised_by(&self, until: Instant) -> bool {
        let mut state = self.0.raised.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(raised) = *state {
                return raised;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.0.changed.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn jobs_come_out_in_order_then_closed_after_the_last() {
        let inbox = Inbox::new();
        for job in 1..=3 {
            assert!(inbox.push(job));
        }
        inbox.close();
        assert!(!inbox.push(4), "a push after the close is refused");
        let taken: Vec<_> = std::iter::from_fn(|| match inbox.take(LONG) {
            Taken::Job(job) => Some(job),
            Taken::Idle | Taken::Closed => None,
        })
        .collect();
        assert_eq!(taken, [1, 2, 3]);
        assert!(matches!(inbox.take(LONG), Taken::Closed));
    }

    #[test]
    fn jobs_taken_out_leave_the_others_queued_in_order() {
        let inbox = Inbox::new();
        for job in 1..=6 {
            inbox.push(job);
        }
        assert_eq!(inbox.take_where(|job| job % 2 == 0), [2, 4, 6]);
        inbox.close();
        let left: Vec<_> = std::iter::from_fn(|| match inbox.take(LONG) {
            Taken::Job(job) => Some(job),
            Taken::Idle | Taken::Closed => None,
        })
        .collect();
        assert_eq!(left, [1, 3, 5]);
    }

    #[test]
    fn an_empty_inbox_is_idle_after_the_timeout() {
        let inbox = Inbox::<u32>::new();
        let start = Instant::now();
        assert!(matches!(inbox.take(Duration::from_millis(50)), Taken::Idle));
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_waiting_taker_is_woken_by_a_push_and_by_the_close() {
        let inbox = Arc::new(Inbox::new());
        let taker = {
            let inbox = Arc::clone(&inbox);
            thread::spawn(move || {
                let first = matches!(inbox.take(LONG), Taken::Job(7));
                let then = matches!(inbox.take(LONG), Taken::Closed);
                (first, then)
            })
        };
        // Whether the taker is already waiting or not, it gets the job, then the close.
        assert!(inbox.push(7));
        inbox.close();
        assert_eq!(taker.join().ok(), Some((true, true)));
    }

    #[test]
    fn abandoned_jobs_are_dropped_and_later_pushes_refused() {
        let inbox = Inbox::new();
        let (done, wait) = signal();
        assert!(inbox.push(done));
        inbox.abandon();
        assert!(
            !wait.raised_by(Instant::now() + LONG),
            "the dropped job ends the wait, unraised"
        );
        assert!(!inbox.push(signal().0));
        assert!(matches!(inbox.take(LONG), Taken::Closed));
    }

    #[test]
    fn a_signal_is_seen_whether_raised_before_or_during_the_wait() {
        let (done, wait) = signal();
        done.raise();
        assert!(wait.raised_by(Instant::now()));

        let (done, wait) = signal();
        let raiser = thread::spawn(move || done.raise());
        assert!(wait.raised_by(Instant::now() + LONG));
        assert!(raiser.join().is_ok());
    }

    #[test]
    fn a_signal_never_raised_gives_up_at_its_bound() {
        let (_done, wait) = signal();
        let until = Instant::now() + Duration::from_millis(50);
        assert!(!wait.raised_by(until));
        assert!(Instant::now() >= until);
    }
}
