//! The `tower` layer's `Ok` path in instructions, which a loaded machine does not move:
//! `valgrind --tool=cachegrind --cache-sim=no target/release/tower_instructions <bare|layer|route> 100000`,
//! the same for each, then (Ir of one − Ir of bare) ÷ 100000 per request. A session runs
//! against a loopback collector, as in `benches/benches/context.rs`.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use allstak_benches::tower_fixture::{Hello, Route, request};
use tower_layer::Layer as _;
use tower_service::Service;

fn serve_all<S>(mut service: S, count: u64) -> u64
where
    S: Service<http::Request<()>, Response = http::Response<()>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut ok = 0;
    for _ in 0..count {
        let future = std::pin::pin!(service.call(request()));
        if let Poll::Ready(Ok(response)) = future.poll(&mut cx) {
            ok += u64::from(response.status().is_success());
        }
    }
    ok
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let count = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let _collector = allstak_benches::start_session(allstak::testing::Reply::accepted());
    let layer = allstak::tower::Layer::new();
    let ok = match which.as_str() {
        "bare" => serve_all(Hello, count),
        "layer" => serve_all(layer.layer(Hello), count),
        "route" => serve_all(
            layer
                .route(|extensions| extensions.get::<Route>().map(|route| route.0))
                .layer(Hello),
            count,
        ),
        _ => {
            eprintln!("usage: tower_instructions <bare|layer|route> [count]");
            std::process::exit(2);
        }
    };
    println!("{ok} requests answered");
}
