//! In-process cost of `#[allstak::track]`: `cargo bench -p allstak-benches --bench track`.
//!
//! Each tracked fn has an unannotated twin with the same body, both `#[inline(never)]`, measured
//! in the same run. The groups run in order: no session first, then with a session started
//! against a loopback collector that answers at once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use allstak_benches::{plain, start_session, tracked};
use criterion::{Criterion, criterion_group, criterion_main};

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
    let _collector = start_session(allstak::testing::Reply::accepted());
    let mut group = c.benchmark_group("err_path_session");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(43))));
    group.bench_function("tracked", |b| b.iter(|| tracked(black_box(43))));
    group.finish();

    // Per-error cost with 1 and with 8 threads hitting the Err path at once.
    let mut group = c.benchmark_group("err_path_threads");
    for threads in [1u32, 8] {
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iterations| per_error_time(threads, iterations))
        });
    }
    group.finish();
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
