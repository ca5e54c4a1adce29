//! The session's ending, and what the process does at exit: the end is sent after everything
//! queued before it, the exit waits for what was reported after it, and neither ever holds the
//! process past the exit deadline, whatever the server does.
//!
//! The ways a session ends: `main` returns or its guard drops (`end`), a panic unwinds out of
//! `main` or `main` returns `Err` (`end_crashed`), a panic under `panic = "abort"`
//! (`end_after_fatal_panic`), the program's own `end_session`/`Guard::end_with` (an explicit
//! status), a signal (`end`, from the signal thread), and the process's exit (`at_exit`, from
//! the `atexit` hook). Any two may race; the first ends it, the others wait for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Client, current};
use crate::SessionStatus;
use crate::event::PanicRecord;
use crate::event::{ErrorEvent, Level};
use crate::fork;
use crate::session::EndedSession;
use crate::transport;

/// How long an ending program waits for its end to be sent before it also writes the end into
/// the state file (so that a kill during a long wait does not make it `abnormal`).
const KEEP_END_AFTER: Duration = Duration::from_millis(10);

/// How the session's end went, for what the process does at exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EndSent {
    /// The exit deadline it was sent under.
    pub(super) deadline: Instant,
    /// Whether the worker was done with it before the deadline (sent, refused, or not
    /// reachable); a server that takes the connection and never answers keeps it past.
    pub(super) settled: bool,
    /// Ended by the program (`end_session`, `Guard::end_with`), which may run on after it;
    /// otherwise by `main` returning, the guard's drop, a signal or the exit itself.
    pub(super) by_the_program: bool,
}

/// Set once the thread that ended the session is done sending the end.
pub(super) struct Ending {
    sent: Mutex<Option<EndSent>>,
    changed: Condvar,
}

impl Ending {
    pub(super) fn new() -> Self {
        Self {
            sent: Mutex::new(None),
            changed: Condvar::new(),
        }
    }

    fn settle(&self, end: EndSent) {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner) = Some(end);
        self.changed.notify_all();
    }

    /// How the end went, once its sending is over.
    fn sent(&self) -> Option<EndSent> {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for another thread's end to settle, at most `bound`.
    fn wait(&self, bound: Duration) {
        let sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .changed
            .wait_timeout_while(sent, bound, |sent| sent.is_none());
    }
}

/// The process exits after its session ended, with errors reported since still queued: until
/// when they may be sent, within one exit deadline for the whole ending. `None`: do not wait.
/// - Ended by the program (`end_session`, `Guard::end_with`): that call had its own wait; the
///   exit is the program's next step, with a fresh exit deadline.
/// - Ended by `main` returning, the guard's drop or a signal: the exit is the same ending, and
///   has what is left of the end's deadline.
/// - The worker was not done with the end in time (the server is not answering): waiting again
///   would hold the exit for nothing.
pub(super) fn exit_deadline_after(
    end: EndSent,
    now: Instant,
    exit_deadline: Duration,
) -> Option<Instant> {
    if !end.settled {
        return None;
    }
    let deadline = if end.by_the_program {
        now + exit_deadline
    } else {
        end.deadline
    };
    (deadline > now).then_some(deadline)
}

impl Client {
    /// Ends the session with the status reached so far (or `final_status`), sending whatever
    /// is queued first; returns within the exit deadline whatever the server does: whether the
    /// end got through in time.
    pub(super) fn end(&'static self, final_status: Option<SessionStatus>) -> bool {
        self.end_at(final_status, Instant::now())
    }

    pub(super) fn end_at(&'static self, final_status: Option<SessionStatus>, now: Instant) -> bool {
        if fork::is_child() {
            return true; // the parent's session: the parent ends it
        }
        // Panics on main's thread that main survived were caught: handled, sent before the end.
        self.send_caught_panics();
        let Some(ended) = self.tracker.end(final_status, now) else {
            self.wait_for_the_end_in_flight();
            return false;
        };
        crate::diag::debug!("session {} ended: {}", ended.id, ended.status);
        let deadline = Instant::now() + self.config.exit_deadline;
        let settled = self.send_end(ended, deadline);
        // The process is ending (not the program ending its session and going on). While a
        // panic unwinds, `before_send` must not run: the exit hook, after it, keeps them.
        if !settled && final_status.is_none() && !std::thread::panicking() {
            self.keep_what_is_left();
        }
        self.ending.settle(EndSent {
            deadline,
            settled,
            by_the_program: final_status.is_some(),
        });
        settled
    }

    /// Another thread is ending the session (main returning while a signal or `exit` arrives):
    /// the process must not die under it, so wait for it, never longer than the exit deadline.
    fn wait_for_the_end_in_flight(&self) {
        if self.tracker.has_ended() {
            self.ending.wait(self.config.exit_deadline);
        }
    }

