//! The process's hooks, in place before the program's first line: `fork` watching, and once its
//! session runs, the panic hook, the `atexit` hook and, unless `end_on_signals` is off or nothing
//! is sent (no key, a test run), the SIGTERM and SIGINT handlers.
//! Each calls back into the client; the client knows none of them.

use crate::config::Config;
use crate::{client, exit, fork, panic, signals};

/// Sets the process's client up with `config` and, if its session started, the hooks that end
/// it. Returns whether this setup took effect: only the first in a process does.
pub(crate) fn set_up(config: Config, cfg_test: bool) -> bool {
    let end_on_signals = config.end_on_signals;
    if !client::start(config, cfg_test) {
        return false;
    }
    // A forked child sends nothing, whether or not a session runs.
    fork::watch();
    if client::session_active() {
        panic::install();
        exit::install();
        // After the start is queued: an end from another thread is always queued behind it.
        // Only where the end goes somewhere: without a key, a signal does what it did.
        if end_on_signals && client::sends() {
            signals::install();
        }
    }
    true
}
