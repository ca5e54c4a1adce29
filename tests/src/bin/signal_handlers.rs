//! A program under `#[allstak::main]` that is stopped by SIGTERM or SIGINT, and handles them
//! itself or not, as its scenario says. `signal_handlers <scenario>`
//! (`allstak_tests::SignalHandlers`).

use std::io::Write as _;

use allstak_tests::{Scenario as _, SignalHandlers};

#[allstak::main]
fn main() {
    let scenario = SignalHandlers::of_this_process();
    #[cfg(unix)]
    match scenario {
        SignalHandlers::Wait => wait(),
        SignalHandlers::HandledThenWait => {
            allstak::capture_display(&"a handled error before the signal");
            wait();
        }
        SignalHandlers::SignalHook => stop_on_a_signal_hook_flag(),
        SignalHandlers::Sigwait => take_sigterm_with_sigwait(),
    }
    #[cfg(not(unix))]
    let _ = scenario;
    say("done");
}

/// Says `ready`, then runs until its stdin closes, or a signal stops it.
#[cfg(unix)]
fn wait() {
    say("ready");
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// A line on stdout, at once (the test waits for it).
fn say(line: &str) {
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// signal-hook's flags for SIGTERM and SIGINT, registered after the SDK's handlers; the program
/// polls them and stops on its own.
#[cfg(unix)]
fn stop_on_a_signal_hook_flag() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).expect("registered");
    }
    say("ready");
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    say("stopping");
}

/// Blocks SIGTERM on its (only) thread and takes it with `sigwait`, as programs with a signal
/// thread do.
#[cfg(unix)]
fn take_sigterm_with_sigwait() {
    // SAFETY: plain libc calls on a set this fn owns.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGTERM);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()),
            0
        );
        say("ready");
        let mut taken: libc::c_int = 0;
        let waited = libc::sigwait(&raw const set, &raw mut taken);
        say(&format!(
            "took SIGTERM: {}",
            waited == 0 && taken == libc::SIGTERM
        ));
    }
}
