//! Error events as a caller captures them: cheap, owned, queued. The transport thread turns
//! them into the `/ingest/v1/errors` payload ([`crate::prepare::error`]).

mod id;
mod panic;
mod public;
pub use id::{EventId, ParseEventIdError};
pub(crate) use panic::PanicRecord;
pub use public::Event;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::SessionId;
use crate::sdk_thread::quietly;
use crate::stack::{Anchor, Stack};

pub use crate::text::{MAX_STRING_BYTES, TRUNCATED};
pub(crate) use crate::text::{render, truncate, truncate_cow, truncate_strings, truncated};

/// Most `source()` causes kept per error.
const MAX_CAUSES: usize = 16;

/// How serious an event or a breadcrumb is; ordered from `Debug` to `Fatal`, written and read as
/// the wire contract spells it (`debug`, `info`, `warning`, `error`, `fatal`).
///
/// ```
/// use allstak::Level;
/// assert_eq!(Level::Warning.as_str(), "warning");
/// assert_eq!(Level::Warning.to_string(), "warning");
/// assert_eq!("fatal".parse(), Ok(Level::Fatal));
/// assert!(Level::Error > Level::Warning);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Worth knowing (the default for a breadcrumb).
    Info,
    /// Something unexpected that the program handled.
    Warning,
    /// An error the program handled (the default for an event).
    Error,
    /// An error that ended the process.
    Fatal,
}

impl Level {
    /// The level as the wire contract spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Fatal => "fatal",
        }
    }

    /// Whether an event of this level makes the session `errored`: `error` and `fatal` do;
    /// `debug`, `info` and `warning` leave its status as it is.
    ///
    /// ```
    /// assert!(allstak::Level::Error.is_error());
    /// assert!(!allstak::Level::Info.is_error());
    /// ```
    #[must_use]
    pub const fn is_error(self) -> bool {
        matches!(self, Self::Error | Self::Fatal)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a level as [`Level::as_str`] spells it, in any case; `warn` reads as `warning`.
///
/// ```
/// use allstak::Level;
/// assert_eq!("INFO".parse(), Ok(Level::Info));
/// assert_eq!("warn".parse(), Ok(Level::Warning));
/// assert!("loud".parse::<Level>().is_err());
/// ```
impl std::str::FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Self::Debug,
            Self::Info,
            Self::Warning,
            Self::Error,
            Self::Fatal,
        ]
        .into_iter()
        .find(|level| text.eq_ignore_ascii_case(level.as_str()))
        .or_else(|| text.eq_ignore_ascii_case("warn").then_some(Self::Warning))
        .ok_or(ParseLevelError(()))
    }
}

/// The text given to [`Level`]'s `FromStr` is not a level.
///
/// ```
/// let error = "loud".parse::<allstak::Level>().unwrap_err();
/// assert!(error.to_string().contains("debug, info, warning, error, fatal"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLevelError(());

impl std::fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a level: one of debug, info, warning, error, fatal")
    }
}

impl std::error::Error for ParseLevelError {}

/// Where an error came from: the place a panic happened, or a tracked function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// A panic's file, line and column (the hook does not know the function).
    Panic {
        file: String,
        line: u32,
        column: u32,
    },
    /// A tracked fn's site, as its expansion writes it: one string literal,
    /// `module::name\nfile\nline\ncolumn` (the function is `name = ".."` in place of the module
    /// path and name). Read into parts when the payload is built, on the transport thread.
    TrackSite(&'static str),
    /// A `tracing` event's or `log` record's callsite.
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    Callsite {
        module: Option<&'static str>,
        file: Option<&'static str>,
        line: Option<u32>,
    },
}

