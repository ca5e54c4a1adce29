#[allstak::track]
const fn half(n: u8) -> Result<u8, ()> {
    Ok(n / 2)
}

fn main() {
    let _ = half(4);
}
