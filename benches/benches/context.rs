//! What a user, a tag and the `tower` layer cost, with a session:
//! `cargo bench -p allstak-benches --bench context`.
//!
//! The layer is measured against the same service without it, on the `Ok` path (a 200): the
//! request is built outside the timed part (`iter_batched`), as a server hands it over, with
//! the headers the layer reads (`Host`, `User-Agent`) and a route in its extensions.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use allstak::testing::Reply;
use allstak_benches::start_session;
use allstak_benches::tower_fixture::{Hello, Route, request};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tower_layer::Layer as _;
use tower_service::Service;

/// Calls `service` once and polls its future to the end (it is always ready).
fn serve<S>(service: &mut S, request: http::Request<()>) -> u16
where
    S: Service<http::Request<()>, Response = http::Response<()>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    let future = std::pin::pin!(service.call(request));
    match future.poll(&mut cx) {
        Poll::Ready(Ok(response)) => response.status().as_u16(),
        _ => 0,
    }
}

fn context(c: &mut Criterion) {
    let _collector = start_session(Reply::accepted());

    c.bench_function("set_user", |b| {
        b.iter(|| {
            allstak::set_user(
                allstak::User::new()
                    .with_id(black_box("u-42"))
                    .with_email(black_box("ada@example.com")),
            );
        });
    });
    c.bench_function("set_tag", |b| {
        b.iter(|| allstak::set_tag(black_box("region"), black_box("eu-west-1")));
    });
    // The tags of the next benchmarks' events, had they any.
    allstak::set_tag("tenant", "acme");

    let mut bare = Hello;
    c.bench_function("service_ok_bare", |b| {
        b.iter_batched(request, |r| serve(&mut bare, r), BatchSize::SmallInput);
    });
    let mut layered = allstak::tower::Layer::new().layer(Hello);
    c.bench_function("service_ok_layer", |b| {
        b.iter_batched(request, |r| serve(&mut layered, r), BatchSize::SmallInput);
    });
    let mut routed = allstak::tower::Layer::new()
        .route(|extensions| extensions.get::<Route>().map(|route| route.0))
        .layer(Hello);
    c.bench_function("service_ok_layer_with_route", |b| {
        b.iter_batched(request, |r| serve(&mut routed, r), BatchSize::SmallInput);
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = context
);
criterion_main!(benches);