impl Location {
    /// What a stack needs from the location to find the frame it names; see [`Anchor`].
    pub(crate) fn anchor(&self) -> Anchor<'_> {
        match self {
            Self::Panic { file, line, column } => Anchor {
                file,
                line_column: Some((*line, *column)),
            },
            Self::TrackSite(site) => Anchor {
                file: read_track_site(site).1,
                line_column: None,
            },
            Self::Callsite { file, .. } => Anchor {
                file: file.unwrap_or_default(),
                line_column: None,
            },
        }
    }

    /// `(function, file, line, column)`, as a frame has them.
    pub(crate) fn parts(&self) -> (Option<&str>, &str, u32, u32) {
        match self {
            Self::Panic { file, line, column } => (None, file.as_str(), *line, *column),
            Self::TrackSite(site) => read_track_site(site),
            Self::Callsite { module, file, line } => (
                *module,
                file.unwrap_or_default(),
                line.unwrap_or_default(),
                0,
            ),
        }
    }
}

/// `(function, file, line, column)` from a site string; one not written by our expansion is
/// kept whole, as the function's name.
fn read_track_site(site: &str) -> (Option<&str>, &str, u32, u32) {
    let mut parts = site.rsplitn(4, '\n');
    let column = parts.next().and_then(|n| n.parse().ok());
    let line = parts.next().and_then(|n| n.parse().ok());
    let file = parts.next();
    match (parts.next(), file, line, column) {
        (Some(function), Some(file), Some(line), Some(column)) => {
            (Some(function), file, line, column)
        }
        _ => (Some(site), "", 0, 0),
    }
}

/// An error as captured on the caller's thread: only what cannot be had later.
#[derive(Clone, Debug)]
pub(crate) struct ErrorEvent {
    /// Drawn when it is captured: the `eventId` it is sent with.
    pub(crate) id: EventId,
    /// Whether sampling already kept it (the capture calls throw the dice before building it).
    pub(crate) sampled: bool,
    pub(crate) exception_class: Cow<'static, str>,
    pub(crate) type_name: &'static str,
    pub(crate) message: String,
    pub(crate) causes: Vec<String>,
    pub(crate) level: Level,
    pub(crate) handled: bool,
    pub(crate) mechanism: &'static str,
    pub(crate) location: Option<Location>,
    /// The whole stack, unresolved: panics always, errors with `attach_stacktrace`.
    pub(crate) stack: Option<Stack>,
    pub(crate) session_id: Option<SessionId>,
    /// Extra fields for `metadata` (a tracing event's fields and spans).
    pub(crate) metadata: serde_json::Map<String, serde_json::Value>,
    /// The user, tags and request around it.
    pub(crate) context: crate::scope::EventContext,
    /// The thread that raised it: a handle, taken on that thread; its name is read on the SDK's.
    pub(crate) thread: Option<std::thread::Thread>,
}

impl ErrorEvent {
    pub(crate) fn new(type_name: &'static str, message: String, mechanism: &'static str) -> Self {
        Self::with_class(
            Cow::Owned(short_type_name(type_name)),
            type_name,
            message,
            mechanism,
        )
    }

    /// [`Self::new`] with the class already known.
    pub(crate) fn with_class(
        exception_class: Cow<'static, str>,
        type_name: &'static str,
        message: String,
        mechanism: &'static str,
    ) -> Self {
        Self {
            id: EventId::random(),
            sampled: false,
            exception_class: truncate_cow(exception_class),
            type_name,
            message: truncate(message),
            causes: Vec::new(),
            level: Level::Error,
            handled: true,
            mechanism,
            location: None,
            stack: None,
            session_id: None,
            metadata: serde_json::Map::new(),
            context: crate::scope::EventContext::default(),
            thread: Some(std::thread::current()),
        }
    }

    /// An event for an error value, with its `source()` chain; a type-erased error gets the
    /// class of what it holds ([`erased_class`]).
    pub(crate) fn from_error<E: std::error::Error + ?Sized>(
        type_name: &'static str,
        error: &E,
        mechanism: &'static str,
    ) -> Self {
        let class = if is_erased(type_name) {
            erased_class(type_name, error)
        } else {
            Cow::Owned(short_type_name(type_name))
        };
        let mut event = Self::with_class(class, type_name, render(&error), mechanism);
        event.causes = causes(error);
        event
    }
}

