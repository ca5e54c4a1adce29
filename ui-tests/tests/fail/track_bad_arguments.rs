#[allstak::track(nmae = "load")]
fn unknown() -> Result<u8, String> {
    Ok(1)
}

#[allstak::track(report = "no")]
fn mistyped() -> Result<u8, String> {
    Ok(1)
}

#[allstak::track(name = "a", name = "b")]
fn repeated() -> Result<u8, String> {
    Ok(1)
}

fn main() {
    let _ = (unknown(), mistyped(), repeated());
}
