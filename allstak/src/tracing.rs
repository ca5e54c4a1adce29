//! `tracing` integration (feature `tracing`): a [`Layer`] that turns error-level events into
//! error events (the session becomes `errored`) and info and warn events into breadcrumbs;
//! [`Layer::filter`] decides otherwise per callsite, [`Layer::mapper`] per event.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! tracing_subscriber::registry().with(allstak::tracing::layer()).init();
//! ```
//!
//! An error event's message is the event's message. A field holding a
//! `&(dyn Error + 'static)` (conventionally `error`, as in `tracing::error!(error = &e as &dyn
//! Error, "…")`) gives the exception class and the `source()` chain, and is never dropped; an
//! `error` field given by `Display` (`error = %e`, what `#[instrument(err)]` writes) is kept the
//! same way. Every other field, and the names and fields of the enclosing spans, go to the
//! event's `metadata`; its frame is the event's callsite. An `Err` that both
//! `#[tracing::instrument(err)]` and `#[allstak::track]` see is reported once, in either order.
//! Events on the SDK's own threads are ignored. Every message, field and span value is cut to
//! [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES) as it is recorded (a 2 MB `info!` costs the
//! trail 8 KiB, and is never copied whole).
//!
//! Beside the program's own layers (`fmt` at any level, with a global `EnvFilter` or per-layer
//! filters, in either order) the layer changes nothing they print: it switches no callsite off,
//! and it only keeps out what the SDK's own threads log (its HTTP client's records, under the
//! targets `ureq`, `ureq_proto`, `rustls`, `hyper`, `hyper_util`, `reqwest`, `h2`). A program
//! that logs without this layer and wants them out filters those targets, e.g.
//! `RUST_LOG=debug,ureq=warn,ureq_proto=warn,rustls=warn`.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::breadcrumbs::Breadcrumb;
use crate::event::{self, ErrorEvent, Location};
use crate::integration as client;
pub use crate::{EventFilter, Mapping};
use crate::{Level, sdk_thread};

/// The default: `ERROR` → event, `WARN` and `INFO` → breadcrumb, `DEBUG` and `TRACE` → ignored.
///
/// ```
/// use allstak::tracing::{EventFilter, default_filter};
/// let layer = allstak::tracing::layer().filter(|metadata| match metadata.target() {
///     "noisy_dependency" => EventFilter::Ignore,
///     _ => default_filter(metadata),
/// });
/// # let _ = layer;
/// ```
#[must_use]
pub fn default_filter(metadata: &Metadata<'_>) -> EventFilter {
    let level = *metadata.level();
    if level == tracing_core::Level::ERROR {
        EventFilter::Event
    } else if level <= tracing_core::Level::INFO {
        // `Level`s order by verbosity: INFO and WARN are at or below INFO.
        EventFilter::Breadcrumb
    } else {
        EventFilter::Ignore
    }
}

/// The former name of [`default_filter`].
///
/// ```
/// # #![allow(deprecated)]
/// use allstak::tracing::default_event_filter;
/// # let _ = default_event_filter;
/// ```
#[deprecated(
    since = "0.3.0",
    note = "renamed `default_filter`, as in `allstak::log`"
)]
#[must_use]
pub fn default_event_filter(metadata: &Metadata<'_>) -> EventFilter {
    default_filter(metadata)
}

type Filter = dyn Fn(&Metadata<'_>) -> EventFilter + Send + Sync;
type Mapper = dyn Fn(&Event<'_>) -> Mapping + Send + Sync;

/// The AllStak layer; made by [`layer()`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let layer: allstak::tracing::Layer = allstak::tracing::layer();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// # let _ = subscriber;
/// ```
#[derive(Clone)]
pub struct Layer {
    filter: Arc<Filter>,
    mapper: Option<Arc<Mapper>>,
}

/// The former name of [`Layer`].
#[deprecated(
    since = "0.3.0",
    note = "renamed `Layer`, as `allstak::tower::Layer` and `allstak::log::Logger`"
)]
pub type AllstakLayer = Layer;

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layer")
            .field("mapper", &self.mapper.is_some())
            .finish_non_exhaustive()
    }
}

