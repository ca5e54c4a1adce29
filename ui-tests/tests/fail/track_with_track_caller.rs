#[allstak::track]
#[track_caller]
fn check(n: u8) -> Result<u8, String> {
    Ok(n)
}

// In some builds only: the same.
#[allstak::track]
#[cfg_attr(debug_assertions, track_caller)]
fn check_in_debug(n: u8) -> Result<u8, String> {
    Ok(n)
}

fn main() {
    let _ = check(1);
    let _ = check_in_debug(1);
}
