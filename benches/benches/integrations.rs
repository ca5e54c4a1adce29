//! What breadcrumbs and the `tracing` layer cost the caller's thread, with a session:
//! `cargo bench -p allstak-benches --bench integrations`.
//!
//! The server never answers, so the event queue is full after 256 events: the error-event
//! figure is the whole caller-side cost (fields read, class, message, spans, breadcrumb mark)
//! except the channel send of an event that is queued.

use std::hint::black_box;
use std::time::Duration;

use allstak::testing::Reply;
use allstak_benches::start_session;
use criterion::{Criterion, criterion_group, criterion_main};
use tracing_subscriber::prelude::*;

#[derive(Debug)]
struct Refused(u16);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

fn integrations(c: &mut Criterion) {
    let _collector = start_session(Reply::never());
    tracing_subscriber::registry()
        .with(allstak::tracing::layer())
        .init();

    c.bench_function("add_breadcrumb", |b| {
        b.iter(|| allstak::add_breadcrumb(allstak::Breadcrumb::new(black_box("cache miss"))));
    });
    c.bench_function("tracing_info_as_breadcrumb", |b| {
        b.iter(|| tracing::info!(key = black_box(42), "cache miss"));
    });
    c.bench_function("tracing_debug_ignored", |b| {
        b.iter(|| tracing::debug!(key = black_box(42), "not kept"));
    });
    c.bench_function("no_event_at_all", |b| b.iter(|| black_box(42)));
    let span = tracing::info_span!("request", id = 7);
    let _entered = span.enter();
    c.bench_function("tracing_error_with_error_field_in_a_span", |b| {
        b.iter(|| {
            let error = Refused(black_box(503));
            let error: &(dyn std::error::Error + 'static) = &error;
            tracing::error!(error, user = "u-1", "could not sync");
        });
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = integrations
);
criterion_main!(benches);