/// The AllStak layer for any subscriber built on [`tracing_subscriber::Registry`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let subscriber = tracing_subscriber::registry().with(allstak::tracing::layer());
/// # let _ = subscriber;
/// ```
#[must_use]
pub fn layer() -> Layer {
    client::note_tracing_layer();
    Layer {
        filter: Arc::new(default_filter),
        mapper: None,
    }
}

impl Layer {
    /// Decides per callsite what an event becomes, in place of [`default_filter`].
    ///
    /// ```
    /// use allstak::tracing::{EventFilter, default_filter};
    /// let layer = allstak::tracing::layer().filter(|metadata| {
    ///     if metadata.target().starts_with("hyper") {
    ///         EventFilter::Ignore
    ///     } else {
    ///         default_filter(metadata)
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> EventFilter + Send + Sync + 'static,
    ) -> Self {
        self.filter = Arc::new(filter);
        self
    }

    /// The former name of [`filter`](Self::filter).
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// let layer = allstak::tracing::layer().event_filter(allstak::tracing::default_filter);
    /// # let _ = layer;
    /// ```
    #[deprecated(
        since = "0.3.0",
        note = "renamed `filter`, as in `allstak::log::Logger`"
    )]
    #[must_use]
    pub fn event_filter(
        self,
        filter: impl Fn(&Metadata<'_>) -> EventFilter + Send + Sync + 'static,
    ) -> Self {
        self.filter(filter)
    }

    /// Decides per event what it becomes, in place of the filter: an error event of any level
    /// and content, a breadcrumb, or nothing ([`Mapping`]). [`event_from_event`] and
    /// [`breadcrumb_from_event`] make what the layer would have made, to start from; an event
    /// gets the enclosing spans in its `metadata`, as the layer's own do. A mapped event makes
    /// the session `errored` only at level `error` or `fatal`. The mapper runs on the thread
    /// that emitted the event, for every event the program's filters let through (the SDK's
    /// own threads' excepted): keep it cheap for the levels it ignores.
    ///
    /// ```
    /// use allstak::tracing::{Mapping, breadcrumb_from_event, event_from_event};
    /// use allstak::Level;
    ///
    /// use tracing_core::Level as Verbosity;
    ///
    /// let layer = allstak::tracing::layer().mapper(|event| match *event.metadata().level() {
    ///     Verbosity::ERROR => Mapping::Event(event_from_event(event)),
    ///     // Warnings are events too, at level `warning`: the session stays `ok`.
    ///     Verbosity::WARN => {
    ///         let mut warning = event_from_event(event);
    ///         warning.set_level(Level::Warning);
    ///         Mapping::Event(warning)
    ///     }
    ///     Verbosity::INFO => Mapping::Breadcrumb(breadcrumb_from_event(event)),
    ///     _ => Mapping::Ignore,
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn mapper(
        mut self,
        mapper: impl Fn(&Event<'_>) -> Mapping + Send + Sync + 'static,
    ) -> Self {
        self.mapper = Some(Arc::new(mapper));
        self
    }
}

/// The error event the layer makes of an error-level `event` by default (without the enclosing
/// spans, which the layer adds): for a [`Layer::mapper`] to start from.
///
/// ```
/// use allstak::tracing::{Mapping, event_from_event};
/// let layer = allstak::tracing::layer().mapper(|event| {
///     let mut mapped = event_from_event(event);
///     mapped.metadata_mut().insert("team".into(), "payments".into());
///     Mapping::Event(mapped)
/// });
/// # let _ = layer;
/// ```
#[must_use]
pub fn event_from_event(event: &Event<'_>) -> crate::Event {
    let mut fields = EventFields::default();
    event.record(&mut fields);
    crate::Event::captured(error_event(fields, event.metadata()))
}

/// The breadcrumb the layer makes of an info or warn `event` by default: for a
/// [`Layer::mapper`] to start from.
///
/// ```
/// use allstak::tracing::{Mapping, breadcrumb_from_event};
/// let layer = allstak::tracing::layer()
///     .mapper(|event| Mapping::Breadcrumb(breadcrumb_from_event(event).with_kind("audit")));
/// # let _ = layer;
/// ```
#[must_use]
pub fn breadcrumb_from_event(event: &Event<'_>) -> Breadcrumb {
    breadcrumb(event)
}

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // No `register_callsite` or `enabled`: in tracing-subscriber a plain layer's `never` or
    // `false` switches a callsite off for every layer (the program's `fmt` would lose its
    // `debug!` lines). Events the filter ignores cost one call of it, in `on_event`.

    /// Events on the SDK's own threads (its HTTP client's `ureq`, `rustls`, `hyper` records)
    /// are kept out of the program's log, whichever layer would print them.
    fn event_enabled(&self, _event: &Event<'_>, _context: Context<'_, S>) -> bool {
        !sdk_thread::is_own_thread()
    }

    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        if let Some(span) = context.span(id) {
            // Recorded before the lock: the values' `Debug` is the program's code.
            let mut fields = SpanFields::default();
            attributes.record(&mut fields);
            let mut extensions = span.extensions_mut();
            // A second layer of ours on the same registry (a shared telemetry crate adding one
            // too) finds them recorded: `insert` would panic in the program's `span!`.
            if extensions.get_mut::<SpanFields>().is_none() {
                extensions.insert(fields);
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, context: Context<'_, S>) {
        if let Some(span) = context.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        if sdk_thread::is_current() {
            return; // the SDK's own diagnostics never feed back into it
        }
        if let Some(mapper) = &self.mapper {
            // The program's code: a panic in it stays in the SDK, and maps to nothing.
            match sdk_thread::quietly(|| mapper(event)) {
                Some(Mapping::Event(mapped)) => {
                    let _ = sdk_thread::quietly(|| capture_mapped(mapped, event, &context));
                }
                Some(Mapping::Breadcrumb(breadcrumb)) => client::add_breadcrumb(|| breadcrumb),
                Some(Mapping::Ignore) | None => {}
            }
            return;
        }
        match (self.filter)(event.metadata()) {
            EventFilter::Event => {
                let _ = sdk_thread::quietly(|| capture(event, &context));
            }
            EventFilter::Breadcrumb => {
                client::add_breadcrumb(|| breadcrumb(event));
            }
            EventFilter::Ignore => {}
        }
    }
}

/// Sends an event a mapper made of `event`, with the enclosing spans.
fn capture_mapped<S>(mapped: crate::Event, event: &Event<'_>, context: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut mapped = mapped.into_inner();
    let fingerprint = client::fingerprint(&mapped.message);
    client::capture_from_tracing(mapped.level, fingerprint, move || {
        if !mapped.metadata.contains_key("spans") {
            let spans = spans(event, context);
            if !spans.is_empty() {
                mapped
                    .metadata
                    .insert("spans".to_owned(), Value::Array(spans));
            }
        }
        mapped
    });
}

fn capture<S>(event: &Event<'_>, context: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut fields = EventFields::default();
    event.record(&mut fields);
    let metadata = event.metadata();
    // What identifies the error for the once-only rule: its text, as `#[track]` reports it.
    let fingerprint = client::fingerprint(match &fields.error {
        Some(error) => &error.text,
        None => fields.message.as_deref().unwrap_or_default(),
    });
    client::capture_from_tracing(Level::Error, fingerprint, move || {
        let mut captured = error_event(fields, metadata);
        let spans = spans(event, context);
        if !spans.is_empty() {
            captured
                .metadata
                .insert("spans".to_owned(), Value::Array(spans));
        }
        captured
    });
}

/// The error event of an event's fields, without its spans.
fn error_event(fields: EventFields, metadata: &'static Metadata<'static>) -> ErrorEvent {
    let EventFields {
        message,
        error,
        others,
    } = fields;
    let (class, causes, message) = match error {
        Some(ErrorField {
            class,
            text,
            causes,
        }) => {
            let message = message.unwrap_or_else(|| text.clone());
            (
                class,
                std::iter::once(text).chain(causes).collect(),
                message,
            )
        }
        None => (
            None,
            Vec::new(),
            message.unwrap_or_else(|| metadata.name().to_owned()),
        ),
    };
    // Without an error's type, the class is where it was logged: the full module path.
    let class = class.map_or_else(|| metadata.target().into(), Into::into);
    let mut captured = ErrorEvent::with_class(class, metadata.target(), message, "tracing");
    captured.causes = causes;
    captured.location = Some(Location::Callsite {
        module: metadata.module_path(),
        file: metadata.file(),
        line: metadata.line(),
    });
    captured.metadata = others;
    captured
}

/// The enclosing spans, outermost first: `[{name, fields}]`.
fn spans<S>(event: &Event<'_>, context: &Context<'_, S>) -> Vec<Value>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(scope) = context.event_scope(event) else {
        return Vec::new();
    };
    scope
        .from_root()
        .map(|span| {
            let mut entry = Map::new();
            entry.insert("name".to_owned(), Value::from(span.name()));
            if let Some(fields) = span.extensions().get::<SpanFields>()
                && !fields.0.is_empty()
            {
                entry.insert("fields".to_owned(), Value::Object(fields.0.clone()));
            }
            Value::Object(entry)
        })
        .collect()
}

