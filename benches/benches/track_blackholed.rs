//! The Err path with a session whose server never answers, so the queue is full:
//! `cargo bench -p allstak-benches --bench track_blackholed`. The caller must not wait.

use std::hint::black_box;
use std::time::Duration;

use allstak::testing::Reply;
use allstak_benches::{start_session, tracked};
use criterion::{Criterion, criterion_group, criterion_main};

fn blackholed(c: &mut Criterion) {
    let _collector = start_session(Reply::never());
    // Fill the queue first: from then on every error is dropped and counted.
    for n in 0..10_000 {
        let _ = tracked(2 * n + 1);
    }
    assert!(allstak::dropped_event_count() > 0, "the queue is full");
    c.bench_function("err_path_blackholed_queue_full", |b| {
        b.iter(|| tracked(black_box(43)))
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = blackholed
);
criterion_main!(benches);
