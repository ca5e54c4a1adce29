//! Which threads are the SDK's own: the transport and signal threads, and the SDK's calls into
//! user code (a `Display` or `source()` impl) on any thread. A panic there is ours, not the
//! program's: the panic hook neither records nor prints it.

use std::cell::Cell;

thread_local! {
    static SDK_THREAD: Cell<bool> = const { Cell::new(false) };
    /// Set for the whole life of a thread the SDK spawned (not inside [`quietly`]).
    static OWN_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as the SDK's own for the rest of its life.
pub(crate) fn mark() {
    SDK_THREAD.with(|flag| flag.set(true));
    OWN_THREAD.with(|flag| flag.set(true));
}

/// Runs the SDK's HTTP client: what it records (`ureq`, `rustls`, `hyper`; `log` records too,
/// through `tracing-log`) goes to no tracing subscriber, however the program built its own (a
/// layer of ours behind a per-layer filter is not asked `event_enabled`, and would let them
/// through to the program's `fmt`). Only while it runs, and only once the program set a
/// subscriber up: a default set on a thread changes how `tracing` dispatches everywhere (its
/// fallback to `log` stops for good).
pub(crate) fn without_tracing<T>(run: impl FnOnce() -> T) -> T {
    #[cfg(feature = "tracing")]
    if tracing_core::dispatcher::has_been_set() {
        return tracing_core::dispatcher::with_default(&tracing_core::Dispatch::none(), run);
    }
    run()
}

/// Whether the current thread is one the SDK spawned: whatever is logged on it (its HTTP
/// client's `ureq`, `rustls`, `hyper` records) is the SDK's, never the program's.
pub(crate) fn is_own_thread() -> bool {
    OWN_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// Spawns a thread of the SDK's: marked as its own, and with every signal blocked that the
/// kernel may hand to any thread of the process (SIGTERM, SIGINT, SIGCHLD…), so that they reach
/// the program's threads as they would without the SDK: a program that blocks SIGTERM and reads
/// it from a `signalfd` or `sigwait` still gets it. The mask is set before the thread exists
/// (a thread inherits its creator's), so no signal can land in between.
pub(crate) fn spawn(
    name: &str,
    run: impl FnOnce() + Send + 'static,
) -> std::io::Result<std::thread::Thread> {
    let _blocked = signals::BlockedWhileSpawning::new();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            mark();
            run();
        })
        .map(|handle| handle.thread().clone())
}

#[cfg(unix)]
mod signals {
    /// Blocks every asynchronous signal on the current thread until dropped, then restores its
    /// mask. Faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: they are
    /// the thread's own, and a blocked fault kills the process anyway.
    pub(super) struct BlockedWhileSpawning(Option<libc::sigset_t>);

    impl BlockedWhileSpawning {
        pub(super) fn new() -> Self {
            // SAFETY: `sigset_t`s are plain data filled by libc's set functions; the mask is
            // this thread's own, restored on drop.
            unsafe {
                let mut all: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&raw mut all);
                for fault in [
                    libc::SIGSEGV,
                    libc::SIGBUS,
                    libc::SIGFPE,
                    libc::SIGILL,
                    libc::SIGTRAP,
                    libc::SIGSYS,
                ] {
                    libc::sigdelset(&raw mut all, fault);
                }
                let mut previous: libc::sigset_t = std::mem::zeroed();
                let blocked =
                    libc::pthread_sigmask(libc::SIG_BLOCK, &raw const all, &raw mut previous);
                Self((blocked == 0).then_some(previous))
            }
        }
    }

    impl Drop for BlockedWhileSpawning {
        fn drop(&mut self) {
            if let Some(previous) = &self.0 {
                // SAFETY: restores the mask `pthread_sigmask` gave us.
                unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut()) };
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) struct BlockedWhileSpawning;

    impl BlockedWhileSpawning {
        pub(super) fn new() -> Self {
            Self
        }
    }
}

/// Whether the current thread is running SDK code (a marked thread, or inside [`quietly`]).
pub(crate) fn is_current() -> bool {
    SDK_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// Runs user code the SDK calls on the user's thread so that a panic in it stays inside the
/// SDK: caught, and not printed by our hook. `None` if it panicked.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = SDK_THREAD
        .try_with(|flag| flag.replace(true))
        .unwrap_or(false);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    let _ = SDK_THREAD.try_with(|flag| flag.set(was));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quietly_contains_a_panic_and_restores_the_mark() {
        assert!(!is_current());
        assert_eq!(quietly(|| panic!("a bug in Display")), None::<()>);
        assert!(!is_current());
        assert_eq!(quietly(is_current), Some(true));
        assert_eq!(
            quietly(is_own_thread),
            Some(false),
            "the program's thread stays its own"
        );
    }

    #[test]
    fn a_marked_thread_is_the_sdks_for_its_whole_life() {
        let marked = std::thread::spawn(|| {
            mark();
            (is_current(), is_own_thread())
        });
        assert_eq!(marked.join().ok(), Some((true, true)));
        assert!(!is_own_thread());
    }
}