fn breadcrumb(event: &Event<'_>) -> Breadcrumb {
    let mut fields = EventFields::default();
    event.record(&mut fields);
    let metadata = event.metadata();
    let mut breadcrumb = Breadcrumb::new(fields.message.unwrap_or_default())
        .with_kind("log")
        .with_category(metadata.target().to_owned())
        .with_level(level(*metadata.level()));
    breadcrumb.data = fields.others;
    if let Some(error) = fields.error {
        breadcrumb = breadcrumb.with_data("error", error.text);
    }
    breadcrumb
}

fn level(level: tracing_core::Level) -> Level {
    match level {
        tracing_core::Level::ERROR => Level::Error,
        tracing_core::Level::WARN => Level::Warning,
        tracing_core::Level::INFO => Level::Info,
        _ => Level::Debug,
    }
}

/// An error given as a field.
struct ErrorField {
    /// `None` when only its text is known (`error = %e`).
    class: Option<String>,
    text: String,
    causes: Vec<String>,
}

/// An event's fields: its message, its error, and the rest as JSON.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    error: Option<ErrorField>,
    others: Map<String, Value>,
}

impl Visit for EventFields {
    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        if self.error.is_none() {
            self.error = Some(ErrorField {
                class: Some(event::class_of_dyn_error(value)),
                text: event::render(&value),
                causes: event::causes(value),
            });
        } else {
            self.others
                .insert(field.name().to_owned(), Value::from(event::render(&value)));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_text(field, event::truncated(value).into_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_text(field, event::render(&format_args!("{value:?}")));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.others
            .insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.others
            .insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.others
            .insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.others
            .insert(field.name().to_owned(), Value::from(value));
    }
}

impl EventFields {
    fn record_text(&mut self, field: &Field, text: String) {
        match field.name() {
            "message" if self.message.is_none() => self.message = Some(text),
            // `error = %e`, as `#[instrument(err)]` writes it: the error, by its text.
            "error" if self.error.is_none() => {
                self.error = Some(ErrorField {
                    class: None,
                    text,
                    causes: Vec::new(),
                });
            }
            name => {
                self.others.insert(name.to_owned(), Value::from(text));
            }
        }
    }
}

/// A span's fields, kept in its extensions for the events inside it.
#[derive(Default)]
struct SpanFields(Map<String, Value>);

impl Visit for SpanFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            Value::from(event::render(&format_args!("{value:?}"))),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(
            field.name().to_owned(),
            Value::from(event::truncated(value).into_owned()),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
}
