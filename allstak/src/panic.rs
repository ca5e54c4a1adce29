//! The panic hook: every panic the program survives is a handled error (`errored`); a panic
//! that ends the process is a crash, reported by `main`'s session guard as it unwinds — or,
//! under `panic = "abort"`, by the hook itself, since nothing runs after it.

use std::panic::PanicHookInfo;
use std::sync::{Arc, Once};

use crate::event::{ErrorEvent, Location};
use crate::scope::RequestContext;
use crate::sdk_thread;
use crate::stack::Stack;

/// A panic as the hook saw it: the message, where it happened, the panicking thread's stack
/// (unresolved: it is symbolized on the transport thread), and the HTTP request the thread was
/// serving (kept now: a panic on `main`'s thread is only sent later).
#[derive(Clone, Debug)]
pub(crate) struct PanicRecord {
    message: String,
    location: Option<Location>,
    stack: Option<Stack>,
    request: Option<Arc<RequestContext>>,
}

impl PanicRecord {
    /// A panic with this message and nothing else, for unit tests.
    #[cfg(test)]
    pub(crate) fn with_message(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            location: None,
            stack: None,
            request: None,
        }
    }

    fn new(info: &PanicHookInfo<'_>) -> Self {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        let location = info.location().map(|at| Location::Panic {
            file: at.file().to_owned(),
            line: at.line(),
            column: at.column(),
        });
        // Only a running session sends the panic: without one, the stack is not worth its µs.
        let stack = crate::client::session_active().then(Stack::capture);
        Self {
            message,
            location,
            stack,
            request: crate::scope::current_request(),
        }
    }

    /// The error event for this panic: `fatal` when it ended the process.
    pub(crate) fn into_event(self, fatal: bool) -> ErrorEvent {
        let mut event = ErrorEvent::new("panic", self.message, "panic");
        event.location = self.location;
        event.stack = self.stack;
        event.context.request = self.request;
        if fatal {
            event.level = crate::event::Level::Fatal;
            event.handled = false;
        }
        event
    }
}

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
            let record = PanicRecord::new(info);
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
