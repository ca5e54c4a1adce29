//! The SDK's own diagnostics: printed on stderr only when `ALLSTAK_DEBUG` (or
//! [`ConfigBuilder::debug`](crate::ConfigBuilder::debug)) is on, each kind at most once, and
//! never with the API key in it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static SAID: AtomicU32 = AtomicU32::new(0);

/// Something the SDK may say once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    Unauthorized,
    QueueFull,
    PlainHttp,
    EventLost,
    /// The state dir is not used (not private, or not writable).
    StateDir,
}

impl Notice {
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

pub(crate) fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Prints one diagnostic line, `[allstak] <level>: <message>`, when diagnostics are on.
pub(crate) fn say(level: &str, message: std::fmt::Arguments<'_>) {
    if enabled() {
        // A closed or failing stderr must not become our problem.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr().lock(),
            format_args!("[allstak] {level}: {message}\n"),
        );
    }
}

/// Like [`say`], but only the first time `kind` is said in this process.
pub(crate) fn say_once(kind: Notice, level: &str, message: std::fmt::Arguments<'_>) {
    // A load first: once said, saying it again costs no write to a shared line.
    if SAID.load(Ordering::Relaxed) & kind.bit() == 0
        && SAID.fetch_or(kind.bit(), Ordering::Relaxed) & kind.bit() == 0
    {
        say(level, message);
    }
}

macro_rules! debug {
    ($($arg:tt)*) => { $crate::diag::say("debug", format_args!($($arg)*)) };
}
macro_rules! warning {
    ($($arg:tt)*) => { $crate::diag::say("warn", format_args!($($arg)*)) };
}
pub(crate) use {debug, warning};
