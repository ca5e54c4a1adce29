//! `log` integration (feature `log`): a [`Logger`] around the program's own logger. Every
//! record of the program still reaches that logger exactly as before (env_logger keeps
//! printing); error records also become error events (the session becomes `errored`), warn and
//! info records breadcrumbs. Records logged on the SDK's own threads (its HTTP client's, under
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
//! log::set_max_level(log::LevelFilter::Info); // breadcrumbs need info and warn records
//! ```

use std::fmt;
use std::sync::Arc;

pub use crate::EventFilter;
use crate::breadcrumbs::Breadcrumb;
use crate::event::{ErrorEvent, Location, render};
use crate::integration as client;
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

/// A [`log::Log`] that reports to AllStak and passes every record on to `inner`.
pub struct Logger<L> {
    inner: L,
    filter: Arc<Filter>,
}

impl<L> fmt::Debug for Logger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger").finish_non_exhaustive()
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
}

impl<L: ::log::Log> ::log::Log for Logger<L> {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        !sdk_thread::is_own_thread()
            && (self.inner.enabled(metadata) || (self.filter)(metadata) != EventFilter::Ignore)
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
        match (self.filter)(record.metadata()) {
            EventFilter::Event => client::capture(|| event(record)),
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
        .kind("log")
        .category(record.target().to_owned())
        .level(level)
}
