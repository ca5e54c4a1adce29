//! `#[tokio::main]` above `#[allstak::main]`: ours sees tokio's sync `fn main`.

use allstak_tests::{AttrTokioAbove, Scenario as _};

#[allstak::track]
async fn fetch(ok: bool) -> Result<u32, std::io::Error> {
    tokio::task::yield_now().await;
    if ok {
        Ok(7)
    } else {
        Err(std::io::Error::other("upstream timed out"))
    }
}

#[tokio::main]
#[allstak::main]
async fn main() {
    let scenario = AttrTokioAbove::of_this_process();
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    println!("fetched: {:?}", fetch(true).await.ok());
    match scenario {
        AttrTokioAbove::Ok => {}
        AttrTokioAbove::TaskPanic => {
            let task = tokio::spawn(async { panic!("task gave up") });
            println!("task panicked: {}", task.await.is_err());
        }
    }
}
