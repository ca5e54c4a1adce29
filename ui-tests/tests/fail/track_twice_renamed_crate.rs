extern crate allstak as renamed;

#[renamed::track(crate = "renamed")]
#[renamed::track(crate = "renamed")]
fn twice() -> Result<u8, String> {
    Ok(1)
}

fn main() {
    let _ = twice();
}
