//! AllStak release health for Rust.
//!
//! Two attributes turn a program into a tracked release-health session:
//!
//! ```no_run
//! #[allstak::track]
//! fn load(path: &str) -> std::io::Result<String> {
//!     std::fs::read_to_string(path)
//! }
//!
//! #[allstak::main]
//! fn main() {
//!     if let Err(error) = load("settings.toml") {
//!         eprintln!("using defaults: {error}");
//!     }
//! }
//! ```
//!
//! Every run is a session: `ok`, `errored` when a tracked function returned `Err`, `crashed`
//! when the program panicked or `main` returned `Err`. Set `ALLSTAK_API_KEY` to send them;
//! without it nothing is sent and nothing fails. See [`Config`] for every setting.
//!
//! Programs that prefer calls to attributes use [`init`] and keep the [`Guard`] alive.
#![warn(missing_docs)]
// A build without an HTTP backend (no `ureq` or `reqwest` feature) sends nothing: the request
// side of the SDK is then unused, on purpose.
#![cfg_attr(not(any(feature = "ureq", feature = "reqwest")), allow(dead_code))]

mod before_send;
mod breadcrumbs;
mod client;
mod config;
mod counter;
mod diag;
mod disabled;
mod event;
mod exit;
mod fork;
mod hooks;
mod host;
mod lock_soon;
/// What the integrations (`tracing`, `log`, `tower`) may call: the capture and breadcrumb calls
/// the attributes use, and nothing else of the client. They only translate into these.
#[cfg(any(feature = "tracing", feature = "log", feature = "tower"))]
mod integration {
    #[cfg(any(feature = "tracing", feature = "log"))]
    pub(crate) use crate::client::add_breadcrumb;
    #[cfg(any(feature = "log", feature = "tower"))]
    pub(crate) use crate::client::capture;
    #[cfg(feature = "log")]
    pub(crate) use crate::client::capture_at;
    #[cfg(feature = "tower")]
    pub(crate) use crate::client::sending;
    #[cfg(feature = "tracing")]
    pub(crate) use crate::client::{capture_from_tracing, fingerprint, note_tracing_layer};
}
#[cfg(feature = "log")]
pub mod log;
mod panic;
mod prepare;
#[allow(missing_docs)] // unstable, hidden; documented for the macros only
mod private;
mod proxy;
mod random;
mod runtime_context;
mod scope;
mod scrub;
mod sdk_thread;
mod session;
mod signals;
#[cfg(all(target_os = "linux", any(feature = "testing", feature = "ureq")))]
mod socket_option;
mod stack;
mod state;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
mod time;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "tracing")]
pub mod tracing;
mod transport;
mod uuid_text;
mod wire;

use std::error::Error;
use std::fmt::{Debug, Display};

/// Makes every run of the program an AllStak release-health session.
///
/// Goes on `fn main`. The session starts before the first line of `main` (no network round
/// trip: the start is sent by the SDK's own thread) and ends when `main` is done:
///
/// | `main`… | session | the program |
/// |---|---|---|
/// | returns `()`, `Ok`, `ExitCode::SUCCESS` or any `impl Termination` | `ok`, or `errored` if errors were recorded | unchanged |
/// | returns an `ExitCode` other than success (also inside `Ok`) | `errored` | unchanged |
/// | returns `Err` | `crashed`, and the error is sent as a `fatal` event | prints `Error: …`, exits 1, as always |
/// | panics | `crashed`, the panic sent as a `fatal` event with its stack | message printed once, exit code 101 |
/// | calls `std::process::exit` | ended with the status reached so far | same exit code |
/// | is stopped by SIGTERM or SIGINT (Unix) | ended with the status reached so far | dies of the signal as before (exit 143 or 130 in a shell), or runs its own handler |
///
/// ```no_run
/// #[allstak::main]
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let config = std::fs::read_to_string("app.toml")?;
///     println!("{} bytes", config.len());
///     Ok(())
/// }
/// ```
///
/// Arguments (each also an environment variable, which the argument overrides):
/// `release = "…"`, `environment = "…"`, `host = "…"`, `exit_deadline_ms = …`,
/// `end_on_signals = false` (SIGTERM and SIGINT then leave the session open; they end it by
/// default), `attach_stacktrace = true`, `user_id = "…"`,
/// `in_app_include = ["…", …]` and `in_app_exclude = ["…", …]` (crate or module paths whose
/// frames are, or are not, the program's: see
/// [`ConfigBuilder::in_app_include`](crate::ConfigBuilder::in_app_include)), and
/// `crate = "…"` when `allstak` is a renamed dependency. The API key
/// only comes from `ALLSTAK_API_KEY`. The release defaults to the crate's `name@version`, the
/// environment to `development` if this crate is built with debug assertions, else
/// `production`.
///
/// With an async runtime, put its attribute below this one:
///
/// ```no_run
/// #[allstak::main(environment = "staging")]
/// #[tokio::main]
/// async fn main() {
///     // ...
/// }
/// ```
pub use allstak_macros::main;

