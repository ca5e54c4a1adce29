//! The functions the benchmarks measure: a tracked fn and its unannotated twin, same body,
//! both `#[inline(never)]`.

/// The error both return for odd numbers.
#[derive(Debug)]
pub struct Invalid(pub u64);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is odd", self.0)
    }
}

impl std::error::Error for Invalid {}

/// Halves even numbers; odd ones are an error.
///
/// # Errors
/// For odd numbers.
#[inline(never)]
pub fn plain(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

/// [`plain`] under `#[allstak::track]`.
///
/// # Errors
/// For odd numbers.
#[allstak::track]
#[inline(never)]
pub fn tracked(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

/// Starts the process's session against a loopback collector answering with `reply`, for the
/// rest of the bench process; returns the collector (keep it alive).
///
/// # Panics
/// When no collector can be started: the benchmark cannot run.
#[must_use]
pub fn start_session(reply: allstak::testing::Reply) -> allstak::testing::Collector {
    start_session_with(reply, |config| config)
}

/// [`start_session`] with more settings on the config.
///
/// # Panics
/// When no collector can be started: the benchmark cannot run.
#[must_use]
pub fn start_session_with(
    reply: allstak::testing::Reply,
    configure: impl FnOnce(allstak::ConfigBuilder) -> allstak::ConfigBuilder,
) -> allstak::testing::Collector {
    let collector = allstak::testing::Collector::start().expect("collector");
    collector.set_reply(reply);
    let guard = allstak::init(
        configure(allstak::Config::builder())
            .api_key("bench")
            .host(collector.url())
            .release("bench@1")
            .track_test_runs(true)
            .exit_deadline(std::time::Duration::from_millis(100))
            .build(),
    );
    // The session lives for the rest of the bench process.
    std::mem::forget(guard);
    assert!(allstak::current_session_id().is_some());
    collector
}

/// What the `tower` layer's benchmarks serve: a handler answering 200 at once, and a request as
/// a server hands it over (`benches/benches/context.rs`, `src/bin/tower_instructions.rs`).
pub mod tower_fixture {
    use std::convert::Infallible;
    use std::future::Ready;
    use std::hint::black_box;
    use std::task::{Context, Poll};

    use tower_service::Service;

    /// A handler answering 200 at once: the layer's cost is all there is to see.
    #[derive(Clone)]
    pub struct Hello;

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
    pub struct Route(pub &'static str);

    /// A request as a server hands it over: its URI and header values share the server's read
    /// buffer (hyper's are slices of it: a clone is a reference count, not a copy; static here),
    /// its headers are the ones the layer reads, its extensions hold the route.
    #[must_use]
    pub fn request() -> http::Request<()> {
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
}
