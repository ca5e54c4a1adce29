//! The `tower` layer's `Ok` path in instructions, which a loaded machine does not move:
//! `valgrind --tool=cachegrind --cache-sim=no target/release/tower_instructions <bare|layer|route> 100000`,
//! the same for each, then (Ir of one − Ir of bare) ÷ 100000 per request. A session runs
//! against a loopback collector, as in `benches/benches/context.rs`.

use std::convert::Infallible;
use std::future::{Future, Ready};
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use tower_layer::Layer as _;
use tower_service::Service;

#[derive(Clone)]
struct Hello;

impl Service<http::Request<()>> for Hello {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<()>) -> Self::Future {
        black_box(&request);
        std::future::ready(Ok(http::Response::new(())))
    }
}

#[derive(Clone)]
struct Route(&'static str);

/// A request as a server hands it over: its URI and header values share the server's read
/// buffer (hyper's are slices of it: a clone is a reference count, not a copy; static here),
/// its headers are the ones the layer reads, its extensions hold the route.
fn request() -> http::Request<()> {
    static URI: std::sync::OnceLock<http::Uri> = std::sync::OnceLock::new();
    let uri = URI.get_or_init(|| http::Uri::from_static("/users/42?page=2"));
    let mut request = http::Request::get(uri.clone())
        .header(
            http::header::HOST,
            http::HeaderValue::from_static("api.example:8080"),
        )
        .header(
            http::header::USER_AGENT,
            http::HeaderValue::from_static("bench/1.0"),
        )
        .body(())
        .unwrap_or_default();
    request.extensions_mut().insert(Route("/users/{id}"));
    request
}

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