/// The texts of `error`'s `source()` chain (at most 16).
pub(crate) fn causes<E: std::error::Error + ?Sized>(error: &E) -> Vec<String> {
    quietly(|| {
        std::iter::successors(error.source(), |e| e.source())
            .take(MAX_CAUSES)
            .map(|cause| render(&cause))
            .collect()
    })
    .unwrap_or_default()
}

/// The class of a type-erased error (`dyn Error`, `Box<dyn Error>`, `anyhow::Error`), whose
/// static type names nothing: the innermost cause's type where it can be named (by downcast or
/// by its `Debug`), else the static type's name. A class is always a type.
pub(crate) fn erased_class<E: std::error::Error + ?Sized>(
    type_name: &'static str,
    error: &E,
) -> Cow<'static, str> {
    let named = quietly(
        // At most as deep as the causes go: a chain may loop (a `source()` returning itself).
        || match std::iter::successors(error.source(), |e| e.source())
            .take(MAX_CAUSES)
            .last()
        {
            Some(innermost) => Some(class_of_dyn_error(innermost)).filter(|c| c != "dyn Error"),
            None => {
                let debug = render(&format_args!("{error:?}"));
                // `io::Error`'s Debug names its representation, not its type.
                let io = ["Os { code: ", "Custom { kind: ", "Kind(", "Error { kind: "];
                if io.iter().any(|shape| debug.starts_with(shape)) {
                    Some("io::Error".to_owned())
                } else {
                    class_named_by_debug(&debug).map(str::to_owned)
                }
            }
        },
    );
    match named.flatten() {
        Some(class) => Cow::Owned(class),
        None => Cow::Owned(short_type_name(type_name)),
    }
}

/// Whether a type name is type-erased: its class must come from the value ([`erased_class`]).
pub(crate) fn is_erased(type_name: &str) -> bool {
    type_name.starts_with("dyn ")
        || type_name.contains("<dyn ")
        || ["anyhow::Error", "eyre::Report"].contains(&type_name)
}

