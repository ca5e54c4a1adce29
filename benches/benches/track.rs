//! In-process cost of `#[allstak::track]`: `cargo bench -p allstak-benches --bench track`.
//!
//! Each tracked fn has an unannotated twin with the same body, both `#[inline(never)]`, measured
//! in the same run. The groups run in order: no session first, then with a session started
//! against a loopback collector that answers at once: errors back to back (the queue fills and
//! most are dropped), then errors the server takes every one of.

use std::hint::black_box;
use std::time::{Duration, Instant};

use allstak_benches::{plain, start_session, tracked};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

fn ok_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("ok_path");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(42))));
    group.bench_function("tracked", |b| b.iter(|| tracked(black_box(42))));
    group.finish();

    // The same, 1000 calls per iteration (even inputs, all Ok): the timer's own overhead and
    // jitter are then spread over 1000 calls, so a 2% difference can show.
    let mut group = c.benchmark_group("ok_path_x1000");
    group.bench_function("plain", |b| b.iter(|| calls(plain)));
    group.bench_function("tracked", |b| b.iter(|| calls(tracked)));
    group.finish();
}

fn calls(f: fn(u64) -> Result<u64, allstak_benches::Invalid>) -> u64 {
    (0..1000u64).fold(0, |sum, i| sum ^ f(black_box(i * 2)).unwrap_or(0))
}

fn err_path_without_session(c: &mut Criterion) {
    assert!(allstak::current_session_id().is_none());
    let mut group = c.benchmark_group("err_path_no_session");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(43))));
    group.bench_function("tracked", |b| b.iter(|| tracked(black_box(43))));
    group.finish();
}

fn err_path_with_session(c: &mut Criterion) {
    let collector = start_session(allstak::testing::Reply::accepted());
    // Back to back, errors come ~1000× faster than the transport thread posts them: the queue
    // (256) fills within microseconds, and from then on this measures the drop path.
    let dropped_before = allstak::dropped_event_count();
    let mut group = c.benchmark_group("err_path_session_mostly_dropped");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(43))));
    group.bench_function("tracked", |b| b.iter(|| tracked(black_box(43))));
    group.finish();
    say_how_many_were_dropped(
        "err_path_session_mostly_dropped",
        &collector,
        dropped_before,
    );

    // Per-error cost with 1 and with 8 threads hitting the Err path at once (mostly dropped too).
    let mut group = c.benchmark_group("err_path_threads_mostly_dropped");
    for threads in [1u32, 8] {
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iterations| per_error_time(threads, iterations))
        });
    }
    group.finish();

    err_path_delivered(c);
}

/// The Err path when the server takes every event: errors in bursts smaller than the queue,
/// each burst delivered before the next, so that none is dropped. Only the calls are timed.
fn err_path_delivered(c: &mut Criterion) {
    wait_until_delivered();
    let dropped_before = allstak::dropped_event_count();
    let mut group = c.benchmark_group("err_path_session_delivered");
    // Each timed call also costs the transport thread a POST (~0.2 ms, untimed): criterion
    // plans the iterations by the warm-up's wall time, so that is within its 3 s; flat
    // sampling keeps every sample a whole number of bursts or so.
    group.sampling_mode(SamplingMode::Flat).sample_size(50);
    for (name, f) in [("plain", plain as Tracked), ("tracked", tracked)] {
        group.bench_function(format!("{name}_bursts_of_{BURST}"), |b| {
            b.iter_custom(|iterations| delivered_in_bursts(f, iterations, BURST))
        });
        // One error at a time, the transport thread idle when it comes (as with errors that
        // are rare): the call also wakes it. Timed one by one, so this includes a clock read.
        group.bench_function(format!("{name}_one_at_a_time"), |b| {
            b.iter_custom(|iterations| delivered_in_bursts(f, iterations, 1))
        });
    }
    group.finish();
    assert_eq!(
        allstak::dropped_event_count(),
        dropped_before,
        "an event was dropped: this group must measure delivered events only"
    );
}

type Tracked = fn(u64) -> Result<u64, allstak_benches::Invalid>;

/// Errors per burst: below the queue's 256.
const BURST: u64 = 200;

/// The time `iterations` calls of `f` with an `Err` take, in bursts of `burst` calls, each
/// burst delivered before the next starts.
fn delivered_in_bursts(f: Tracked, iterations: u64, burst: u64) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = iterations;
    while left > 0 {
        let calls = left.min(burst);
        let started = Instant::now();
        for _ in 0..calls {
            let _ = black_box(f(black_box(43)));
        }
        timed += started.elapsed();
        left -= calls;
        wait_until_delivered();
    }
    timed
}

/// Waits until the transport thread has sent everything queued.
fn wait_until_delivered() {
    // `flush` gives up after the session's exit deadline (100 ms here); the queue is still
    // being sent then, so ask again.
    while !allstak::flush(Duration::from_millis(100)) {}
}

/// Says on stderr what share of the group's events the server took.
fn say_how_many_were_dropped(
    group: &str,
    collector: &allstak::testing::Collector,
    dropped_before: u64,
) {
    wait_until_delivered();
    let dropped = allstak::dropped_event_count() - dropped_before;
    let sent = collector
        .requests()
        .iter()
        .filter(|r| r.path == "/ingest/v1/errors")
        .count();
    eprintln!(
        "{group}: {dropped} errors dropped, {sent} sent ({:.3}% dropped)",
        100.0 * dropped as f64 / (dropped as f64 + sent as f64)
    );
}

/// The cost of one error when `threads` threads each hit the Err path `iterations` times at
/// once: the wall time, times the cores the threads could use, over the errors per thread. With
/// no contention this equals the one-thread figure, whatever the number of cores.
fn per_error_time(threads: u32, iterations: u64) -> Duration {
    let cores =
        std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1));
    let wall = wall_time(threads, iterations);
    wall * threads.min(cores) / threads
}

fn wall_time(threads: u32, iterations: u64) -> Duration {
    let barrier = std::sync::Barrier::new(threads as usize);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let started = Instant::now();
                    for _ in 0..iterations {
                        let _ = black_box(tracked(black_box(43)));
                    }
                    started.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .max()
            .unwrap_or_default()
    })
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = ok_path, err_path_without_session, err_path_with_session
);
criterion_main!(benches);
