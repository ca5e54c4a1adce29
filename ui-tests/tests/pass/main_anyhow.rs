#![deny(warnings)]
#![deny(clippy::pedantic)]

#[allstak::main]
fn main() -> anyhow::Result<()> {
    let n: u8 = "7".parse()?;
    anyhow::ensure!(n == 7, "parsed {n}");
    Ok(())
}
