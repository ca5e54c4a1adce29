//! Ending the session on SIGTERM and SIGINT: on by default (Unix), off with
//! [`ConfigBuilder::end_on_signals(false)`](crate::ConfigBuilder::end_on_signals),
//! `ALLSTAK_END_ON_SIGNALS=0` or `#[allstak::main(end_on_signals = false)]`.
//!
//! A supervisor stops a server with SIGTERM and a terminal stops a program with Ctrl-C: neither
//! is abnormal. The signal ends the session with the status reached so far (within the exit
//! deadline), and the process then dies of the same signal, as it would have without the SDK
//! (a shell sees exit 143 or 130, `waitpid` a process killed by the signal).
//!
//! The program's own handling stays its own:
//! - a signal it ignores (`SIG_IGN`, as a shell leaves SIGINT for a background job) stays
//!   ignored: no handler is installed for it;
//! - a handler it installed before the SDK started runs after the session ended, as if the SDK
//!   were not there;
//! - a handler it installs after (tokio's `signal`, signal-hook, ctrlc) owns the signal: those
//!   libraries call the handler they replaced, and ours, seeing it is no longer the installed
//!   one, does nothing. The program's graceful shutdown runs, and its `main` returning ends the
//!   session as usual;
//! - a signal it blocks and takes with `sigwait` or a `signalfd` never reaches a handler (the
//!   SDK's threads block every signal, so the kernel hands it to the program's);
//! - a second SIGTERM or SIGINT while the end is being sent is passed on at once: the process
//!   dies of it without waiting for the server.

#[cfg(unix)]
mod unix {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

    use crate::diag;

