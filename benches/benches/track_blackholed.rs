//! The Err path with a session whose server never answers, so the queue is full:
//! `cargo bench -p allstak-benches --bench track_blackholed`. The caller must not wait.

use std::hint::black_box;
use std::time::Duration;

use allstak::testing::{Collector, Reply};
use criterion::{Criterion, criterion_group, criterion_main};

#[derive(Debug)]
struct Invalid(u64);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is odd", self.0)
    }
}

impl std::error::Error for Invalid {}

#[allstak::track]
#[inline(never)]
fn tracked(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

fn blackholed(c: &mut Criterion) {
    let collector = Collector::start().expect("collector");
    collector.set_reply(Reply::never());
    let guard = allstak::init(
        allstak::Config::builder()
            .api_key("bench")
            .host(collector.url())
            .release("bench@1")
            .track_test_runs(true)
            .exit_deadline(Duration::from_millis(100))
            .build(),
    );
    std::mem::forget(guard);
    // Fill the queue first: from then on every error is dropped and counted.
    for n in 0..10_000 {
        let _ = tracked(2 * n + 1);
    }
    assert!(allstak::dropped_events() > 0, "the queue is full");
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
