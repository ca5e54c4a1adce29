#![deny(dead_code, unused_variables, unreachable_code)]

#[allstak::track]
fn never_called() -> Result<u8, ()> {
    Ok(1)
}

#[allstak::track]
fn unused_local() -> Result<u8, ()> {
    let unused = 1;
    Ok(2)
}

#[allstak::track]
fn unreachable() -> Result<u8, ()> {
    return Ok(1);
    Ok(2)
}

fn main() {
    let _ = (unused_local(), unreachable());
}
