//! What the default scrubbing of strings costs an event, on the SDK's thread:
//! `cargo bench -p allstak-benches --bench scrub`.
//!
//! A typical event's strings: a 100-byte message and ten 40-byte breadcrumb messages, first with
//! no secret in them (the common case: nothing is copied), then with one secret in four of them.

use std::hint::black_box;
use std::time::Duration;

use allstak::__private::scrub_text;
use criterion::{Criterion, criterion_group, criterion_main};

/// 100 bytes, as a tracked error's message reads.
const MESSAGE: &str = "failed to load order 8812 for user u-42: connection refused (os error 111) at src/db/orders.rs:42:17";

/// Ten breadcrumb messages of 40 bytes.
const BREADCRUMBS: [&str; 10] = [
    "GET /api/orders/8812 answered 200 in 4ms",
    "cache miss for key order:8812, loading..",
    "SELECT * FROM orders WHERE id = $1 (3ms)",
    "retrying db connection: attempt 2 of 5..",
    "user u-42 opened the checkout page today",
    "payment provider answered 502 Bad Gatewa",
    "queued email job 1f3a for later delivery",
    "feature flag new_checkout=on for u-42 ok",
    "tracing span db.query{table=orders} done",
    "released pool connection #7 after 12 ms.",
];

/// The same strings, four with a secret.
const WITH_SECRETS: [&str; 4] = [
    "login for ada@example.com failed, retry!",
    "DbConfig { host: \"db\", pwd: \"hunter2\" }",
    "GET /reset?token=abc123&page=2 answered 200",
    "charged card 4111 1111 1111 1111 ok, u-42",
];

fn scrub_all(message: &str, breadcrumbs: &[&str]) -> usize {
    let mut length = scrub_text(black_box(message)).len();
    for breadcrumb in breadcrumbs {
        length += scrub_text(black_box(breadcrumb)).len();
    }
    length
}

/// This thread's time on a CPU so far (Linux: `/proc/thread-self/schedstat`), unlike wall
/// time not lengthened by other processes running meanwhile.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split(' ').next()?.parse().ok()?))
}

/// Prints the CPU time per call of `f` over many calls.
fn print_cpu_time_per_call(what: &str, f: impl Fn() -> usize) {
    const CALLS: u32 = 200_000;
    let Some(before) = cpu_time() else { return };
    for _ in 0..CALLS {
        black_box(f());
    }
    if let Some(after) = cpu_time() {
        eprintln!(
            "{what}: {:?} of CPU time per event",
            (after - before) / CALLS
        );
    }
}

fn event_strings(c: &mut Criterion) {
    assert_eq!(MESSAGE.len(), 100);
    let mut group = c.benchmark_group("scrub_event_strings");
    print_cpu_time_per_call("no_secret", || scrub_all(MESSAGE, &BREADCRUMBS));
    group.bench_function("no_secret", |b| b.iter(|| scrub_all(MESSAGE, &BREADCRUMBS)));
    let mut mixed = BREADCRUMBS;
    mixed[..WITH_SECRETS.len()].copy_from_slice(&WITH_SECRETS);
    for (secret, scrubbed) in WITH_SECRETS.iter().map(|s| (s, scrub_text(s))) {
        assert!(scrubbed.contains("[scrubbed]"), "{secret}");
    }
    print_cpu_time_per_call("four_secrets", || scrub_all(MESSAGE, &mixed));
    group.bench_function("four_secrets", |b| b.iter(|| scrub_all(MESSAGE, &mixed)));
    group.finish();
}

criterion_group!(benches, event_strings);
criterion_main!(benches);
