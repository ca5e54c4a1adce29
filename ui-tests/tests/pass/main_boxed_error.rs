#![deny(warnings)]
#![deny(clippy::pedantic)]

#[allstak::main]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u8 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}
