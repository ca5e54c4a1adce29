#[allstak::track]
async fn fetch() -> u8 {
    7
}

fn main() {
    let _ = fetch();
}