/// The class of an error known only as `dyn Error`: the standard library's types by downcast,
/// else the type its `Debug` names (`ParseError { .. }` → `ParseError`), else `dyn Error`.
pub(crate) fn class_of_dyn_error(error: &(dyn std::error::Error + 'static)) -> String {
    macro_rules! known {
        ($($type:ty => $name:literal),* $(,)?) => {
            $(if error.is::<$type>() {
                return $name.to_owned();
            })*
        };
    }
    known!(
        std::io::Error => "io::Error",
        std::num::ParseIntError => "ParseIntError",
        std::num::ParseFloatError => "ParseFloatError",
        std::num::TryFromIntError => "TryFromIntError",
        std::str::ParseBoolError => "ParseBoolError",
        std::str::Utf8Error => "Utf8Error",
        std::string::FromUtf8Error => "FromUtf8Error",
        std::net::AddrParseError => "AddrParseError",
        std::env::VarError => "env::VarError",
        std::fmt::Error => "fmt::Error",
    );
    let debug = render(&format_args!("{error:?}"));
    class_named_by_debug(&debug)
        .unwrap_or("dyn Error")
        .to_owned()
}

/// The type a derived `Debug` starts with (`Name`, `Name(..)`, `Name { .. }`), if it does.
pub(crate) fn class_named_by_debug(debug: &str) -> Option<&str> {
    let end = debug
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(debug.len());
    let (name, rest) = debug.split_at(end);
    let is_type = name.starts_with(|c: char| c.is_ascii_uppercase())
        && (rest.is_empty() || rest.starts_with([' ', '(', '{']));
    is_type.then_some(name)
}

/// `alloc::boxed::Box<dyn core::error::Error>` → `Box<dyn Error>`: each path keeps its last
/// segment, generics and punctuation stay. A type called just `Error` keeps the module that
/// says whose it is: `std::io::error::Error` → `io::Error`, `anyhow::Error` stays.
pub(crate) fn short_type_name(full: &str) -> String {
    const NOT_AN_OWNER: [&str; 4] = ["error", "core", "std", "alloc"];
    let mut short = String::with_capacity(full.len());
    let mut path: Vec<&str> = Vec::new();
    let mut rest = full;
    while let Some(c) = rest.chars().next() {
        let ident_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if ident_len == 0 {
            short.push(c);
            rest = &rest[c.len_utf8()..];
            path.clear();
            continue;
        }
        let ident = &rest[..ident_len];
        rest = &rest[ident_len..];
        if let Some(after) = rest.strip_prefix("::") {
            path.push(ident);
            rest = after;
            continue;
        }
        if ident == "Error"
            && let Some(owner) = path.iter().rev().find(|s| !NOT_AN_OWNER.contains(s))
        {
            short.push_str(owner);
            short.push_str("::");
        }
        short.push_str(ident);
        path.clear();
    }
    short
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    #[test]
    fn a_dyn_errors_class_is_a_type() {
        let io = std::io::Error::other("disk");
        assert_eq!(class_of_dyn_error(&io), "io::Error");
        let parse = "x".parse::<u8>().expect_err("not a number");
        assert_eq!(class_of_dyn_error(&parse), "ParseIntError");
        #[derive(Debug)]
        struct ConfigMissing {
            _key: &'static str,
        }
        impl fmt::Display for ConfigMissing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("missing")
            }
        }
        impl std::error::Error for ConfigMissing {}
        assert_eq!(
            class_of_dyn_error(&ConfigMissing { _key: "port" }),
            "ConfigMissing"
        );
        assert_eq!(class_named_by_debug("\"just text\""), None);
        assert_eq!(class_named_by_debug("lower { x: 1 }"), None);
        assert_eq!(class_named_by_debug("Timeout"), Some("Timeout"));
        assert_eq!(class_named_by_debug("Wrapped(7)"), Some("Wrapped"));
    }

    #[test]
    fn a_source_chain_that_loops_ends_at_the_causes_limit() {
        #[derive(Debug)]
        struct Itself;
        impl fmt::Display for Itself {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("its own cause")
            }
        }
        impl std::error::Error for Itself {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&Itself)
            }
        }
        let event = ErrorEvent::from_error(
            std::any::type_name::<dyn std::error::Error>(),
            &Itself as &dyn std::error::Error,
            "capture",
        );
        assert_eq!(event.exception_class, "Itself");
        assert_eq!(event.causes.len(), MAX_CAUSES);
    }

    #[test]
    fn a_type_erased_errors_class_is_the_innermost_named_type_else_the_static_type() {
        #[derive(Debug)]
        struct Loading(std::io::Error);
        impl fmt::Display for Loading {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("loading the config")
            }
        }
        impl std::error::Error for Loading {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = Loading(std::io::Error::other("disk"));
        let erased: &dyn std::error::Error = &wrapped;
        let class = |error: &dyn std::error::Error| {
            ErrorEvent::from_error(
                std::any::type_name::<dyn std::error::Error>(),
                error,
                "capture",
            )
            .exception_class
            .into_owned()
        };
        assert_eq!(class(erased), "io::Error");
        assert_eq!(class(&Loading(std::io::Error::other("x")).0), "io::Error");
        let text: Box<dyn std::error::Error> = "just text".into();
        assert_eq!(class(text.as_ref()), "dyn Error");
        // A concrete type names itself, whatever it holds.
        let concrete = ErrorEvent::from_error(std::any::type_name::<Loading>(), &wrapped, "track");
        assert_eq!(concrete.exception_class, "Loading");
        assert!(is_erased(
            "alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"
        ));
        assert!(is_erased("anyhow::Error"));
        assert!(!is_erased("my_app::Error"));
    }

    #[test]
    fn type_names_keep_the_last_segment_of_each_path() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
            "Box<dyn Error + Send>"
        );
        assert_eq!(short_type_name("my_app::Error"), "my_app::Error");
        assert_eq!(short_type_name("std::io::error::Error"), "io::Error");
        assert_eq!(short_type_name("anyhow::Error"), "anyhow::Error");
        assert_eq!(
            short_type_name("serde_json::error::Error"),
            "serde_json::Error"
        );
        assert_eq!(
            short_type_name("(u8, std::io::error::Error)"),
            "(u8, io::Error)"
        );
        assert_eq!(short_type_name("dyn core::error::Error"), "dyn Error");
        assert_eq!(short_type_name("panic"), "panic");
        assert_eq!(short_type_name("&mut [u8]"), "&mut [u8]");
    }

    #[test]
    fn huge_messages_are_cut_on_a_character_boundary_with_a_marker() {
        let event = ErrorEvent::new("T", "é".repeat(MAX_STRING_BYTES), "capture");
        assert!(event.message.len() <= MAX_STRING_BYTES);
        assert!(event.message.ends_with(TRUNCATED));
        assert!(
            event
                .message
                .trim_end_matches(TRUNCATED)
                .chars()
                .all(|c| c == 'é')
        );
        assert!(
            event.message.capacity() <= MAX_STRING_BYTES,
            "the spare 8 KiB is freed"
        );
    }

    #[test]
    fn every_way_of_cutting_keeps_what_fits_whole_and_gives_the_same_text() {
        for len in [0, 1, MAX_STRING_BYTES - 1, MAX_STRING_BYTES] {
            let text = "a".repeat(len);
            assert_eq!(truncate(text.clone()), text);
            assert!(matches!(truncated(&text), Cow::Borrowed(_)));
            assert_eq!(render(&text), text);
        }
        // Three-byte characters around the cut, and a 2 MB text.
        for text in ["€".repeat(MAX_STRING_BYTES), "x".repeat(2 << 20)] {
            let cut = truncate(text.clone());
            assert!(cut.len() <= MAX_STRING_BYTES && cut.ends_with(TRUNCATED));
            assert!(cut.len() > MAX_STRING_BYTES - TRUNCATED.len() - 3);
            assert_eq!(truncated(&text), cut);
            assert_eq!(render(&text), cut);
            assert_eq!(truncate_cow(Cow::Owned(text)), cut);
        }
        let mut value = serde_json::json!({"a": ["x", {"b": "y".repeat(MAX_STRING_BYTES + 1)}]});
        truncate_strings(&mut value);
        let deep = value["a"][1]["b"].as_str().unwrap_or_default();
        assert!(deep.len() <= MAX_STRING_BYTES && deep.ends_with(TRUNCATED));
        assert_eq!(value["a"][0], "x");
    }

    #[test]
    fn a_value_that_formats_forever_is_cut_not_waited_for() {
        struct Endless;
        impl fmt::Display for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                loop {
                    f.write_str("more ")?;
                }
            }
        }
        let text = render(&Endless);
        assert!(text.len() <= MAX_STRING_BYTES && text.ends_with(TRUNCATED));
        assert!(text.starts_with("more more "));
    }

    #[test]
    fn a_failing_display_impl_gives_a_placeholder_not_a_panic() {
        struct Broken;
        impl fmt::Display for Broken {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                Err(fmt::Error)
            }
        }
        assert_eq!(render(&Broken), "<the value's formatting failed>");
    }

    #[test]
    fn a_panicking_display_impl_is_contained() {
        struct Panicky;
        impl fmt::Display for Panicky {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("a bug in Display")
            }
        }
        assert_eq!(render(&Panicky), "<the value's formatting failed>");
    }

    #[test]
    fn the_site_string_the_expansion_writes_is_read_back() {
        assert_eq!(
            read_track_site("app::db::load\nsrc/db.rs\n12\n8"),
            (Some("app::db::load"), "src/db.rs", 12, 8)
        );
        // A `name = ".."` with a line break in it keeps it.
        assert_eq!(
            read_track_site("two\nlines\nsrc/main.rs\n3\n1"),
            (Some("two\nlines"), "src/main.rs", 3, 1)
        );
        // Anything else is kept whole, as the function's name.
        assert_eq!(read_track_site("odd"), (Some("odd"), "", 0, 0));
        assert_eq!(
            read_track_site("a\nb\nc\nd"),
            (Some("a\nb\nc\nd"), "", 0, 0)
        );
    }
}
