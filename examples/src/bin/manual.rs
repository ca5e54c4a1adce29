//! The manual API, for programs that prefer calls to attributes:
//! `cargo run -p allstak-examples --bin manual`.

use std::io;

fn main() {
    // Keep the guard for the whole program: dropping it ends the session.
    let _allstak = allstak::init(
        allstak::Config::builder()
            .default_release(allstak::release_name!())
            .build(),
    );

    match std::fs::read_to_string("/nonexistent/app.toml") {
        Ok(config) => println!("config: {config}"),
        Err(error) => {
            // Queued, never waits; the session becomes `errored`.
            allstak::capture_error(&error);
            println!("no config ({error}); using the defaults");
        }
    }

    let bad = io::Error::new(io::ErrorKind::InvalidData, "a corrupt cache entry");
    allstak::capture_display(&bad);
    println!("session status: {}", allstak::session_status());
}