    const SIGNALS: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGINT];
    static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
    static READ_FD: AtomicI32 = AtomicI32::new(-1);
    /// Set by the first signal our handler takes: a later one does not wait for the end.
    static ENDING: AtomicBool = AtomicBool::new(false);
    /// The signal our handler took, which the waiting thread ends the session for (0: none).
    static TAKEN: AtomicI32 = AtomicI32::new(0);
    /// Set by whichever passes the taken signal on once the session ended: the waiting
    /// thread, or the exiting one if the program's `main` returned meanwhile.
    static PASSED_ON: AtomicBool = AtomicBool::new(false);
    /// The action each signal had before ours, restored (and run) once the session ended.
    static PREVIOUS: OnceLock<Vec<(libc::c_int, libc::sigaction)>> = OnceLock::new();

    /// Our handler's address, as `sigaction` reports an installed handler.
    fn our_handler() -> libc::sighandler_t {
        on_signal as *const () as libc::sighandler_t
    }

    /// Async-signal-safe work only: `sigaction`, `raise`, `write` and atomics. None of them
    /// fails here (a valid signal, our own pipe, at most one byte ever written), so the
    /// interrupted code's `errno` is left as it was.
    extern "C" fn on_signal(signal: libc::c_int) {
        if !is_installed(signal) {
            // A handler the program installed after ours called us, as tokio's and
            // signal-hook's do with the one they replaced: the signal is the program's now.
            return;
        }
        if ENDING.swap(true, Ordering::SeqCst) {
            // The end is being sent and the signal came again: no more waiting for it.
            restore_previous(signal);
            // SAFETY: raising a signal is async-signal-safe. It is blocked while this handler
            // runs, and is delivered as the previous action says once it returns.
            unsafe { libc::raise(signal) };
            return;
        }
        // Taken from now on: a `main` that returns before the waiting thread wakes still dies
        // of it at exit (`pass_on_a_signal_taken`), as it would have without the SDK.
        TAKEN.store(signal, Ordering::SeqCst);
        let fd = WAKE_FD.load(Ordering::Relaxed);
        let byte = u8::try_from(signal).unwrap_or(0);
        // SAFETY: `write` is async-signal-safe; `fd` is our pipe's write end, `byte` outlives it.
        let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }

    /// Whether our handler is the one installed for `signal`.
    fn is_installed(signal: libc::c_int) -> bool {
        // SAFETY: a zeroed `sigaction` is a valid one for `sigaction` to fill; reading the
        // current action is async-signal-safe.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &raw mut current) == 0
                && current.sa_sigaction == our_handler()
        }
    }

    /// Gives `signal` back the action it had before ours (the default if we never saw one).
    /// Async-signal-safe: `sigaction` only, and a read of what was set before any handler ran.
    fn restore_previous(signal: libc::c_int) {
        let previous = PREVIOUS
            .get()
            .and_then(|all| all.iter().find(|(s, _)| *s == signal));
        // SAFETY: restores an action `sigaction` gave us, or the default disposition.
        unsafe {
            match previous {
                Some((_, action)) => {
                    libc::sigaction(signal, action, std::ptr::null_mut());
                }
                None => {
                    libc::signal(signal, libc::SIG_DFL);
                }
            }
        }
    }

    pub(crate) fn install() {
        let Some([read_fd, write_fd]) = pipe_closed_on_exec() else {
            diag::debug!("no pipe for signal handling; sessions will not end on signals");
            return;
        };
        READ_FD.store(read_fd, Ordering::Relaxed);
        WAKE_FD.store(write_fd, Ordering::Relaxed);
        // SAFETY: registers a plain `extern "C" fn` that never unwinds.
        if unsafe { libc::pthread_atfork(None, None, Some(forget_in_child)) } != 0 {
            diag::debug!("could not watch for fork(); a forked child's signals may end us");
        }
        let spawned = crate::sdk_thread::spawn("allstak-signals", move || {
            wait_for_signal(read_fd);
        });
        if spawned.is_err() {
            return;
        }
        // What each signal does now, kept before any handler of ours can run: a signal that
        // comes while they are installed restores and runs it.
        let mut previous = Vec::with_capacity(SIGNALS.len());
        for signal in SIGNALS {
            // SAFETY: a zeroed `sigaction` is a valid empty one, which `sigaction` fills with
            // the current action.
            let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: reads the action only (the new action is null).
            let read = unsafe { libc::sigaction(signal, std::ptr::null(), &raw mut current) };
            if read != 0 || current.sa_sigaction == libc::SIG_IGN {
                continue; // ignored on purpose (a background job, a daemon): it stays ignored
            }
            previous.push((signal, current));
        }
        let Ok(()) = PREVIOUS.set(previous) else {
            return; // installed already
        };
        for (signal, _) in PREVIOUS.get().into_iter().flatten() {
            // SAFETY: as above; the handler is a plain `extern "C" fn(c_int)` that only makes
            // async-signal-safe calls.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = our_handler();
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&raw mut action.sa_mask);
                libc::sigaction(*signal, &raw const action, std::ptr::null_mut());
            }
        }
    }

    /// A pipe whose ends a program the process `exec`s does not inherit.
    fn pipe_closed_on_exec() -> Option<[libc::c_int; 2]> {
        let mut fds = [0 as libc::c_int; 2];
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        {
            // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
            (unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0).then_some(fds)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        {
            // SAFETY: as above, then flags on the two descriptors just made.
            unsafe {
                if libc::pipe(fds.as_mut_ptr()) != 0 {
                    return None;
                }
                for fd in fds {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Some(fds)
        }
    }

    /// In a forked child, right after the fork: the signals are the child's own again (its
    /// SIGTERM must not reach the parent's SDK thread through the inherited pipe, and end the
    /// parent), and the pipe is closed. Only where ours is still installed: what the program
    /// set since (its own handler, `SIG_IGN`) is the child's, as without the SDK.
    /// Async-signal-safe: `sigaction` and `close` only.
    unsafe extern "C" fn forget_in_child() {
        if let Some(previous) = PREVIOUS.get() {
            for (signal, action) in previous {
                if is_installed(*signal) {
                    // SAFETY: restores an action `sigaction` gave us.
                    unsafe { libc::sigaction(*signal, action, std::ptr::null_mut()) };
                }
            }
        }
        for fd in [&WAKE_FD, &READ_FD] {
            let fd = fd.swap(-1, Ordering::Relaxed);
            if fd >= 0 {
                // SAFETY: closes the child's copy of our own pipe's end.
                unsafe { libc::close(fd) };
            }
        }
    }

    fn wait_for_signal(read_fd: libc::c_int) {
        let mut byte = 0u8;
        loop {
            // SAFETY: reads one byte into `byte`, which lives for the call.
            let read = unsafe { libc::read(read_fd, (&raw mut byte).cast(), 1) };
            if read == 1 {
                break;
            }
            if read == 0
                || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                return;
            }
        }
        let signal = libc::c_int::from(byte);
        TAKEN.store(signal, Ordering::SeqCst);
        // A session the program already ended (`end_session`, `main` returning while the
        // signal came) is not waited for: the process dies of the signal at once, as it would
        // without the SDK (an end not yet sent is kept for the next run).
        if crate::client::session_active() {
            diag::debug!("signal {signal}: ending the session");
            let _ = std::panic::catch_unwind(|| crate::client::end(None));
        }
        pass_on(signal);
    }

    /// Does what the program did before us with `signal`, once: die of it (the default), or
    /// run the handler it had installed.
    fn pass_on(signal: libc::c_int) {
        if PASSED_ON.swap(true, Ordering::SeqCst) {
            return;
        }
        // A handler the program installed meanwhile stays: it takes the signal.
        if is_installed(signal) {
            restore_previous(signal);
        }
        // SAFETY: raising a signal is a plain libc call. To the process, not to this thread
        // (the SDK's threads block it): a thread of the program takes it, as it would without
        // the SDK.
        unsafe { libc::kill(libc::getpid(), signal) };
    }

    /// The process exits while a signal it got is ending the session (`main` returned, or
    /// `exit` was called, meanwhile): it dies of that signal as it would have without the SDK,
    /// not with the exit status it was about to give. From the exiting thread, once the end is
    /// done with (the session ended).
    pub(crate) fn pass_on_a_signal_taken() {
        let signal = TAKEN.load(Ordering::SeqCst);
        // A forked child's copy of the parent's state: the signal was the parent's. And only
        // where the signal's previous action is to die of it: a handler of the program's must
        // not run inside an `atexit` hook (one that calls `exit` there would exit re-entrantly).
        if signal != 0 && !crate::fork::is_child() && dies_of(signal) {
            pass_on(signal);
        }
    }

    /// Whether a signal our handler took is ending the session.
    pub(crate) fn ending() -> bool {
        ENDING.load(Ordering::SeqCst)
    }

    /// Whether the action `signal` had before ours is the default one (the process dies of it).
    fn dies_of(signal: libc::c_int) -> bool {
        PREVIOUS
            .get()
            .and_then(|all| all.iter().find(|(s, _)| *s == signal))
            .is_none_or(|(_, action)| action.sa_sigaction == libc::SIG_DFL)
    }
}

/// Installs the handlers (Unix only; elsewhere a no-op).
pub(crate) fn install() {
    #[cfg(unix)]
    unix::install();
}

/// Whether a signal our handler took is ending the session (never, elsewhere than Unix).
pub(crate) fn ending() -> bool {
    #[cfg(unix)]
    return unix::ending();
    #[cfg(not(unix))]
    false
}

/// From the `atexit` hook, after the session ended: a signal that was ending it is passed on
/// (Unix only; elsewhere a no-op).
pub(crate) fn pass_on_a_signal_taken() {
    #[cfg(unix)]
    unix::pass_on_a_signal_taken();
}
