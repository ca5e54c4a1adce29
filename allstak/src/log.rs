//! `log` integration (feature `log`): a [`Logger`] around the program's own logger. Every
//! record of the program still reaches that logger exactly as before (env_logger keeps
//! printing); error records also become error events (the session becomes `errored`), warn and
//! info records breadcrumbs ([`Logger::filter`] decides otherwise per record's metadata,
//! [`Logger::mapper`] per record). Records logged on the SDK's own threads (its HTTP client's, under
//! the targets `ureq`, `ureq_proto`, `rustls`, `hyper`, `hyper_util`, `reqwest`, `h2`) are the
//! SDK's: they reach neither that logger nor AllStak.
//!
//! ```
//! # struct Quiet; // the program's logger, e.g. `env_logger::Builder::from_default_env().build()`
//! # impl log::Log for Quiet {
//! #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
//! #     fn log(&self, _: &log::Record<'_>) {}
//! #     fn flush(&self) {}
//! # }
//! let logger = allstak::log::Logger::new(Quiet);
//! log::set_logger(Box::leak(Box::new(logger))).expect("the first logger");
//! // Breadcrumbs need info and warn records: at least `Info`, or what `RUST_LOG` asks for
//! // beyond it (env_logger's `Logger::filter()` says what that is).
//! log::set_max_level(log::LevelFilter::Info);
//! ```

use std::fmt;
use std::sync::Arc;

use crate::breadcrumbs::Breadcrumb;
use crate::event::{ErrorEvent, Location, render};
use crate::integration as client;
pub use crate::{EventFilter, Mapping};
use crate::{Level, sdk_thread};

/// The default: `Error` → event, `Warn` and `Info` → breadcrumb, `Debug` and `Trace` → ignored.
///
/// ```
/// let metadata = log::Metadata::builder().level(log::Level::Warn).build();
/// assert_eq!(
///     allstak::log::default_filter(&metadata),
///     allstak::EventFilter::Breadcrumb
/// );
/// ```
#[must_use]
pub fn default_filter(metadata: &::log::Metadata<'_>) -> EventFilter {
    match metadata.level() {
        ::log::Level::Error => EventFilter::Event,
        ::log::Level::Warn | ::log::Level::Info => EventFilter::Breadcrumb,
        ::log::Level::Debug | ::log::Level::Trace => EventFilter::Ignore,
    }
}

type Filter = dyn Fn(&::log::Metadata<'_>) -> EventFilter + Send + Sync;
type Mapper = dyn Fn(&::log::Record<'_>) -> Mapping + Send + Sync;

/// A [`log::Log`] that reports to AllStak and passes every record on to `inner`.
///
/// ```
/// # struct Quiet;
/// # impl log::Log for Quiet {
/// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
/// #     fn log(&self, _: &log::Record<'_>) {}
/// #     fn flush(&self) {}
/// # }
/// let logger: allstak::log::Logger<Quiet> = allstak::log::Logger::new(Quiet);
/// # let _ = logger;
/// ```
pub struct Logger<L> {
    inner: L,
    filter: Arc<Filter>,
    mapper: Option<Arc<Mapper>>,
}

impl<L> fmt::Debug for Logger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("mapper", &self.mapper.is_some())
            .finish_non_exhaustive()
    }
}