/// Records the `Err` a function returns on the session: the session becomes `errored` and an
/// error event is queued (never waiting, never on the network from the caller's thread).
///
/// Goes on any fn returning a `Result`, through any alias (`io::Result<T>`,
/// `anyhow::Result<T>`, `fmt::Result`, your own): sync or `async`, methods, trait impls,
/// `#[async_trait]` impls, generics. The function behaves exactly as without the attribute; its
/// `Ok` path costs one branch.
///
/// ```
/// #[allstak::track]
/// fn port(text: &str) -> Result<u16, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// assert_eq!(port("8080"), Ok(8080));
/// assert!(port("eighty").is_err()); // recorded, when a session is running
/// ```
///
/// The event's class is the error type's name, its message the error's `Display` (or `Debug`,
/// or the type name), with its `source()` chain, and the function's path, file and line.
/// Arguments: `name = "…"` (the name used in the event), `report = false` (change the status,
/// send no event), `describe = "display"` (describe the error through its `Display`: for an
/// error type whose `Error` impl needs `'static` parameters, in generic code, where the
/// attribute would otherwise fail with E0310; see the README's troubleshooting), `crate = "…"`
/// (a renamed dependency).
///
/// ```
/// #[allstak::track(name = "settings::load", report = false)]
/// fn load(path: &str) -> std::io::Result<String> {
///     std::fs::read_to_string(path)
/// }
/// # let _ = load("/nonexistent");
/// ```
pub use allstak_macros::track;
pub use breadcrumbs::Breadcrumb;
pub use config::{
    Config, ConfigBuilder, DEFAULT_ENVIRONMENT, DEFAULT_EXIT_DEADLINE, DEFAULT_HOST,
    DEVELOPMENT_ENVIRONMENT,
};
pub use disabled::DisabledReason;
pub use event::{Event, EventId, ParseEventIdError};
pub use event::{Level, MAX_STRING_BYTES, ParseLevelError, TRUNCATED};
pub use prepare::MAX_EVENT_BYTES;
pub use scope::{InScope, Scope, Scoped, User};
/// The JSON types in the SDK's signatures ([`Event::metadata`], [`Breadcrumb::data`]), so that
/// a program needs no `serde_json` dependency of its own to use them.
///
/// ```
/// let mut breadcrumb = allstak::Breadcrumb::new("retry");
/// breadcrumb.data_mut().insert("attempt".to_owned(), allstak::Value::from(2));
/// let fields: &allstak::Map<String, allstak::Value> = breadcrumb.data();
/// assert_eq!(fields["attempt"], 2);
/// ```
pub use serde_json::{Map, Value};
pub use session::{ParseSessionIdError, SessionId, SessionStatus};
pub use wire::{SDK_NAME, SDK_VERSION};

/// What the attributes' generated code calls. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}

/// What an integration makes of a `tracing` event or a `log` record: see
/// `allstak::tracing::Layer::filter` and `allstak::log::Logger::filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventFilter {
    /// An error event, and the session becomes `errored`.
    Event,
    /// A breadcrumb that later error events carry.
    Breadcrumb,
    /// Nothing.
    Ignore,
}

