#![deny(warnings)]
#![deny(clippy::pedantic)]
//! `#[tokio::main(flavor = "current_thread")]` below `#[allstak::main]`, on a unit `main`.

#[allstak::main(end_on_signals = false)]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let task = tokio::spawn(async { 3 });
    assert_eq!(task.await.ok(), Some(3));
}
