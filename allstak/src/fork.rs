//! A process forked from one with a session, without `exec`, is not that session: the session
//! and its transport are the parent's (the transport's thread does not exist in the child, and
//! a lock some other thread of the parent held at the fork stays held in the child forever).
//! The child sends nothing and ends nothing: its error events are dropped and counted, with
//! one debug line, and its exit never waits. A child that `exec`s a program with the SDK has a
//! session of its own.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static IN_CHILD: AtomicBool = AtomicBool::new(false);
/// Error events the child reported, dropped.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Whether this process is a forked child of the one that set the SDK up: one relaxed load.
#[inline]
pub(crate) fn is_child() -> bool {
    IN_CHILD.load(Ordering::Relaxed)
}

/// Has [`is_child`] say so in every child forked from now on.
pub(crate) fn watch() {
    #[cfg(unix)]
    {
        static WATCHING: std::sync::Once = std::sync::Once::new();
        WATCHING.call_once(|| {
            // Runs in the child, right after the fork, on its only thread: async-signal-safe
            // work only (an atomic store).
            unsafe extern "C" fn in_child() {
                IN_CHILD.store(true, Ordering::Relaxed);
            }
            // SAFETY: registers a plain `extern "C" fn` that never unwinds.
            let registered = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if registered != 0 {
                crate::diag::debug!("could not watch for fork(); a forked child may send");
            }
        });
    }
}

/// An error event the child reported: dropped, counted, and said once.
pub(crate) fn drop_event() {
    if DROPPED.fetch_add(1, Ordering::Relaxed) == 0 {
        crate::diag::debug!(
            "this process was forked from the one with the session: its errors are not sent"
        );
    }
}

/// How many error events the child dropped.
pub(crate) fn dropped_event_count() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}
