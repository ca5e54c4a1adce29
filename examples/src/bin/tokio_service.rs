//! A tokio service: `cargo run -p allstak-examples --bin tokio_service`.
//!
//! `#[allstak::main]` goes above `#[tokio::main]`. Tracked async fns record their `Err`s; a task
//! that panics is a handled error (tokio catches it), so the session is `errored`, not `crashed`.

use std::time::Duration;

#[derive(Debug)]
struct UpstreamError(u16);

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the upstream answered {}", self.0)
    }
}

impl std::error::Error for UpstreamError {}

#[allstak::track]
async fn handle(request: u32) -> Result<String, UpstreamError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if request % 4 == 3 {
        Err(UpstreamError(502))
    } else {
        Ok(format!("response {request}"))
    }
}

#[allstak::main]
#[tokio::main]
async fn main() {
    let handlers: Vec<_> = (0..8).map(|n| tokio::spawn(handle(n))).collect();
    for handler in handlers {
        match handler.await {
            Ok(Ok(response)) => println!("{response}"),
            Ok(Err(error)) => println!("failed: {error}"),
            Err(panic) => println!("handler panicked: {panic}"),
        }
    }
    println!("session status: {}", allstak::session_status());
}
