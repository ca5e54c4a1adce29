#[allstak::track]
fn answer() -> i32 {
    42
}

#[allstak::track]
fn maybe() -> Option<u8> {
    None
}

fn main() {
    let _ = (answer(), maybe());
}
