//! The `atexit` hook: ends the session when the process exits without returning from `main`
//! (`std::process::exit`), keeping the status reached so far and the exit code, and sends what
//! was reported after an earlier end.

use crate::diag;

/// Registers the hook once per process.
pub(crate) fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `atexit` is the C standard library's; the callback is a plain `extern "C"`
        // fn that never unwinds.
        let registered = unsafe { atexit(at_exit) };
        if registered != 0 {
            diag::debug!(
                "could not register the exit handler; std::process::exit will not end the session"
            );
        }
    });
}

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

extern "C" fn at_exit() {
    // Unwinding out of an `extern "C"` fn would abort the process.
    let _ = std::panic::catch_unwind(crate::client::at_exit);
    // The program's `main` returned while a SIGTERM or SIGINT was ending the session: the
    // process dies of the signal, not with the status `main` gave.
    crate::signals::pass_on_a_signal_taken();
}
