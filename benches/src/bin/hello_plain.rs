//! The baseline hello world: prints when its first line ran (ns since the Unix epoch).

fn main() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    println!("{}", now.as_nanos());
}