/// What a mapper (`allstak::tracing::Layer::mapper`, `allstak::log::Logger::mapper`) makes of a `tracing` event or a `log`
/// record: an error event, a breadcrumb, or nothing. An event makes the session `errored` only
/// if its level is `error` or `fatal` ([`Level::is_error`]), as with [`capture_message`].
///
/// ```
/// let mapping = allstak::Mapping::Breadcrumb(allstak::Breadcrumb::new("cache warmed"));
/// assert!(matches!(mapping, allstak::Mapping::Breadcrumb(_)));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Mapping {
    /// This error event (its id is the one it is sent with).
    Event(Event),
    /// This breadcrumb, which later error events carry.
    Breadcrumb(Breadcrumb),
    /// Nothing.
    Ignore,
}

/// The calling crate's `name@version`, the release `#[allstak::main]` uses by default.
///
/// ```
/// let config = allstak::Config::builder()
///     .default_release(allstak::release_name!())
///     .build();
/// assert!(config.release().contains('@'));
/// ```
#[macro_export]
macro_rules! release_name {
    () => {
        ::core::concat!(
            ::core::env!("CARGO_PKG_NAME"),
            "@",
            ::core::env!("CARGO_PKG_VERSION")
        )
    };
}

/// Sets the SDK up and starts the process's session, for programs that do not use
/// `#[allstak::main]`. Keep the guard alive for the life of the program: dropping it ends the
/// session (within the exit deadline) with the status reached so far, or `crashed` if a panic
/// is unwinding.
///
/// Only the first call in a process takes effect; the guard of a later one ends nothing.
///
/// ```no_run
/// let _allstak = allstak::init(
///     allstak::Config::builder()
///         .default_release(allstak::release_name!())
///         .build(),
/// );
/// // ... the program, with `_allstak` alive until its end ...
/// ```
#[must_use = "the session ends when the guard is dropped"]
pub fn init(config: Config) -> Guard {
    Guard {
        took_effect: hooks::set_up(config, false),
    }
}

/// Ends the session when dropped; returned by [`init`].
#[derive(Debug)]
pub struct Guard {
    /// Whether the `init` that made it set the SDK up: only that guard ends the session.
    took_effect: bool,
}

impl Guard {
    /// Whether the SDK reports this process: its session and its errors. The same answer as
    /// [`is_enabled`], for programs that keep the guard at hand.
    ///
    /// ```
    /// let guard = allstak::init(allstak::Config::builder().build());
    /// if !guard.is_enabled() {
    ///     // A doctest is a test run: nothing is reported.
    ///     eprintln!("error reporting is off: {}", guard.disabled_reason().unwrap());
    /// }
    /// ```
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        is_enabled()
    }

    /// Why the SDK does not report this process (or not all of it); `None` when it does. The
    /// same answer as [`disabled_reason`].
    ///
    /// ```
    /// let guard = allstak::init(allstak::Config::builder().build());
    /// // A doctest has no key, and is a test run: nothing is reported.
    /// assert!(guard.disabled_reason().is_some());
    /// ```
    #[must_use]
    pub fn disabled_reason(&self) -> Option<DisabledReason> {
        disabled_reason()
    }

    /// Ends the session now with `status`, which wins over the status reached so far.
    ///
    /// ```
    /// let guard = allstak::init(allstak::Config::builder().build());
    /// guard.end_with(allstak::SessionStatus::Ok);
    /// ```
    pub fn end_with(self, status: SessionStatus) {
        if self.took_effect {
            client::end(Some(status));
        }
        std::mem::forget(self);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.took_effect {
            return;
        }
        client::end_as_the_guard_drops();
    }
}

/// Ends the session now with `status`, which wins over the status reached so far: for
/// `#[allstak::main]` programs what [`Guard::end_with`] is for [`init`]. Whatever happens
/// after is not tracked (errors reported after are still sent, with no session; those still
/// queued when the process exits are sent within one more exit deadline, unless the server
/// did not take the end in time); `main`'s end is then a no-op. Waits at most the exit deadline.
///
/// ```
/// // Say a supervisor asked us to stop: this run was fine, whatever it logged.
/// allstak::end_session(allstak::SessionStatus::Ok);
/// ```
pub fn end_session(status: SessionStatus) {
    client::end(Some(status));
}

