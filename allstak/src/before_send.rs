//! `before_send`: the program's last word on an error event before it is queued — to change it,
//! scrub what the defaults do not know about, or drop it. The hook sees an [`Event`], a view
//! of the captured event that hides how the SDK stores it.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::event::{ErrorEvent, Level, truncate, truncate_strings};
use crate::scope::User;
use crate::sdk_thread::quietly;

/// The hook [`ConfigBuilder::before_send`](crate::ConfigBuilder::before_send) takes.
pub(crate) type BeforeSend = dyn Fn(Event) -> Option<Event> + Send + Sync;

/// An error event as [`ConfigBuilder::before_send`](crate::ConfigBuilder::before_send) sees it,
/// before it is queued: read or change its message, class, level, metadata (its fields and
/// the tags) and user.
///
/// ```
/// let config = allstak::Config::builder()
///     .before_send(|mut event| {
///         if event.message().contains("card number") {
///             event.set_message("[a message about a card]");
///         }
///         Some(event)
///     })
///     .build();
/// # let _ = config;
/// ```
pub struct Event {
    inner: ErrorEvent,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("exception_class", &self.exception_class())
            .field("message", &self.message())
            .field("level", &self.level())
            .field("handled", &self.is_handled())
            .finish_non_exhaustive()
    }
}

impl Event {
    /// An event as the SDK would send it, kept by `testing::capture`.
    pub(crate) fn captured(inner: ErrorEvent) -> Self {
        Self { inner }
    }

