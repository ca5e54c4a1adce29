//! An axum server on 127.0.0.1 behind `allstak::tower::Layer`, driven by its first argument:
//! `serve` prints `listening on <address>` and serves until its stdin closes; `service-error`
//! calls a failing tower service once, through the layer; `serve-scopes` serves after setting a
//! process tag and breadcrumb, for the concurrent requests of `/together/{name}`.

use std::future::Ready;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Path};
use axum::http::{Request, Response, StatusCode};
use axum::routing::{get, post};

use allstak::InScope as _;
use allstak_tests::{AxumProgram, Scenario as _};
use tower_layer::Layer as _;
use tower_service::Service as _;

#[allstak::track]
fn load_settings() -> std::io::Result<String> {
    std::fs::read_to_string("/nonexistent/allstak/settings.toml")
}

async fn user(Path(id): Path<u32>) -> Result<String, StatusCode> {
    if id == 42 {
        Err(StatusCode::INTERNAL_SERVER_ERROR)
    } else {
        Ok(format!("user {id}"))
    }
}

/// Sets the caller as the user of this request's events: the 503 for account 9 carries it.
async fn account(Path(id): Path<u32>) -> StatusCode {
    allstak::set_user(allstak::User::new().with_id(format!("u-{id}")));
    if id == 9 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// A gRPC method answering as tonic does for a `Status` a unary handler returns: HTTP 200,
/// trailers-only, the status in the headers. `code` is the gRPC status code.
async fn grpc(Path(code): Path<u8>) -> Response<axum::body::Body> {
    Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", "the%20backend%20is%20down")
        .body(axum::body::Body::empty())
        .expect("a response")
}

async fn settings() -> StatusCode {
    match load_settings() {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

/// How many `/together/{name}` requests the test sends at once.
const TOGETHER: usize = 4;

/// Where each `/together/{name}` request waits until all are at the same point.
static ALL_IN_FLIGHT: LazyLock<tokio::sync::Barrier> =
    LazyLock::new(|| tokio::sync::Barrier::new(TOGETHER));

#[allstak::track]
fn check_quota(name: &str) -> std::io::Result<()> {
    Err(std::io::Error::other(format!("{name} is over quota")))
}

/// One of [`TOGETHER`] concurrent requests, from caller `name`: it sets its user, a tag, extra
/// data and a breadcrumb; waits until every request did; adds a breadcrumb; waits again; then
/// fails, each caller its own way: `alice` captures an error in the handler, `bob` answers 500
/// (the layer reports it), `carol` gets a tracked fn's `Err`, anyone else reports from a task it
/// spawns, bound to the request's scope.
async fn together(Path(name): Path<String>) -> StatusCode {
    allstak::set_user(allstak::User::new().with_id(format!("u-{name}")));
    allstak::set_tag("caller", name.clone());
    allstak::configure_scope(|scope| scope.set_extra("caller_extra", name.clone()));
    allstak::add_breadcrumb(allstak::Breadcrumb::new(format!("{name}: started")));
    // Every request has set its values before any goes on (on whichever worker it resumes).
    ALL_IN_FLIGHT.wait().await;
    allstak::add_breadcrumb(allstak::Breadcrumb::new(format!("{name}: resumed")));
    // Every request has added its second breadcrumb before any reports.
    ALL_IN_FLIGHT.wait().await;
    match name.as_str() {
        "alice" => {
            allstak::capture_display(&format!("{name} failed in the handler"));
            StatusCode::OK
        }
        "bob" => StatusCode::INTERNAL_SERVER_ERROR,
        "carol" => match check_quota(&name) {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::TOO_MANY_REQUESTS,
        },
        _ => {
            let task = async move {
                tokio::task::yield_now().await;
                allstak::add_breadcrumb(allstak::Breadcrumb::new(format!(
                    "{name}: in the spawned task"
                )));
                allstak::capture_display(&format!("{name} failed in a spawned task"));
            };
            match tokio::spawn(task.in_current_scope()).await {
                Ok(()) => StatusCode::OK,
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }
}

async fn panics() -> &'static str {
    panic!("the handler failed")
}

fn layer() -> allstak::tower::Layer {
    allstak::tower::Layer::new()
        .route(|extensions| extensions.get::<MatchedPath>().map(MatchedPath::as_str))
}

async fn reset() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn serve(layer: allstak::tower::Layer) {
    let app = axum::Router::new()
        .route("/reset/{token}", get(reset))
        .route("/ok", get(|| async { "fine" }))
        .route("/users/{id}", get(user))
        .route("/accounts/{id}", get(account))
        .route("/inventory.Stock/Reserve/{code}", post(grpc))
        .route("/settings", post(settings))
        .route("/panic", get(panics))
        .route("/together/{name}", get(together))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let address = listener.local_addr().expect("its address");
    println!("listening on {address}");
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| std::io::read_to_string(std::io::stdin())).await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stdin_closed)
        .await
        .expect("serving");
}

/// A tower service that always fails.
#[derive(Clone)]
struct Unavailable;

#[derive(Debug)]
struct UpstreamGone;

impl std::fmt::Display for UpstreamGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the upstream is gone")
    }
}

impl tower_service::Service<Request<()>> for Unavailable {
    type Response = Response<()>;
    type Error = UpstreamGone;
    type Future = Ready<Result<Response<()>, UpstreamGone>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), UpstreamGone>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        std::future::ready(Err(UpstreamGone))
    }
}

async fn service_error() {
    let request = Request::post("http://jobs.internal:8080/jobs/7?secret=s3")
        .header("user-agent", "jobs-client/2")
        .body(())
        .expect("a request");
    let outcome = layer().layer(Unavailable).call(request).await;
    assert!(outcome.is_err());
}

#[allstak::main]
#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    match AxumProgram::of_this_process() {
        AxumProgram::Serve => serve(layer()).await,
        AxumProgram::ServeWithoutRoute => serve(allstak::tower::Layer::new()).await,
        AxumProgram::ServiceError => service_error().await,
        AxumProgram::ServeScopes => {
            // The process's values, outside any scope: every request's events carry them too.
            allstak::set_tag("service", "scopes-demo");
            allstak::add_breadcrumb(allstak::Breadcrumb::new("serving"));
            serve(layer()).await;
        }
    }
    println!("done");
}