/// Adds a breadcrumb to the trail that every later error event carries (the newest 100, or
/// [`ConfigBuilder::max_breadcrumbs`], as many as fit [`MAX_EVENT_BYTES`]), its strings cut to
/// [`MAX_STRING_BYTES`]. Costs one short lock; nothing without a key. In a [`Scope`], to that
/// scope's trail only.
///
/// ```
/// allstak::add_breadcrumb(allstak::Breadcrumb::new("loaded 3 plugins").with_category("startup"));
/// ```
pub fn add_breadcrumb(breadcrumb: Breadcrumb) {
    client::add_breadcrumb(|| breadcrumb);
}

// Here rather than beside the rest of `Scope` (scope/local.rs): a scope's breadcrumb goes
// through the client (`before_breadcrumb`, and nothing kept without a key), and only the
// crate's entry points call into the client.
impl Scope {
    /// Adds a breadcrumb to this scope's trail: the events raised in it (and in scopes forked
    /// from it afterwards) carry it; no other scope's do. Nothing is kept when nothing is sent
    /// (no API key).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.add_breadcrumb(allstak::Breadcrumb::new("cart loaded").with_category("shop"));
    /// ```
    pub fn add_breadcrumb(&self, breadcrumb: Breadcrumb) {
        client::add_breadcrumb_to(self.trail(), || breadcrumb);
    }
}

/// Sets the user of every later error event (the contract's `user`: id, email, IP), from any
/// thread, at any time; `None` removes it. Until the first call, events carry
/// [`ConfigBuilder::user_id`] (or `ALLSTAK_USER_ID`), if set. One short lock.
///
/// In a [`Scope`] it sets the user of that scope's events only: in a request's handler behind
/// the `tower` feature's layer, that request's (the handler's, its tasks bound with
/// [`InScope::in_current_scope`], and the 5xx the layer reports for it); `None` there gives
/// the scope the process's user back.
///
/// The session start's `userId` is only what is known before the start:
/// [`ConfigBuilder::user_id`], `ALLSTAK_USER_ID`.
///
/// ```
/// allstak::set_user(allstak::User::new().with_id("u-42").with_email("ada@example.com"));
/// // ... after logging out:
/// allstak::set_user(None);
/// ```
pub fn set_user(user: impl Into<Option<User>>) {
    scope::set_user(user.into());
}

/// Sets a tag of every later error event, sent in its `metadata` (a field an integration
/// captured wins over a tag of the same name). Process-wide, from any thread; in a [`Scope`]
/// (a request behind the `tower` layer), that scope's only. One short lock.
///
/// ```
/// allstak::set_tag("region", "eu-west-1");
/// allstak::set_tag("tenant", "acme");
/// ```
pub fn set_tag(key: impl Into<String>, value: impl Into<String>) {
    scope::set_tag(key.into(), value.into());
}

/// Removes a tag set by [`set_tag`] from every later error event.
///
/// ```
/// allstak::set_tag("tenant", "acme");
/// allstak::remove_tag("tenant");
/// ```
pub fn remove_tag(key: &str) {
    scope::remove_tag(key);
}

/// Runs `run` in a new scope forked from the current one ([`Scope::fork`]), after `configure`
/// has set it up: what is set there, and in `run` with [`set_user`], [`set_tag`] or
/// [`add_breadcrumb`], stays in it. The thread gets its previous scope back after `run`
/// (also when it panics). Entering and leaving cost a reference count or two and no lock.
///
/// ```
/// allstak::with_scope(
///     |scope| {
///         scope.set_user(allstak::User::new().with_id("u-42"));
///         scope.set_tag("job", "invoice-run");
///     },
///     || {
///         allstak::add_breadcrumb(allstak::Breadcrumb::new("invoices loaded"));
///         // An error reported here carries u-42, the tag and the breadcrumb; one reported
///         // after `with_scope` returns carries none of them.
///     },
/// );
/// ```
///
/// `run` is synchronous: a future it returns is polled after `with_scope` returned, outside the
/// scope. For async code, bind the future instead: `work().in_scope(scope)` or
/// `.in_current_scope()` ([`InScope`]).
pub fn with_scope<R>(configure: impl FnOnce(&Scope), run: impl FnOnce() -> R) -> R {
    let scope = Scope::current().fork();
    configure(&scope);
    scope.run_owned(run)
}

