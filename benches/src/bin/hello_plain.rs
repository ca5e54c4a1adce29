//! The baseline hello world: prints when its first line ran (ns since the Unix epoch).

fn main() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    println!("{}", now.as_nanos());
    // `HELLO_WORK_MS`: a program that works that long before it ends (far_server_timer).
    if let Some(ms) = std::env::var("HELLO_WORK_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
