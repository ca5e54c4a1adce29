//! The error event a program sees: in `before_send`, and from `allstak::testing::capture`.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ErrorEvent, Level};
use crate::scope::User;
use crate::text::truncate;

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
#[derive(Clone)]
pub struct Event {
    inner: ErrorEvent,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id())
            .field("exception_class", &self.exception_class())
            .field("message", &self.message())
            .field("level", &self.level())
            .field("handled", &self.is_handled())
            .finish_non_exhaustive()
    }
}

impl Event {
    /// The program's view of an event the SDK is about to send (or, in `testing::capture`,
    /// would send).
    pub(crate) fn captured(inner: ErrorEvent) -> Self {
        Self { inner }
    }

    /// The event, back in the SDK's hands.
    pub(crate) fn into_inner(self) -> ErrorEvent {
        self.inner
    }

    /// The id the event is sent with (its `eventId`): the one the capture call returned.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|event| {
    ///         eprintln!("reporting {} as {}", event.exception_class(), event.id());
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn id(&self) -> super::EventId {
        self.inner.id
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

    /// The event's `metadata`: the tags ([`set_tag`](crate::set_tag)), the extra data
    /// ([`Scope::set_extra`](crate::Scope::set_extra)) and the fields an integration captured
    /// (a `tracing` event's fields and spans); a field wins over extra data, which wins over a
    /// tag of the same name. Default scrubbing runs after the hook.
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
