#![deny(warnings)]
#![deny(clippy::pedantic)]

#[allstak::track]
async fn fetch() -> Result<u8, std::io::Error> {
    Ok(1)
}

#[allstak::main]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), std::io::Error> {
    let n = fetch().await?;
    assert_eq!(n, 1);
    Ok(())
}