    /// Sends the session's end after everything queued before it, waiting until `deadline` at
    /// most. Returns whether the worker got through it in time.
    pub(super) fn send_end(&self, ended: EndedSession, deadline: Instant) -> bool {
        let (Some(transport), Some(file)) = (self.transport(), self.file()) else {
            return true;
        };
        // A deadline of 0 waits for nothing, so it stops nothing either: the worker goes on as
        // it would (a program that ended its session and runs on still sends the end), and what
        // it has not sent when the process dies is kept below and at exit.
        if !self.config.exit_deadline.is_zero() {
            transport.set_deadline(deadline);
        }
        // Ended by a signal, which may come again at once (a terminal's Ctrl-C, then a wrapper
        // passing it on): the end is on disk before it is sent, so that one that kills the
        // process meanwhile leaves it for the next run, as it was, not `abnormal`.
        let by_a_signal = crate::signals::ending();
        let keep = || {
            file.keep_end_unless_busy(&ended, || {
                crate::prepare::session_start(ended.id, &self.config)
            });
        };
        if by_a_signal {
            keep();
        }
        let (done, wait) = transport::signal();
        let worker_file = Arc::clone(file);
        let spool = self.spool().cloned();
        let queued = transport.run_final(Box::new(move |worker| {
            // A start held back for the end goes with it (`send_end`), not before an event.
            worker.before_events(None);
            // After the start, if that has not gone out yet; never without it.
            match worker_file.take_the_rest_left().zip(spool) {
                None => worker_file.send_end(&ended, worker),
                // The start was held back until now, or what earlier runs left was deferred
                // (the server could not be reached): it goes after this run's start and end,
                // within the same deadline, if a look while their answers are on their way
                // finds any.
                Some((recovered, spool)) => {
                    let left = Arc::new(AtomicBool::new(true));
                    let look = {
                        let (left, file, spool) = (
                            Arc::clone(&left),
                            Arc::clone(&worker_file),
                            Arc::clone(&spool),
                        );
                        Box::new(move || {
                            let found = spool.anything_kept() || file.sessions_left();
                            left.store(found, Ordering::Relaxed);
                        })
                    };
                    worker.while_answered(look, |worker| worker_file.send_end(&ended, worker));
                    // Only for a server that answered: where it did not (down, or far), what
                    // earlier runs left waits for a run it does, within its bound.
                    if left.load(Ordering::Relaxed) {
                        if worker.has_read_an_answer() {
                            super::deliver_the_rest_left(worker, &worker_file, &spool, recovered);
                        } else {
                            worker_file.keep_within_the_bound();
                        }
                    }
                }
            }
            worker.ended_by(deadline);
            done.raise();
        }));
        // A server that answers at once leaves nothing to write.
        if queued && wait.raised_by(deadline.min(Instant::now() + KEEP_END_AFTER)) {
            return true;
        }
        // Not yet: if the process dies or exits before the worker is done, the next run sends
        // this end as it was, not as `abnormal`. (The worker removes it once the end is sent.)
        if !by_a_signal {
            keep();
        }
        queued && transport::done_by_deadline(&wait, deadline)
    }

    /// The process will not wait for the worker any longer: the error events it has not
    /// delivered are kept for the next run. Never unwinds (it runs at exit, or while a panic
    /// unwinds out of `main`).
    fn keep_what_is_left(&self) {
        if let Some(transport) = self.transport()
            && transport.has_pending_events()
        {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                transport.keep_what_is_left();
            }));
        }
    }

    /// The process is dying of a panic that unwound out of `main` (or the session's guard), or
    /// of `main`'s `Err` (`error`): crash, send the fatal event, end.
    pub(super) fn end_crashed(&'static self, error: Option<ErrorEvent>) -> bool {
        if fork::is_child() {
            return true; // the parent's session: the parent ends it
        }
        self.tracker.record_crash();
        let crash = match error {
            // `main` returned `Err`: every panic before it was caught.
            Some(error) => {
                self.send_caught_panics();
                Some((error, super::mark()))
            }
            None => {
                let (caught, crash) = self.panics.take_the_crash();
                for (record, mark) in caught {
                    self.send_event_as_of(record.into_event(false), mark);
                }
                crash.map(|(record, mark)| (record.into_event(true), mark))
            }
        };
        if let Some((mut event, mark)) = crash {
            event.level = Level::Fatal;
            event.handled = false;
            self.send_event_as_of(event, mark);
        }
        self.end(None)
    }

    /// Under `panic = "abort"` the hook is the last code that runs: send the crash and the end,
    /// and keep what the worker has not delivered (no `atexit` hook runs after an abort).
    pub(super) fn end_after_fatal_panic(&'static self, record: PanicRecord) {
        if self.session_active() {
            // A panic in `before_send` itself: the crash cannot go through the hook that keeps
            // secrets out of events (it would panic again), so only the end tells of it.
            if !crate::before_send::is_running() {
                self.send_event(record.into_event(true));
            }
            if !self.end(None) {
                // `before_send` ran on the threads that queued them (see `send_event_as_of`):
                // keeping builds no event through it.
                self.keep_what_is_left();
            }
        }
    }

    /// Waits until every queued event was sent, at most `timeout`.
    pub(super) fn flush(&'static self, timeout: Duration) -> bool {
        if fork::is_child() {
            // Nothing is sent from a forked child: all went out only if nothing was reported.
            return fork::dropped_event_count() == 0;
        }
        self.send_caught_panics_if_past_them();
        self.transport()
            // A day at most: no `Instant` overflows, whatever the caller asked.
            .is_none_or(|transport| {
                transport.flush(Instant::now() + timeout.min(Duration::from_secs(86_400)))
            })
    }

    /// The process exits: end the session if it is still open, then send what was reported
    /// after an earlier end, as [`exit_deadline_after`] allows.
    pub(super) fn exit(&'static self) {
        let ended_earlier = self.ending.sent();
        self.end(None);
        if let (Some(end), Some(transport)) = (ended_earlier, self.transport())
            && transport.has_pending_events()
            && !transport.is_ending()
            && let Some(deadline) =
                exit_deadline_after(end, Instant::now(), self.config.exit_deadline)
        {
            transport.set_deadline(deadline);
            transport.flush(deadline);
        }
        self.keep_what_is_left();
    }
}

/// From the `atexit` hook: the process's client ends its session (`std::process::exit`, or
/// after `main`), keeping the status reached so far.
pub(crate) fn at_exit() {
    if fork::is_child() {
        return; // the parent's session, and locks the child must not touch
    }
    if let Some(client) = current() {
        client.exit();
    }
}
