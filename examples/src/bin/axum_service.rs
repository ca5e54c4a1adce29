//! An axum service behind `allstak::tower::Layer`:
//! `cargo run -p allstak-examples --bin axum_service`.
//!
//! A 5xx answer is a handled error event with the request's `requestContext` (method, route,
//! host, status, user agent); so is a panic in a handler, which the server survives. The session
//! becomes `errored`, never `crashed`: a server that answered did not crash. A 2xx or a 404 is
//! no event. The tags set with `allstak::set_tag` go with every event; `allstak::set_user` in a
//! handler is the user of that request's events only.
//!
//! With no `ALLSTAK_HOST`, it reports to a loopback collector (`allstak::testing`), sends itself
//! a few requests, and shows what AllStak received. With `ALLSTAK_API_KEY` and `ALLSTAK_HOST`
//! set, it serves on `127.0.0.1:3000` (or `AXUM_SERVICE_ADDR`) until Ctrl-C.

use std::error::Error;

use axum::extract::{MatchedPath, Path};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug)]
struct DatabaseDown;

impl std::fmt::Display for DatabaseDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the users database is down")
    }
}

impl Error for DatabaseDown {}

#[allstak::track]
fn load_user(id: u32) -> Result<String, DatabaseDown> {
    if id == 13 {
        Err(DatabaseDown)
    } else {
        Ok(format!("user {id}"))
    }
}

async fn user(Path(id): Path<u32>) -> Result<String, StatusCode> {
    // Who is calling (here, the user asked for): this request's events carry it.
    allstak::set_user(allstak::User::new().with_id(format!("u-{id}")));
    match id {
        42 => Err(StatusCode::SERVICE_UNAVAILABLE),
        _ => load_user(id).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn crash() -> &'static str {
    panic!("the report generator is out of range")
}

fn app() -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/users/{id}", get(user))
        .route("/report", get(crash))
        .layer(
            allstak::tower::Layer::new()
                // The route (`/users/{id}`), not the path: one group per route.
                .route(|extensions| extensions.get::<MatchedPath>().map(MatchedPath::as_str)),
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let collector = match std::env::var("ALLSTAK_HOST") {
        Ok(_) => None,
        Err(_) => Some(allstak::testing::Collector::start()?),
    };
    let mut config = allstak::Config::builder().default_release(allstak::release_name!());
    if let Some(collector) = &collector {
        println!(
            "No ALLSTAK_HOST: reporting to a loopback collector at {}.\n",
            collector.url()
        );
        config = config
            .host(collector.url())
            .api_key("axum-demo-key")
            .track_test_runs(true);
    }
    let guard = allstak::init(config.build());
    allstak::set_tag("service", "users");

    let address = match &collector {
        Some(_) => "127.0.0.1:0".to_owned(),
        None => std::env::var("AXUM_SERVICE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned()),
    };
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let address = listener.local_addr()?;
    let Some(collector) = collector else {
        println!("Serving on http://{address} (Ctrl-C to stop).");
        axum::serve(listener, app())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        drop(guard);
        return Ok(());
    };

    let server = tokio::spawn(async move { axum::serve(listener, app()).await });
    for path in [
        "/",
        "/users/7",
        "/nowhere",
        "/users/42",
        "/users/13",
        "/report",
    ] {
        let status = get_status(address, path).await;
        println!(
            "GET {path:<10} -> {}",
            status.as_deref().unwrap_or("connection closed")
        );
    }
    server.abort();
    println!("\nsession status: {}", allstak::session_status());
    drop(guard);

    println!("\nThe collector received:");
    for request in collector.requests() {
        println!("  POST {}", request.path);
        if request.path.ends_with("/errors") {
            for field in [
                "exceptionClass",
                "message",
                "user",
                "requestContext",
                "metadata",
            ] {
                if let Some(value) = request.json.get(field) {
                    println!("       {field}: {value}");
                }
            }
        } else {
            println!("       {}", request.body);
        }
    }
    Ok(())
}

/// The status line of a plain HTTP/1.1 GET (a real client would do; this keeps the example's
/// dependencies to axum and tokio).
async fn get_status(address: std::net::SocketAddr, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: axum-service-demo/1\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.lines().next()?.split_once(' ')?.1.to_owned();
    Some(status)
}
