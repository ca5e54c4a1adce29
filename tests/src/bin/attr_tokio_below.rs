//! `#[tokio::main]` below `#[allstak::main]`: ours sees the `async fn` first.

use allstak_tests::{AttrTokioBelow, Scenario as _};

#[allstak::track]
async fn fetch(ok: bool) -> Result<u32, std::io::Error> {
    tokio::task::yield_now().await;
    if ok {
        Ok(7)
    } else {
        Err(std::io::Error::other("upstream timed out"))
    }
}

#[allstak::main]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ok = match AttrTokioBelow::of_this_process() {
        AttrTokioBelow::Ok => true,
        AttrTokioBelow::Err => false,
    };
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    println!("fetched: {:?}", fetch(ok).await.ok());
}
