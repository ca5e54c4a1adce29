#[allstak::track]
#[track_caller]
fn check(n: u8) -> Result<u8, String> {
    Ok(n)
}

fn main() {
    let _ = check(1);
}
