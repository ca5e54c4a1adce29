//! A program using the manual API (`allstak::init`), driven by its first argument.

use std::fmt;
use std::io;

#[derive(Debug)]
struct SettingsError(io::Error);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not read the settings")
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let guard = allstak::init(
        allstak::Config::builder()
            .default_release(allstak::release_name!())
            .build(),
    );
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    match scenario.as_str() {
        "ok" => {}
        "capture" => {
            let error = SettingsError(io::Error::new(io::ErrorKind::NotFound, "no such file"));
            allstak::capture_error(&error);
        }
        "capture-three" => {
            for n in 0..3 {
                allstak::capture_display(&format!("failure {n}"));
            }
        }
        "thread-panic" => {
            let joined = std::thread::spawn(|| panic!("worker gave up")).join();
            println!("worker panicked: {}", joined.is_err());
        }
        "exit" => {
            allstak::capture_display(&"about to exit");
            std::process::exit(3);
        }
        "panic" => panic!("main gave up"),
        "display-panics" => {
            struct Panicky;
            impl fmt::Display for Panicky {
                fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                    panic!("a bug in a Display impl")
                }
            }
            allstak::capture_display(&Panicky);
        }
        "hang" => {
            // Runs until its stdin closes, or it is killed.
            let _ = std::io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
        }
        "flood" => {
            // Far more events than the queue holds, against a server that never answers.
            let mut slowest = std::time::Duration::ZERO;
            for n in 0..5_000 {
                let started = std::time::Instant::now();
                allstak::capture_display(&n);
                slowest = slowest.max(started.elapsed());
            }
            println!("dropped some: {}", allstak::dropped_events() > 0);
            println!("slowest capture under 50 ms: {}", slowest.as_millis() < 50);
        }
        "flush" => {
            allstak::capture_display(&"before the flush");
            println!("flushed: {}", allstak::flush());
            allstak::capture_display(&"after the flush");
        }
        "end-with" => {
            guard.end_with(allstak::SessionStatus::Abnormal);
            println!("done");
            return;
        }
        other => println!("unknown scenario {other:?}"),
    }
    drop(guard);
    println!("done");
}
