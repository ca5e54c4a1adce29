//! A panic as the panic hook saw it, and the error event it becomes.

use std::panic::PanicHookInfo;

use super::{ErrorEvent, Level, Location};
use crate::scope::EventContext;
use crate::stack::Stack;

/// A panic as the hook saw it: the message, where it happened, the panicking thread's stack
/// (unresolved: it is symbolized on the transport thread), and what its thread's scope gives an
/// event: user, tags, the request it serves (kept now: a panic on `main`'s thread is only sent
/// later).
#[derive(Clone, Debug)]
pub(crate) struct PanicRecord {
    message: String,
    location: Option<Location>,
    stack: Option<Stack>,
    context: EventContext,
    /// The panicking thread (its event may be built on another).
    thread: Option<std::thread::Thread>,
}

impl PanicRecord {
    /// A panic with this message and nothing else, for unit tests.
    #[cfg(test)]
    pub(crate) fn with_message(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            location: None,
            stack: None,
            context: EventContext::default(),
            thread: None,
        }
    }

    pub(crate) fn new(info: &PanicHookInfo<'_>, with_stack: bool) -> Self {
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
        let stack = with_stack.then(Stack::capture);
        Self {
            message,
            location,
            stack,
            context: EventContext::now(),
            thread: Some(std::thread::current()),
        }
    }

    /// The error event for this panic: `fatal` when it ended the process.
    pub(crate) fn into_event(self, fatal: bool) -> ErrorEvent {
        let mut event = ErrorEvent::new("panic", self.message, "panic");
        event.location = self.location;
        event.stack = self.stack;
        event.context = self.context;
        event.thread = self.thread;
        if fatal {
            event.level = Level::Fatal;
            event.handled = false;
        }
        event
    }
}
