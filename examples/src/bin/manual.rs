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
    // Tell the operator when nothing is reported (no key, a test run, ...), and why.
    if let Some(reason) = allstak::disabled_reason() {
        println!("error reporting: {reason}");
    }

    match std::fs::read_to_string("/nonexistent/app.toml") {
        Ok(config) => println!("config: {config}"),
        Err(error) => {
            // Queued, never waits; the session becomes `errored`. The id is the event's, for
            // a support ticket.
            let id = allstak::capture_error(&error);
            println!("no config ({error}); using the defaults");
            if let Some(id) = id {
                println!("reported as {id}");
            }
        }
    }

    // Worth knowing, not an error: the session stays as it is.
    allstak::capture_message("started with the default settings", allstak::Level::Info);

    let bad = io::Error::new(io::ErrorKind::InvalidData, "a corrupt cache entry");
    allstak::capture_display(&bad);
    println!("session status: {}", allstak::session_status());
}
