#[allstak::track]
#[allstak::track]
fn twice() -> Result<u8, String> {
    Ok(1)
}

fn main() {
    let _ = twice();
}
