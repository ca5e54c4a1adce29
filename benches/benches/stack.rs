//! The caller's cost of `attach_stacktrace`: a tracked `Err` with the whole stack captured,
//! about 30 frames deep: `cargo bench -p allstak-benches --bench stack`.
//!
//! The session is the process's, so this is a bench process of its own (the `track` bench has
//! the same Err path without the stack). Symbolizing happens on the transport thread; what is
//! measured is the reporting thread's time only.

use std::hint::black_box;
use std::time::Duration;

use allstak_benches::{plain, start_session_with, tracked};
use criterion::{Criterion, criterion_group, criterion_main};

/// Frames between the bench loop and the tracked fn, so that the stack is ~30 frames deep.
const RECURSION: u32 = 14;

#[inline(never)]
fn nested(depth: u32, f: fn(u64) -> Result<u64, allstak_benches::Invalid>) -> u64 {
    if depth == 0 {
        f(black_box(43)).unwrap_or(0)
    } else {
        black_box(nested(depth - 1, f) + 1)
    }
}

#[inline(never)]
fn frames_below_a_tracked_fn() -> usize {
    fn count(_: u64) -> Result<u64, allstak_benches::Invalid> {
        let text = format!("{:#}", std::backtrace::Backtrace::force_capture());
        let frames = text
            .lines()
            .filter(|l| {
                l.trim_start()
                    .split(':')
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .count();
        Ok(frames as u64)
    }
    usize::try_from(nested(RECURSION, count)).unwrap_or(0)
}

fn err_path_with_the_stack(c: &mut Criterion) {
    let collector = start_session_with(allstak::testing::Reply::accepted(), |config| {
        config.attach_stacktrace(true)
    });
    eprintln!(
        "stack depth at the tracked fn: ~{} frames",
        frames_below_a_tracked_fn()
    );
    let mut group = c.benchmark_group("err_path_attach_stacktrace");
    group.bench_function("plain", |b| b.iter(|| nested(black_box(RECURSION), plain)));
    // The transport thread symbolizes and sends each event meanwhile, on the same cores.
    group.bench_function("tracked_server_up", |b| {
        b.iter(|| nested(black_box(RECURSION), tracked))
    });
    // The transport thread waits on a request that is never answered: the reporting thread's
    // own cost, with nothing competing for the cores (events past the queue are dropped).
    collector.set_reply(allstak::testing::Reply::never());
    group.bench_function("tracked_server_blackholed", |b| {
        b.iter(|| nested(black_box(RECURSION), tracked))
    });
    group.finish();
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = err_path_with_the_stack
);
criterion_main!(benches);