/// Changes the current scope ([`Scope::current`]): the request's in a handler behind the
/// `tower` layer, the process's outside any scope.
///
/// ```
/// allstak::configure_scope(|scope| {
///     scope.set_tag("tenant", "acme");
///     scope.set_extra("plan", "pro");
/// });
/// ```
pub fn configure_scope<R>(configure: impl FnOnce(&Scope) -> R) -> R {
    configure(&Scope::current())
}

/// Reports an error: queues an error event (with its `source()` chain) and marks the session
/// `errored`. Never waits and never does I/O on the calling thread.
///
/// Returns the event's id (its `eventId`, for a program to show its user or put in a support
/// ticket), or `None` when no event goes out: no key, a test run, sampled out
/// ([`ConfigBuilder::sample_rate`]), or dropped by [`ConfigBuilder::before_send`]. `Some` is
/// returned once the event is queued: sending it may still fail ([`dropped_event_count`]). An
/// error the `tracing` layer reported a moment before on the same thread (as
/// `#[tracing::instrument(err)]` does) is not sent twice: its event's id is returned.
///
/// ```
/// let error = "x".parse::<u8>().unwrap_err();
/// if let Some(id) = allstak::capture_error(&error) {
///     eprintln!("something went wrong; reference {id}");
/// }
/// ```
#[allow(clippy::must_use_candidate)] // reporting is the point; the id is a bonus
pub fn capture_error<E: Error + ?Sized>(error: &E) -> Option<EventId> {
    client::capture(|| event::ErrorEvent::from_error(std::any::type_name::<E>(), error, "capture"))
}

/// Reports a value that is only `Display`: its text is the message, its type the class. The
/// session becomes `errored`. Returns the event's id, as [`capture_error`] does.
///
/// ```
/// let id = allstak::capture_display(&"the cache is cold");
/// assert_eq!(id, None); // no key in a doctest: nothing is sent
/// ```
#[allow(clippy::must_use_candidate)]
pub fn capture_display<T: Display + ?Sized>(value: &T) -> Option<EventId> {
    client::capture(|| {
        event::ErrorEvent::new(std::any::type_name::<T>(), event::render(&value), "capture")
    })
}

/// Reports a value that is only `Debug`: its `{:?}` is the message, its type the class. The
/// session becomes `errored`. Returns the event's id, as [`capture_error`] does.
///
/// ```
/// #[derive(Debug)]
/// enum Oops { Late(u32) }
/// allstak::capture_debug(&Oops::Late(3));
/// ```
#[allow(clippy::must_use_candidate)]
pub fn capture_debug<T: Debug + ?Sized>(value: &T) -> Option<EventId> {
    client::capture(|| {
        let message = event::render(&format_args!("{value:?}"));
        event::ErrorEvent::new(std::any::type_name::<T>(), message, "capture")
    })
}

/// Reports a message at `level`: an event whose class is `message` and whose level is `level`.
/// Only [`Level::Error`] and [`Level::Fatal`] make the session `errored`; a `debug`, `info` or
/// `warning` message leaves its status as it is (and is not counted by
/// [`handled_error_count`]). Returns the event's id, as [`capture_error`] does.
///
/// ```
/// use allstak::Level;
/// allstak::capture_message("nightly import finished with 3 skipped rows", Level::Info);
/// assert_eq!(allstak::session_status(), allstak::SessionStatus::Ok);
/// ```
#[allow(clippy::must_use_candidate)]
pub fn capture_message(message: &str, level: Level) -> Option<EventId> {
    client::capture_at(level, || {
        let mut event = event::ErrorEvent::with_class(
            std::borrow::Cow::Borrowed("message"),
            "&str",
            event::truncated(message).into_owned(),
            "message",
        );
        event.level = level;
        event
    })
}