    /// The message (the error's `Display`, a panic's message, a log record's text).
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| (!event.message().starts_with("expected:")).then_some(event))
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Replaces the message (cut at [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES), as captured
    /// messages are).
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         let shorter = event.message().replace("/home/ada", "~");
    ///         event.set_message(shorter);
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn set_message(&mut self, message: impl Into<String>) {
        self.inner.message = truncate(message.into());
    }

    /// The exception class: the error's type (`io::Error`), `panic`, or where it was logged.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| (event.exception_class() != "Cancelled").then_some(event))
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn exception_class(&self) -> &str {
        &self.inner.exception_class
    }

    /// Replaces the exception class (how the dashboard groups errors).
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         if event.exception_class().starts_with("Box<dyn") {
    ///             event.set_exception_class("BoxedError");
    ///         }
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn set_exception_class(&mut self, class: impl Into<String>) {
        self.inner.exception_class = truncate(class.into()).into();
    }

    /// The level: `error` for a handled error, `fatal` for one that ended the process.
    ///
    /// ```
    /// use allstak::Level;
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| (event.level() >= Level::Error).then_some(event))
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn level(&self) -> Level {
        self.inner.level
    }

    /// Changes the level. (The session's status is not the event's: it was recorded already.)
    ///
    /// ```
    /// use allstak::Level;
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         if event.message().contains("retrying") {
    ///             event.set_level(Level::Warning);
    ///         }
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn set_level(&mut self, level: Level) {
        self.inner.level = level;
    }

    /// Whether the program went on after the error (`false` for the error that ended it).
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| {
    ///         let _crash = !event.is_handled();
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn is_handled(&self) -> bool {
        self.inner.handled
    }

    /// The event's `metadata`: the tags ([`set_tag`](crate::set_tag)) and the fields an
    /// integration captured (a `tracing` event's fields and spans); a field wins over a tag of
    /// the same name. Default scrubbing runs after the hook.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| {
    ///         let from_tests = event.metadata().get("tenant").is_some_and(|t| t == "test");
    ///         (!from_tests).then_some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.inner.metadata
    }

    /// The `metadata` to change: the place for custom scrubbing. Strings longer than
    /// [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES) are cut after the hook.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         event.metadata_mut().remove("ssn");
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.inner.metadata
    }

    /// The user the event is sent with ([`set_user`](crate::set_user), else
    /// [`ConfigBuilder::user_id`](crate::ConfigBuilder::user_id)).
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| {
    ///         let _internal = event.user().and_then(|u| u.email()).is_some_and(|e| e.ends_with("@corp.example"));
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn user(&self) -> Option<&User> {
        self.inner.context.user.as_deref()
    }

    /// Replaces the user of this event, or removes it with `None`.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         // Keep the id, drop the email and the IP address.
    ///         let id = event.user().and_then(|u| u.id()).map(str::to_owned);
    ///         event.set_user(id.map(|id| allstak::User::new().with_id(id)));
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn set_user(&mut self, user: Option<User>) {
        self.inner.context.user = user.map(Arc::new);
    }
}

/// Runs `hook` on `event`: `None` when it dropped the event, or panicked (the hook may be what
/// keeps a secret out of the event: without it, nothing is sent).
pub(crate) fn apply(hook: &BeforeSend, mut event: ErrorEvent) -> Option<ErrorEvent> {
    // The hook sees one metadata object: the tags, then the event's own fields over them.
    if let Some(tags) = event.context.tags.take() {
        crate::scope::merge_tags(&mut event.metadata, &tags);
    }
    // An event the hook itself reports (`capture_display` to log a dropped event) is sent as it
    // is: through the hook again, each report would report again, without end.
    match IN_HOOK.try_with(Cell::get) {
        Ok(false) => {}
        Ok(true) => return Some(event),
        // The thread is exiting, past its thread-locals: the hook cannot be guarded.
        Err(_) => return None,
    }
    let outcome = quietly(|| {
        let _in_hook = InHook::enter();
        hook(Event { inner: event })
    });
    match outcome {
        Some(outcome) => outcome.map(|event| {
            let mut event = event.inner;
            // Whatever the hook put in: no string over the limit.
            event.metadata.values_mut().for_each(truncate_strings);
            event
        }),
        None => {
            crate::diag::debug!("before_send panicked; the event is dropped");
            None
        }
    }
}

thread_local! {
    /// Set while `before_send` runs on this thread.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Whether `before_send` is running on this thread (a panic now is the hook's).
pub(crate) fn is_running() -> bool {
    IN_HOOK.try_with(Cell::get).unwrap_or(false)
}

/// Marks the thread as running the hook until dropped (also when the hook panics).
struct InHook;

impl InHook {
    fn enter() -> Self {
        let _ = IN_HOOK.try_with(|flag| flag.set(true));
        Self
    }
}

impl Drop for InHook {
    fn drop(&mut self) {
        let _ = IN_HOOK.try_with(|flag| flag.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_with_tags() -> ErrorEvent {
        let mut event = ErrorEvent::new("app::Oops", "boom".to_owned(), "capture");
        event.context.tags = Some(crate::scope::tags(&[("region", "eu"), ("tenant", "acme")]));
        event
            .metadata
            .insert("tenant".to_owned(), Value::from("field"));
        event
    }

    #[test]
    fn an_event_the_hook_reports_skips_the_hook_instead_of_recursing() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let hook = |event: Event| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            // What `capture_display` inside the hook comes down to: the hook applied again.
            let inner = ErrorEvent::new("&str", "dropped one".to_owned(), "capture");
            let reported = apply(&|_| None, inner);
            assert_eq!(reported.map(|e| e.message), Some("dropped one".to_owned()));
            Some(event)
        };
        assert!(apply(&hook, ErrorEvent::new("x::Y", "boom".to_owned(), "capture")).is_some());
        assert_eq!(CALLS.load(Ordering::Relaxed), 1);
        // Outside the hook, hooks run again.
        assert!(
            apply(
                &|_| None,
                ErrorEvent::new("x::Y", "boom".to_owned(), "capture")
            )
            .is_none()
        );
    }

    #[test]
    fn the_hook_sees_tags_in_metadata_under_the_events_own_fields_and_may_change_everything() {
        let event = apply(
            &|mut event: Event| {
                assert_eq!(event.metadata()["region"], "eu");
                assert_eq!(event.metadata()["tenant"], "field");
                event.set_message("changed");
                event.set_exception_class("Other");
                event.set_level(Level::Warning);
                event.set_user(Some(User::new().with_id("u-9")));
                event.metadata_mut().remove("region");
                Some(event)
            },
            event_with_tags(),
        )
        .expect("kept");
        assert_eq!(event.message, "changed");
        assert_eq!(event.exception_class, "Other");
        assert_eq!(event.level, Level::Warning);
        assert_eq!(
            event.context.user.as_deref().and_then(User::id),
            Some("u-9")
        );
        assert!(!event.metadata.contains_key("region"));
        assert!(event.context.tags.is_none());
    }

    #[test]
    fn what_the_hook_puts_in_is_cut_to_the_string_limit() {
        let huge = "x".repeat(1 << 20);
        let event = apply(
            &move |mut event: Event| {
                event.set_message(huge.as_str());
                event.set_exception_class(huge.as_str());
                let dump = serde_json::json!({"rows": [huge.as_str()]});
                event.metadata_mut().insert("dump".to_owned(), dump);
                Some(event)
            },
            event_with_tags(),
        )
        .expect("kept");
        let cut =
            |text: &str| text.len() <= crate::MAX_STRING_BYTES && text.ends_with(crate::TRUNCATED);
        assert!(cut(&event.message));
        assert!(cut(&event.exception_class));
        assert!(cut(event.metadata["dump"]["rows"][0]
            .as_str()
            .unwrap_or_default()));
        assert_eq!(event.metadata["region"], "eu");
    }

    #[test]
    fn a_hook_returning_none_drops_the_event() {
        assert!(apply(&|_| None, event_with_tags()).is_none());
    }

    #[test]
    fn a_panicking_hook_is_contained_and_its_event_dropped() {
        assert!(apply(&|_| panic!("a bug in before_send"), event_with_tags()).is_none());
    }
}
