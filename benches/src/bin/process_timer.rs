//! Whole-process timings: `cargo run --release -p allstak-benches --bin process_timer`.
//!
//! Runs `hello_plain` and `hello_tracked` (built beside this binary) `RUNS` times each, with the
//! collector on loopback answering at once, with a refused port, and with a collector that never
//! answers; prints the median wall time, and the median time from spawn to the first line of
//! `main`, for each.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allstak::testing::{Collector, Reply};

const RUNS: usize = 11;

struct Timing {
    wall: Duration,
    to_first_line: Duration,
}

fn run_once(program: &Path, host: &str) -> Option<Timing> {
    let spawned_at = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let started = Instant::now();
    let output = Command::new(program)
        .env("ALLSTAK_API_KEY", "bench")
        .env("ALLSTAK_HOST", host)
        .env("ALLSTAK_TRACK_TEST_RUNS", "1")
        .env(
            "ALLSTAK_STATE_DIR",
            std::env::temp_dir().join("allstak-bench-state"),
        )
        .output()
        .ok()?;
    let wall = started.elapsed();
    let first_line: u128 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    let to_first_line =
        Duration::from_nanos(u64::try_from(first_line.saturating_sub(spawned_at.as_nanos())).ok()?);
    Some(Timing {
        wall,
        to_first_line,
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn measure(program: &Path, host: &str) -> (Duration, Duration) {
    let runs: Vec<Timing> = (0..RUNS).filter_map(|_| run_once(program, host)).collect();
    assert_eq!(
        runs.len(),
        RUNS,
        "every run of {} printed its time",
        program.display()
    );
    (
        median(runs.iter().map(|t| t.wall).collect()),
        median(runs.iter().map(|t| t.to_first_line).collect()),
    )
}

fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn main() {
    let (plain, tracked) = (sibling("hello_plain"), sibling("hello_tracked"));
    for program in [&plain, &tracked] {
        assert!(
            program.exists(),
            "build it first: cargo build --release -p allstak-benches ({})",
            program.display()
        );
    }
    let up = Collector::start().expect("collector");
    let silent = Collector::start().expect("collector");
    silent.set_reply(Reply::never());
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    println!(
        "| server | plain: wall | tracked: wall | added | plain: to main | tracked: to main | added |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, host) in [
        ("loopback, answers", up.url()),
        ("refused port", refused.as_str()),
        ("never answers", silent.url()),
    ] {
        let (plain_wall, plain_main) = measure(&plain, host);
        let (tracked_wall, tracked_main) = measure(&tracked, host);
        println!(
            "| {label} | {:.2} ms | {:.2} ms | {:+.2} ms | {:.3} ms | {:.3} ms | {:+.3} ms |",
            ms(plain_wall),
            ms(tracked_wall),
            ms(tracked_wall) - ms(plain_wall),
            ms(plain_main),
            ms(tracked_main),
            ms(tracked_main) - ms(plain_main),
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