/// The id of the latest error event the SDK queued (a capture call's, a tracked error's, a
/// panic's, an integration's), from any thread; `None` before the first.
///
/// ```
/// // No key in a doctest: nothing is sent, so there is no id.
/// allstak::capture_display(&"late");
/// assert_eq!(allstak::last_event_id(), None);
/// ```
#[must_use]
pub fn last_event_id() -> Option<EventId> {
    client::last_event_id()
}

/// Whether the SDK reports this process: set up, with a usable key and host, not a test run,
/// not a forked child, and tracking sessions. When it is `false`, [`disabled_reason`] says why,
/// in words a program can print for its operator.
///
/// ```
/// if !allstak::is_enabled() {
///     eprintln!("error reporting is off: {}", allstak::disabled_reason().unwrap());
/// }
/// ```
#[must_use]
pub fn is_enabled() -> bool {
    client::disabled_reason().is_none()
}

/// Why the SDK does not report this process (or not all of it: with session tracking off,
/// error events are still sent); `None` when it does.
///
/// ```
/// match allstak::disabled_reason() {
///     None => {}
///     Some(reason) if reason.sends_errors() => eprintln!("note: {reason}"),
///     Some(reason) => eprintln!("error reporting is off: {reason}"),
/// }
/// ```
#[must_use]
pub fn disabled_reason() -> Option<DisabledReason> {
    client::disabled_reason()
}

/// The id of the running session: `Some` only between its start and its end.
///
/// ```
/// // No session in a doctest.
/// assert_eq!(allstak::current_session_id(), None);
/// ```
#[must_use]
pub fn current_session_id() -> Option<SessionId> {
    client::current_session_id()
}

/// The status the session has reached (its final status once ended).
///
/// ```
/// assert_eq!(allstak::session_status(), allstak::SessionStatus::Ok);
/// ```
#[must_use]
pub fn session_status() -> SessionStatus {
    client::session_status()
}

/// How many handled errors the session recorded.
///
/// ```
/// assert_eq!(allstak::handled_error_count(), 0);
/// ```
#[must_use]
pub fn handled_error_count() -> u64 {
    client::handled_error_count()
}

/// How many error events will never reach the server: dropped because the queue was full (the
/// server too slow or unreachable), refused by the server for good (a `400`, `403`, `404`, `413`
/// or `422`, or every event after the key was refused with `401`), too large to send even
/// trimmed ([`MAX_EVENT_BYTES`]), or not sent after the last retry or by the exit deadline.
/// Events [`ConfigBuilder::before_send`] drops are the program's choice and are not counted.
///
/// One count for every way an event is lost: the question it answers is whether the dashboard
/// has every error the program reported. With `ALLSTAK_DEBUG`, the first loss says why.
///
/// ```
/// assert_eq!(allstak::dropped_event_count(), 0);
/// ```
#[must_use]
pub fn dropped_event_count() -> u64 {
    client::dropped_event_count()
}

/// Waits until the SDK is done with every error event reported so far (sent, refused, or given
/// up after its retries), at most `timeout` (as 0.2's `flush(timeout)`; a program that wants
/// the bound the session's end has passes [`Config::exit_deadline`], 2 s by default:
/// [`DEFAULT_EXIT_DEADLINE`]).
///
/// Returns `true` when it was done in time and every error event reported since the previous
/// `flush` (or since the start) reached the server; `false` when the timeout passed first, or
/// when any of them was lost, as [`dropped_event_count`] counts them (refused by the server,
/// too large, a full queue — on any thread). Without a key (nothing is sent) it is `true`.
///
/// ```
/// use std::time::Duration;
/// assert!(allstak::flush(Duration::from_secs(2)));
/// ```
pub fn flush(timeout: std::time::Duration) -> bool {
    client::flush(timeout)
}
