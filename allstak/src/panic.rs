//! The panic hook: every panic the program survives is a handled error (`errored`); a panic
//! that ends the process is a crash, reported by `main`'s session guard as it unwinds — or,
//! under `panic = "abort"`, by the hook itself, since nothing runs after it.

use std::sync::Once;

use crate::event::PanicRecord;
use crate::sdk_thread;

/// Installs the hook once per process, in front of whatever hook was there (which still runs).
pub(crate) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if sdk_thread::is_own_thread() {
                // Our own bug: the program's stderr stays as it was, unless the process is
                // about to abort (then std's message is all anyone will know).
                if crate::diag::enabled() || cfg!(panic = "abort") {
                    previous(info);
                }
                return;
            }
            if sdk_thread::is_current() && !cfg!(panic = "abort") {
                // The program's code the SDK runs (a `Display`, `before_send`): the SDK catches
                // it, and the program never sees it. Under `panic = "abort"` nothing can catch
                // it: it is the program's crash, reported and printed as any other.
                if crate::diag::enabled() {
                    previous(info);
                }
                return;
            }
            if crate::fork::is_child() {
                // A forked child sends nothing, and takes no lock of the SDK's (the scope's):
                // a parent's thread may have held one as it forked, and nothing in the child
                // would ever release it.
                crate::fork::drop_event();
                previous(info);
                return;
            }
            // Only a running session sends the panic: without one, the stack is not worth its µs.
            let record = PanicRecord::new(info, crate::client::session_active());
            if cfg!(panic = "abort") {
                crate::client::record_crash();
                previous(info);
                crate::client::end_after_fatal_panic(record);
            } else {
                // Recorded before the previous hook runs, in case that hook exits the process.
                crate::client::record_panic(record);
                previous(info);
                // Only now does it unwind (printing a backtrace can take longer than that).
                crate::client::panic_hook_done();
            }
        }));
    });
}
