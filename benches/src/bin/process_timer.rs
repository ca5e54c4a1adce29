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
    // An empty state dir for every run: each run is timed alone, not with the ends earlier
    // runs could not send (which it would find and send first).
    let state_dir =
        std::env::temp_dir().join(format!("allstak-bench-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    let spawned_at = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let started = Instant::now();
    let output = Command::new(program)
        .env("ALLSTAK_API_KEY", "bench")
        .env("ALLSTAK_HOST", host)
        .env("ALLSTAK_TRACK_TEST_RUNS", "1")
        .env("ALLSTAK_STATE_DIR", &state_dir)
        .output()
        .ok()?;
    let wall = started.elapsed();
    let _ = std::fs::remove_dir_all(&state_dir);
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

/// Medians of (wall, to first line) for each program, their runs interleaved so that both see
/// the same machine.
fn measure(programs: [&Path; 2], host: &str) -> [(Duration, Duration); 2] {
    let mut runs: [Vec<Timing>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..RUNS {
        for (program, timings) in programs.iter().zip(&mut runs) {
            timings.extend(run_once(program, host));
        }
    }
    [0, 1].map(|i| {
        assert_eq!(
            runs[i].len(),
            RUNS,
            "every run of {} printed its time",
            programs[i].display()
        );
        (
            median(runs[i].iter().map(|t| t.wall).collect()),
            median(runs[i].iter().map(|t| t.to_first_line).collect()),
        )
    })
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
        let [(plain_wall, plain_main), (tracked_wall, tracked_main)] =
            measure([&plain, &tracked], host);
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