impl<L: ::log::Log> Logger<L> {
    /// Wraps the program's logger.
    ///
    /// ```
    /// # struct Quiet;
    /// # impl log::Log for Quiet {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// let logger = allstak::log::Logger::new(Quiet);
    /// # let _ = logger;
    /// ```
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            filter: Arc::new(default_filter),
            mapper: None,
        }
    }

    /// Decides per record what it becomes, in place of [`default_filter`].
    ///
    /// ```
    /// # struct Quiet;
    /// # impl log::Log for Quiet {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// use allstak::EventFilter;
    /// let logger = allstak::log::Logger::new(Quiet).filter(|metadata| {
    ///     if metadata.target().starts_with("hyper") {
    ///         EventFilter::Ignore
    ///     } else {
    ///         allstak::log::default_filter(metadata)
    ///     }
    /// });
    /// # let _ = logger;
    /// ```
    #[must_use]
    pub fn filter(
        mut self,
        filter: impl Fn(&::log::Metadata<'_>) -> EventFilter + Send + Sync + 'static,
    ) -> Self {
        self.filter = Arc::new(filter);
        self
    }

    /// Decides per record what it becomes, in place of the filter: an error event of any level
    /// and content, a breadcrumb, or nothing ([`Mapping`]). [`event_from_record`] and
    /// [`breadcrumb_from_record`] make what the logger would have made, to start from. A mapped
    /// event makes the session `errored` only at level `error` or `fatal`. The mapper runs on
    /// the logging thread for every record `log`'s max level lets through (after the program's
    /// logger had it): keep it cheap for the records it ignores.
    ///
    /// ```
    /// # struct Quiet;
    /// # impl log::Log for Quiet {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// use allstak::log::{Mapping, breadcrumb_from_record, event_from_record};
    ///
    /// let logger = allstak::log::Logger::new(Quiet).mapper(|record| match record.level() {
    ///     // A failed payment is an error wherever it is logged.
    ///     _ if record.target() == "payments" && record.level() <= log::Level::Warn => {
    ///         Mapping::Event(event_from_record(record))
    ///     }
    ///     log::Level::Error => Mapping::Event(event_from_record(record)),
    ///     log::Level::Warn | log::Level::Info => Mapping::Breadcrumb(breadcrumb_from_record(record)),
    ///     _ => Mapping::Ignore,
    /// });
    /// # let _ = logger;
    /// ```
    #[must_use]
    pub fn mapper(
        mut self,
        mapper: impl Fn(&::log::Record<'_>) -> Mapping + Send + Sync + 'static,
    ) -> Self {
        self.mapper = Some(Arc::new(mapper));
        self
    }
}

/// The error event the logger makes of an error record by default (level `error`, the record's
/// target as its class): for a [`Logger::mapper`] to start from.
///
/// ```
/// let record = log::Record::builder()
///     .args(format_args!("card declined"))
///     .level(log::Level::Error)
///     .target("payments")
///     .build();
/// let event = allstak::log::event_from_record(&record);
/// assert_eq!(event.message(), "card declined");
/// assert_eq!(event.exception_class(), "payments");
/// ```
#[must_use]
pub fn event_from_record(record: &::log::Record<'_>) -> crate::Event {
    crate::Event::captured(event(record))
}

/// The breadcrumb the logger makes of a warn or info record by default: for a
/// [`Logger::mapper`] to start from.
///
/// ```
/// let record = log::Record::builder()
///     .args(format_args!("cache miss"))
///     .level(log::Level::Warn)
///     .target("cache")
///     .build();
/// let breadcrumb = allstak::log::breadcrumb_from_record(&record);
/// assert_eq!(breadcrumb.message(), Some("cache miss"));
/// assert_eq!(breadcrumb.category(), Some("cache"));
/// assert_eq!(breadcrumb.level(), allstak::Level::Warning);
/// ```
#[must_use]
pub fn breadcrumb_from_record(record: &::log::Record<'_>) -> Breadcrumb {
    breadcrumb(record)
}

impl<L: ::log::Log> ::log::Log for Logger<L> {
    /// The program's logger's answer (off on the SDK's own threads): a program that asks
    /// before building a costly record (`log_enabled!`) builds it as often as it did. The `log`
    /// macros call `log` without asking, so what we take from records is the same.
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        !sdk_thread::is_own_thread() && self.inner.enabled(metadata)
    }

    fn log(&self, record: &::log::Record<'_>) {
        if sdk_thread::is_own_thread() {
            return; // the SDK's HTTP client (`ureq`, `rustls`): not the program's to print
        }
        // First, and whatever we make of it: the program's logger sees what it always saw.
        self.inner.log(record);
        if sdk_thread::is_current() {
            return; // the SDK's own diagnostics never feed back into it
        }
        if let Some(mapper) = &self.mapper {
            // The program's code: a panic in it stays in the SDK, and maps to nothing.
            match sdk_thread::quietly(|| mapper(record)) {
                Some(Mapping::Event(mapped)) => {
                    let mapped = mapped.into_inner();
                    let _ = client::capture_at(mapped.level, || mapped);
                }
                Some(Mapping::Breadcrumb(breadcrumb)) => client::add_breadcrumb(|| breadcrumb),
                Some(Mapping::Ignore) | None => {}
            }
            return;
        }
        match (self.filter)(record.metadata()) {
            EventFilter::Event => {
                let _ = client::capture(|| event(record));
            }
            EventFilter::Breadcrumb => client::add_breadcrumb(|| breadcrumb(record)),
            EventFilter::Ignore => {}
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

fn event(record: &::log::Record<'_>) -> ErrorEvent {
    // No error type to name: the class is where it was logged.
    let class = record.target().to_owned().into();
    let mut event = ErrorEvent::with_class(class, "log::Record", render(record.args()), "log");
    event.location = Some(Location::Callsite {
        module: record.module_path_static(),
        file: record.file_static(),
        line: record.line(),
    });
    event
}

fn breadcrumb(record: &::log::Record<'_>) -> Breadcrumb {
    let level = match record.level() {
        ::log::Level::Error => Level::Error,
        ::log::Level::Warn => Level::Warning,
        ::log::Level::Info => Level::Info,
        ::log::Level::Debug | ::log::Level::Trace => Level::Debug,
    };
    Breadcrumb::new(render(record.args()))
        .with_kind("log")
        .with_category(record.target().to_owned())
        .with_level(level)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use ::log::Log as _;

    use super::*;

    struct Quiet;
    impl ::log::Log for Quiet {
        fn enabled(&self, _: &::log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, _: &::log::Record<'_>) {}
        fn flush(&self) {}
    }

    fn log(logger: &Logger<Quiet>, level: ::log::Level, target: &str, text: &str) {
        logger.log(
            &::log::Record::builder()
                .args(format_args!("{text}"))
                .level(level)
                .target(target)
                .build(),
        );
    }

    /// A program's logger at `WARN`.
    struct AtWarn;
    impl ::log::Log for AtWarn {
        fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
            metadata.level() <= ::log::Level::Warn
        }
        fn log(&self, _: &::log::Record<'_>) {}
        fn flush(&self) {}
    }

    #[test]
    fn the_logger_is_enabled_for_what_the_programs_logger_is_enabled_for() {
        let metadata = |level| {
            ::log::Metadata::builder()
                .level(level)
                .target("app")
                .build()
        };
        for logger in [
            Logger::new(AtWarn),
            Logger::new(AtWarn)
                .mapper(|record| Mapping::Breadcrumb(breadcrumb_from_record(record))),
        ] {
            assert!(logger.enabled(&metadata(::log::Level::Error)));
            assert!(logger.enabled(&metadata(::log::Level::Warn)));
            // `log_enabled!(Info)` stays false: the program builds no record it did not.
            assert!(!logger.enabled(&metadata(::log::Level::Info)));
        }
    }

    #[test]
    fn a_mapper_decides_what_a_record_becomes_and_a_warning_event_leaves_the_session_ok() {
        let logger = Logger::new(Quiet).mapper(|record| match record.target() {
            "payments" => {
                let mut event = event_from_record(record);
                event.set_level(Level::Warning);
                Mapping::Event(event)
            }
            "noise" => Mapping::Ignore,
            _ => Mapping::Breadcrumb(breadcrumb_from_record(record)),
        });
        let mut status = None;
        let events = crate::testing::capture(|| {
            log(&logger, ::log::Level::Info, "payments", "card declined");
            log(&logger, ::log::Level::Error, "noise", "ignored");
            log(&logger, ::log::Level::Error, "app", "a breadcrumb now");
            status = Some(crate::session_status());
        });
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].message(), "card declined");
        assert_eq!(events[0].level(), Level::Warning);
        assert_eq!(status, Some(crate::SessionStatus::Ok));
    }
}
