//! `#[tokio::main]` above `#[allstak::main]`: ours sees tokio's sync `fn main`.

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
    let scenario = std::env::args().nth(1).unwrap_or_default();
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    println!("fetched: {:?}", fetch(scenario != "err").await.ok());
    if scenario == "task-panic" {
        let task = tokio::spawn(async { panic!("task gave up") });
        println!("task panicked: {}", task.await.is_err());
    }
}
