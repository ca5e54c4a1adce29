//! What scopes cost, with a session: `cargo bench -p allstak-benches --bench scopes`.
//!
//! Entering and leaving: [`allstak::with_scope`] (a scope forked from the current one, then
//! entered and left), [`allstak::Scope::run`] (an existing scope entered and left), and one poll
//! of a future bound to a scope ([`allstak::InScope`]). Then what a scope changes on the paths
//! that run inside one: a tag, a breadcrumb. The `tower` layer's `Ok` path, which forks a scope
//! per request, is `benches/benches/context.rs`'s `service_ok_*`.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use allstak::InScope as _;
use allstak::testing::Reply;
use allstak_benches::start_session;
use criterion::{Criterion, criterion_group, criterion_main};

/// Polls `future` once (it is always ready).
fn poll_once<F: Future<Output = u64>>(future: F) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => 0,
    }
}

fn scopes(c: &mut Criterion) {
    let _collector = start_session(Reply::accepted());
    // The process's values, under every scope.
    allstak::set_tag("tenant", "acme");

    c.bench_function("with_scope_fork_enter_leave", |b| {
        b.iter(|| allstak::with_scope(|_| {}, || black_box(7_u64)));
    });
    let scope = allstak::Scope::new();
    scope.set_tag("job", "export");
    c.bench_function("scope_run_enter_leave", |b| {
        b.iter(|| scope.run(|| black_box(7_u64)));
    });
    c.bench_function("in_scope_poll", |b| {
        b.iter(|| poll_once(std::future::ready(black_box(7_u64)).in_scope(scope.clone())));
    });
    c.bench_function("ready_poll_bare", |b| {
        b.iter(|| poll_once(std::future::ready(black_box(7_u64))));
    });
    scope.run(|| {
        c.bench_function("set_tag_in_a_scope", |b| {
            b.iter(|| allstak::set_tag(black_box("region"), black_box("eu-west-1")));
        });
        c.bench_function("add_breadcrumb_in_a_scope", |b| {
            b.iter(|| allstak::add_breadcrumb(allstak::Breadcrumb::new(black_box("cache miss"))));
        });
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = scopes
);
criterion_main!(benches);
