//! Panics on the session's own thread, waiting for the verdict: caught somewhere inside `main`
//! (`catch_unwind`, a current-thread runtime's task), or unwinding out of it (the crash).
//! Nothing runs when a panic is caught, so a panic is taken as caught when the session thread
//! next reports, flushes, panics again or ends normally, or once it is [`CAUGHT_AFTER`] old
//! (unwinding out of `main` takes far less), unless `main`'s guard took it as the crash first.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::breadcrumbs::Mark;
use crate::event::PanicRecord;

/// A panic, and the trail's mark when it happened (its event carries the breadcrumbs as of
/// then).
pub(super) type Held = (PanicRecord, Mark);

/// How long a panic may unwind before it is taken as caught.
pub(super) const CAUGHT_AFTER: Duration = Duration::from_millis(250);

struct Undecided {
    record: PanicRecord,
    mark: Mark,
    /// When the panic hook was done with it and it started to unwind (`None` while the hooks,
    /// ours and the program's, still run: a backtrace printed there can take long).
    unwinding_since: Option<Instant>,
}

impl Undecided {
    fn into_held(self) -> Held {
        (self.record, self.mark)
    }
}

#[derive(Default)]
struct State {
    undecided: Vec<Undecided>,
    /// The latest one, if taken as caught by its age: should it unwind out of `main` after
    /// all (a slow unwind), it is still the crash.
    latest_caught: Option<Held>,
}

pub(super) struct Panics(Mutex<State>);

impl Panics {
    pub(super) fn new() -> Self {
        Self(Mutex::new(State::default()))
    }

    /// Holds a new panic; the ones before it were caught (a panic cannot unwind past another).
    /// `false` if it could not be held (the lock is this thread's: a panic inside our own
    /// section), and was dropped.
    pub(super) fn hold(&self, record: PanicRecord, mark: Mark) -> bool {
        let Ok(mut state) = self.0.try_lock() else {
            return false;
        };
        state.latest_caught = None;
        state.undecided.push(Undecided {
            record,
            mark,
            unwinding_since: None,
        });
        true
    }

    /// The panic hook is done with the latest panic: it unwinds from `now`. `false` if there
    /// is none waiting for that.
    pub(super) fn unwinding(&self, now: Instant) -> bool {
        let Ok(mut state) = self.0.try_lock() else {
            return false;
        };
        match state.undecided.last_mut() {
            Some(latest) if latest.unwinding_since.is_none() => {
                latest.unwinding_since = Some(now);
                true
            }
            _ => false,
        }
    }

    /// The panics held for at least `age`: caught.
    pub(super) fn take_older_than(&self, age: Duration) -> Vec<Held> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let old = state
            .undecided
            .iter()
            .take_while(|held| {
                held.unwinding_since
                    .is_some_and(|since| now.saturating_duration_since(since) >= age)
            })
            .count();
        let taken: Vec<_> = state
            .undecided
            .drain(..old)
            .map(Undecided::into_held)
            .collect();
        if let Some((record, mark)) = taken.last()
            && state.undecided.is_empty()
        {
            state.latest_caught = Some((record.clone(), mark.clone()));
        }
        taken
    }

    /// Every panic held: caught.
    pub(super) fn take_all(&self) -> Vec<Held> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.latest_caught = None;
        state
            .undecided
            .drain(..)
            .map(Undecided::into_held)
            .collect()
    }

    /// `main` is unwinding: the latest panic is the crash, those before it were caught.
    pub(super) fn take_the_crash(&self) -> (Vec<Held>, Option<Held>) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let latest_caught = state.latest_caught.take();
        let mut caught: Vec<_> = state
            .undecided
            .drain(..)
            .map(Undecided::into_held)
            .collect();
        let crash = caught.pop().or(latest_caught);
        (caught, crash)
    }
}
