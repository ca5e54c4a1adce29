//! A program using the manual API (`allstak::init`), playing the scenario its
//! argument names (`allstak_tests::ManualProgram`).

use std::fmt;
use std::io;

use allstak_tests::{ManualProgram, Scenario as _};

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

/// What the program does with SIGTERM before the SDK starts, for the signal scenarios.
#[cfg(unix)]
fn set_up_sigterm(scenario: ManualProgram) {
    extern "C" fn own_handler(_: libc::c_int) {
        const SAID: &[u8] = b"own handler ran\n";
        // SAFETY: async-signal-safe calls only.
        unsafe {
            libc::write(1, SAID.as_ptr().cast(), SAID.len());
            libc::_exit(42);
        }
    }
    // SAFETY: plain libc calls, before any thread of ours runs.
    unsafe {
        match scenario {
            ManualProgram::SigtermIgnored => {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
            }
            ManualProgram::SigtermOwnHandler => {
                libc::signal(
                    libc::SIGTERM,
                    own_handler as *const () as libc::sighandler_t,
                );
            }
            _ => {}
        }
    }
}

/// Whether SIGTERM is still ignored.
#[cfg(unix)]
fn sigterm_ignored() -> bool {
    // SAFETY: reads the current action into a zeroed struct.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGTERM, std::ptr::null(), &raw mut action);
        action.sa_sigaction == libc::SIG_IGN
    }
}

fn main() {
    let scenario = ManualProgram::of_this_process();
    #[cfg(unix)]
    set_up_sigterm(scenario);
    let guard = allstak::init(
        allstak::Config::builder()
            .default_release(allstak::release_name!())
            .build(),
    );
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    match scenario {
        ManualProgram::Ok => {}
        ManualProgram::OkAfter200Ms => std::thread::sleep(std::time::Duration::from_millis(200)),
        ManualProgram::Capture => {
            let error = SettingsError(io::Error::new(io::ErrorKind::NotFound, "no such file"));
            allstak::capture_error(&error);
        }
        ManualProgram::CaptureAfter200Ms => {
            std::thread::sleep(std::time::Duration::from_millis(200));
            allstak::capture_display(&"failed after 200 ms");
        }
        ManualProgram::CaptureThree => {
            for n in 0..3 {
                allstak::capture_display(&format!("failure {n}"));
            }
        }
        ManualProgram::CaptureThreeAndFlush => {
            for n in 0..3 {
                allstak::capture_display(&format!("failure {n}"));
            }
            println!(
                "flushed: {}",
                allstak::flush(allstak::Config::from_env().exit_deadline())
            );
            println!("dropped: {}", allstak::dropped_event_count());
        }
        ManualProgram::FlushTwice => {
            allstak::capture_display(&"before the first flush");
            println!(
                "flushed: {}",
                allstak::flush(allstak::Config::from_env().exit_deadline())
            );
            allstak::capture_display(&"before the second flush");
            println!(
                "flushed: {}",
                allstak::flush(allstak::Config::from_env().exit_deadline())
            );
            println!("dropped: {}", allstak::dropped_event_count());
        }
        ManualProgram::ThreadPanic => {
            let joined = std::thread::spawn(|| panic!("worker gave up")).join();
            println!("worker panicked: {}", joined.is_err());
        }
        ManualProgram::Exit => {
            allstak::capture_display(&"about to exit");
            std::process::exit(3);
        }
        ManualProgram::Panic => panic!("main gave up"),
        ManualProgram::DisplayPanics => {
            struct Panicky;
            impl fmt::Display for Panicky {
                fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                    panic!("a bug in a Display impl")
                }
            }
            allstak::capture_display(&Panicky);
        }
        ManualProgram::Hang => {
            // Runs until its stdin closes, or it is killed.
            let _ = std::io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
        }
        ManualProgram::CaptureThenHang => {
            allstak::capture_display(&"while the server was away");
            let _ = std::io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
        }
        ManualProgram::CaptureOnceStdinCloses => {
            let _ = std::io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
            allstak::capture_display(&"once the server was back");
        }
        ManualProgram::Flood => {
            // Far more events than the queue holds, against a server that never answers.
            let mut slowest = std::time::Duration::ZERO;
            for n in 0..5_000 {
                let started = std::time::Instant::now();
                allstak::capture_display(&n);
                slowest = slowest.max(started.elapsed());
            }
            println!("dropped {} of 5000", allstak::dropped_event_count());
            println!("slowest capture under 50 ms: {}", slowest.as_millis() < 50);
        }
        ManualProgram::Flush => {
            allstak::capture_display(&"before the flush");
            println!(
                "flushed: {}",
                allstak::flush(allstak::Config::from_env().exit_deadline())
            );
            allstak::capture_display(&"after the flush");
        }
        #[cfg(unix)]
        ManualProgram::SigtermIgnored => {
            println!("still ignored: {}", sigterm_ignored());
            // SAFETY: raising a signal at ourselves.
            unsafe { libc::raise(libc::SIGTERM) };
            println!("survived");
        }
        #[cfg(unix)]
        ManualProgram::SigtermOwnHandler => {
            // SAFETY: raising a signal at ourselves.
            unsafe { libc::raise(libc::SIGTERM) };
            // Only the program's own handler ends it (exit code 42), once the SDK is done.
            let _ = std::io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
        }
        ManualProgram::SecondInit => {
            // Ignored, and its guard ends nothing.
            drop(allstak::init(allstak::Config::builder().build()));
            allstak::capture_display(&"after a second init");
        }
        ManualProgram::EndWithOkAfterAnError => {
            allstak::capture_display(&"a handled error");
            allstak::end_session(allstak::SessionStatus::Ok);
            allstak::capture_display(&"after the end");
            // Sent for sure, so that a test can see it is not the session's.
            println!(
                "flushed: {}",
                allstak::flush(allstak::Config::from_env().exit_deadline())
            );
        }
        ManualProgram::CaptureAfterTheEnd => {
            allstak::end_session(allstak::SessionStatus::Ok);
            // The program runs on past its end's exit deadline, then reports errors and exits
            // without flushing.
            let deadline_ms = std::env::var("ALLSTAK_EXIT_DEADLINE_MS")
                .ok()
                .and_then(|ms| ms.parse().ok())
                .unwrap_or(2000);
            std::thread::sleep(std::time::Duration::from_millis(deadline_ms + 200));
            for n in 0..5 {
                allstak::capture_display(&format!("after the end {n}"));
            }
        }
        ManualProgram::EndWith => {
            guard.end_with(allstak::SessionStatus::Abnormal);
            println!("done");
            return;
        }
    }
    drop(guard);
    println!("done");
}
