#![allow(unexpected_cfgs)]

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

// Nested, the same; a cfg predicate of that name gives no such attribute.
#[allstak::track]
#[cfg_attr(debug_assertions, cfg_attr(unix, track_caller))]
fn check_nested(n: u8) -> Result<u8, String> {
    Ok(n)
}

#[allstak::track]
#[cfg_attr(track_caller, inline)]
fn not_given(n: u8) -> Result<u8, String> {
    Ok(n)
}

fn main() {
    let _ = check(1);
    let _ = check_in_debug(1);
    let _ = check_nested(1);
    let _ = not_given(1);
}
