//! `#[tokio::main]` below `#[allstak::main]`: ours sees the `async fn` first.

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
    let ok = std::env::args().nth(1).as_deref() != Some("err");
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    println!("fetched: {:?}", fetch(ok).await.ok());
}
