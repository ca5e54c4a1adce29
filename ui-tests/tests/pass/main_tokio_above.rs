#![deny(warnings)]
#![deny(clippy::pedantic)]

#[tokio::main(flavor = "current_thread")]
#[allstak::main]
async fn main() {
    tokio::task::yield_now().await;
}
