#![deny(warnings)]
#![deny(clippy::pedantic)]

//! `#[tokio::main]` above ours, `main` returning a `Result`: `?` and the `Err` type as written.

#[tokio::main(flavor = "current_thread")]
#[allstak::main]
async fn main() -> Result<(), std::num::ParseIntError> {
    tokio::task::yield_now().await;
    let n: u8 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}
