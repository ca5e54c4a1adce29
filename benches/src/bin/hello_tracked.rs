//! The same hello world under `#[allstak::main]`: starts and ends a session.

#[allstak::main]
fn main() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    println!("{}", now.as_nanos());
}
