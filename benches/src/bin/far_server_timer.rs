//! Whole-process timings against a far-away server (one that answers every request 100 ms after
//! it arrives): `cargo build --release -p allstak-benches --bins && target/release/far_server_timer`.
//!
//! Runs `hello_plain`, `hello_tracked` with the default exit deadline and `hello_tracked` with
//! `ALLSTAK_EXIT_DEADLINE_MS=0`, `RUNS` times each, interleaved; each configuration keeps its
//! state dir from run to run, as consecutive runs of a real program do. Prints the median wall
//! times, then what reached each server: sessions started, sessions ended, requests received
//! (a request sent again after its answer was lost counts twice), and the same once one more
//! run with the default deadline has happened.
//!
//! With `FAR_SERVER_EXTRA="label=path,label=path"` (`scripts/far-server-compare.sh` sets it), each
//! program named there gets a row of its own in the same interleaved runs, against its own
//! collector: another SDK's hello world (sentry, AllStak-Rust 0.2.2), given both `SENTRY_DSN` and
//! `ALLSTAK_API_KEY`/`ALLSTAK_HOST` pointing at that collector, and `TMPDIR` set to its own
//! directory (where AllStak-Rust 0.2.2 keeps its offline queue). Its sessions are counted only if
//! it uses AllStak's session paths.
//!
//! With `FAR_SERVER_CONNECT_MS=100`, each program reaches its collector through a relay where
//! connecting takes that long (a far server's TCP handshake: what a connection sends goes on
//! once it is that old), and with `FAR_SERVER_WORK_MS=30` each program works that long (sleeps)
//! after its first line; then only that table is printed.
//!
//! Then the series: 50 runs with the exit deadline 0, then one with the default
//! (`FAR_SERVER_SERIES_ONLY=1`: only those).
//!
//! Then the deadline-0 budget's own measurement (`FAR_SERVER_ZERO_ONLY=1`: only that):
//! `hello_tracked` with the exit deadline 0 against the far server, interleaved with
//! `hello_plain` alone, back to back; then each run after the machine was idle 100 ms, as in
//! the first table (where each follows a run that waited that long).
//!
//! Then offline (`FAR_SERVER_OFFLINE_ONLY=1`: only that): `hello_tracked` against a port that
//! refuses connections, with a thousand sessions kept by earlier runs, and with none.
//!
//! Then, on loopback (a collector answering at once), where the time `#[allstak::main]` adds
//! goes: the same program without a key (the SDK set up, no transport), with a refused port
//! (the transport thread, the state dir, a refused connection), with the exit deadline 0, and
//! with the collector answering (the start's and the end's round trips on top).
//! The collector runs in a process of its own, each round of runs starts one variant further on,
//! and the programs' output goes nowhere (as `> /dev/null`). `FAR_SERVER_LOOPBACK_ONLY=1` runs
//! only that table, `FAR_SERVER_LOOPBACK_RUNS=<n>` times instead of 21;
//! `FAR_SERVER_LOOPBACK_BEFORE=<path>` adds a row for that program (`hello_tracked` as built
//! before a change), answered, in the same runs.

use std::collections::BTreeSet;
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use allstak::testing::{Collector, Reply};

const RUNS: usize = 21;
const ANSWER_AFTER: Duration = Duration::from_millis(100);

struct Setup {
    label: String,
    program: PathBuf,
    deadline_ms: Option<&'static str>,
    /// Another SDK's program (from `FAR_SERVER_EXTRA`), not one of ours.
    extra: bool,
    collector: Collector,
    /// Where the program sends: the collector, or a relay in front of it where connecting
    /// takes a round trip (`FAR_SERVER_CONNECT_MS`).
    url: String,
    state_dir: PathBuf,
    walls: Vec<Duration>,
    /// How long each program works after its first line (`HELLO_WORK_MS`), if not as
    /// `FAR_SERVER_WORK_MS` says.
    work_ms: Option<&'static str>,
}

impl Setup {
    fn new(label: &str, program: PathBuf, deadline_ms: Option<&'static str>) -> Self {
        let program = installed(&program, label);
        let collector = Collector::start().expect("collector");
        collector.set_reply(Reply::accepted().after(ANSWER_AFTER));
        let state_dir = std::env::temp_dir().join(format!(
            "allstak-far-{}-{}",
            label.replace([' ', ','], "-"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&state_dir);
        let url = match connecting_takes() {
            Some(handshake) => far_connecting(collector.url(), handshake),
            None => collector.url().to_owned(),
        };
        Self {
            label: label.to_owned(),
            program,
            deadline_ms,
            extra: false,
            collector,
            url,
            state_dir,
            walls: Vec::new(),
            work_ms: None,
        }
    }

    fn run(&self, deadline_ms: Option<&str>) -> Duration {
        let mut command = Command::new(&self.program);
        command
            .env("ALLSTAK_API_KEY", "bench")
            .env("ALLSTAK_HOST", &self.url)
            .env("ALLSTAK_TRACK_TEST_RUNS", "1")
            .env("ALLSTAK_STATE_DIR", &self.state_dir);
        if let Some(ms) = deadline_ms {
            command.env("ALLSTAK_EXIT_DEADLINE_MS", ms);
        }
        if let Some(ms) = self.work_ms {
            command.env("HELLO_WORK_MS", ms);
        } else if let Ok(ms) = std::env::var("FAR_SERVER_WORK_MS") {
            command.env("HELLO_WORK_MS", ms);
        }
        if self.extra {
            // sentry's DSN: its key as the URL's user, the project id as the path.
            let dsn = self.url.replacen("://", "://public@", 1) + "/1";
            let _ = std::fs::create_dir_all(&self.state_dir);
            command
                .env("SENTRY_DSN", dsn)
                .env("TMPDIR", &self.state_dir);
        }
        // Output discarded (`> /dev/null`), as in the loopback table: the timer's own threads
        // waking to read it would compete with the program's for the machine's two cores.
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let started = Instant::now();
        let status = command.status().expect("runs");
        let wall = started.elapsed();
        assert!(status.success(), "{}", self.program.display());
        wall
    }

    /// Sessions started and ended at the server, and requests it received.
    fn reached(&self) -> (usize, usize, usize) {
        let requests = self.collector.requests();
        let ids = |path: &str| -> BTreeSet<String> {
            requests
                .iter()
                .filter(|r| r.path == path)
                .filter_map(|r| r.session_id().map(str::to_owned))
                .collect()
        };
        (
            ids("/ingest/v1/sessions/start").len(),
            ids("/ingest/v1/sessions/end").len(),
            requests.len(),
        )
    }

    /// Whether each session's first start reached the server before its first end.
    fn every_start_before_its_end(&self) -> bool {
        let requests = self.collector.requests();
        let first = |path: &str, id: &str| {
            requests
                .iter()
                .position(|r| r.path == path && r.session_id() == Some(id))
        };
        requests.iter().filter_map(|r| r.session_id()).all(|id| {
            match (
                first("/ingest/v1/sessions/start", id),
                first("/ingest/v1/sessions/end", id),
            ) {
                (Some(start), Some(end)) => start < end,
                (_, None) => true,
                (None, Some(_)) => false,
            }
        })
    }

    /// Whether the program sent anything to AllStak's session paths (sentry sends its sessions
    /// in envelopes, which the columns of sessions do not count).
    fn uses_session_paths(&self) -> bool {
        self.collector
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/ingest/v1/sessions/"))
    }
}

/// `FAR_SERVER_CONNECT_MS`: how long connecting to the far server takes (its TCP handshake, a
/// round trip), on top of its answers; none by default.
fn connecting_takes() -> Option<Duration> {
    let ms: u64 = std::env::var("FAR_SERVER_CONNECT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

/// A relay to `to` (a collector's URL) on a port of its own, where what a connection sends
/// goes on only once the connection is `handshake` old, as if connecting had taken that long:
/// a request written at once on a new connection is answered a handshake later; one written
/// on a connection opened earlier, not. Returns the relay's URL.
fn far_connecting(to: &str, handshake: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let target = to.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let open_at = Instant::now() + handshake;
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (Ok(mut from_client), Ok(mut to_client)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            let (mut to_server, mut from_server) = (server, client);
            std::thread::spawn(move || {
                let mut buffer = [0; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buffer) {
                    std::thread::sleep(open_at.saturating_duration_since(Instant::now()));
                    if to_server.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut to_client, &mut from_server);
                let _ = from_server.shutdown(Shutdown::Write);
            });
        }
    });
    url
}

/// Where the programs are run from: copies, as `cargo install` leaves them, all written the
/// same way (a binary as the linker wrote it starts 0.05 to 0.1 ms slower here than the same
/// bytes copied: its page cache is mapped in smaller pieces, with more page faults; which
/// would tell two builds apart when only one of them was copied). Removed by [`Installed`].
fn install_dir() -> PathBuf {
    std::env::temp_dir().join(format!("allstak-far-bin-{}", std::process::id()))
}

/// A copy of `program` in [`install_dir`], named after `label`.
fn installed(program: &Path, label: &str) -> PathBuf {
    let dir = install_dir();
    let _ = std::fs::create_dir_all(&dir);
    let copy = dir.join(label.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    std::fs::copy(program, &copy).expect("a copy of the program");
    copy
}

/// Removes [`install_dir`] when the timer is done.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(install_dir());
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A collector in a process of its own (this program run with [`SERVE_LOOPBACK`] or
/// [`SERVE_FAR`]), as a server is: its threads not sharing a process with the timer's.
struct LoopbackCollector {
    process: std::process::Child,
    /// The collector's URL.
    url: String,
}

/// The argument that makes this program a collector answering at once, until its stdin closes.
const SERVE_LOOPBACK: &str = "--serve-loopback";
/// The same, answering each request [`ANSWER_AFTER`] after it arrived.
const SERVE_FAR: &str = "--serve-far";

impl LoopbackCollector {
    /// The collector answering at once ([`SERVE_LOOPBACK`]) or as the far server ([`SERVE_FAR`]).
    fn start(serve: &str) -> Self {
        let mut process = Command::new(std::env::current_exe().expect("own path"))
            .arg(serve)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the collector's process");
        let url = std::io::BufReader::new(process.stdout.take().expect("stdout"))
            .lines()
            .next()
            .and_then(Result::ok)
            .expect("the collector's URL");
        Self { process, url }
    }

    /// This process as the collector: its URL on stdout, then serving until stdin closes.
    fn serve(far: bool) {
        let collector = Collector::start().expect("collector");
        if far {
            collector.set_reply(Reply::accepted().after(ANSWER_AFTER));
        }
        println!("{}", collector.url());
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    }
}

impl Drop for LoopbackCollector {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}

/// The loopback breakdown: median wall times of each variant, interleaved.
fn loopback_breakdown(plain: &Path, tracked: &Path) {
    let collector = LoopbackCollector::start(SERVE_LOOPBACK);
    let up = collector.url.as_str();
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let state_dir = std::env::temp_dir().join(format!("allstak-loopback-{}", std::process::id()));
    // Copies, as every program the timer runs (see `install_dir`).
    let (plain, tracked) = (
        &installed(plain, "loopback plain"),
        &installed(tracked, "loopback tracked"),
    );
    // `FAR_SERVER_LOOPBACK_BEFORE=<path>`: the same program as built before a change, answered,
    // in the same interleaved runs.
    let before = std::env::var_os("FAR_SERVER_LOOPBACK_BEFORE")
        .map(|before| installed(Path::new(&before), "loopback before"));
    let mut variants: Vec<(&str, &Path, Option<&str>, Option<&str>)> = vec![
        ("plain", plain, None, None),
        (
            "allstak, no key (SDK set up, no transport)",
            tracked.as_path(),
            None,
            None,
        ),
        (
            "allstak, refused port (thread, state dir, refused connect)",
            tracked,
            Some(&refused),
            None,
        ),
        (
            "allstak, answering, exit deadline 0",
            tracked,
            Some(up),
            Some("0"),
        ),
        (
            "allstak, answering (start and end round trips)",
            tracked,
            Some(up),
            None,
        ),
    ];
    if let Some(before) = &before {
        variants.push((
            "the same, as built before (FAR_SERVER_LOOPBACK_BEFORE)",
            before,
            Some(up),
            None,
        ));
        variants.push((
            "the same, as built before, exit deadline 0",
            before,
            Some(up),
            Some("0"),
        ));
    }
    let mut walls: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    // A run before the timed ones (not timed), as a program has run before: the variants the
    // server answers keep their state dir from run to run (the server took a start of theirs
    // already); the others start from an empty one each run, each timed alone.
    // `FAR_SERVER_LOOPBACK_RUNS`: more runs, for a comparison finer than the machine's noise.
    let runs = std::env::var("FAR_SERVER_LOOPBACK_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(RUNS);
    // Each round starts one variant further on: a run right after one that left its server
    // busy (a deadline-0 run exits before its answers) is not always the same variant's.
    for run in 0..=runs {
        for turn in 0..variants.len() {
            let index = (run + turn) % variants.len();
            let (_, program, host, deadline) = &variants[index];
            let answered = *host == Some(up);
            let state_dir = state_dir.join(index.to_string());
            if !answered {
                let _ = std::fs::remove_dir_all(&state_dir);
            }
            let mut command = Command::new(program);
            command
                .env("ALLSTAK_TRACK_TEST_RUNS", "1")
                .env("ALLSTAK_STATE_DIR", &state_dir);
            if let Some(host) = host {
                command
                    .env("ALLSTAK_API_KEY", "bench")
                    .env("ALLSTAK_HOST", host);
            }
            if let Some(ms) = deadline {
                command.env("ALLSTAK_EXIT_DEADLINE_MS", ms);
            }
            // Output discarded (`> /dev/null`): the timer's own waking up to read it would
            // compete with the program's threads for the machine's two cores.
            command
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let started = Instant::now();
            let status = command.status().expect("runs");
            if run > 0 {
                walls[index].push(started.elapsed());
            }
            assert!(status.success());
        }
    }
    let _ = std::fs::remove_dir_all(&state_dir);
    let plain_wall = median(walls[0].clone());
    println!();
    println!("| {runs} runs on loopback | wall (median) | added |");
    println!("|---|---|---|");
    for ((label, ..), walls) in variants.iter().zip(walls) {
        let wall = median(walls);
        println!(
            "| {label} | {:.2} ms | {:+.2} ms |",
            ms(wall),
            ms(wall) - ms(plain_wall)
        );
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some(SERVE_LOOPBACK) => return LoopbackCollector::serve(false),
        Some(SERVE_FAR) => return LoopbackCollector::serve(true),
        _ => {}
    }
    let _installed = Installed;
    let (plain, tracked) = (sibling("hello_plain"), sibling("hello_tracked"));
    for program in [&plain, &tracked] {
        assert!(
            Path::new(program).exists(),
            "build it first: cargo build --release -p allstak-benches --bins ({})",
            program.display()
        );
    }
    if std::env::var_os("FAR_SERVER_LOOPBACK_ONLY").is_some() {
        loopback_breakdown(&plain, &tracked);
        return;
    }
    if std::env::var_os("FAR_SERVER_OFFLINE_ONLY").is_some() {
        offline_with_sessions_kept(&plain, &tracked);
        return;
    }
    if std::env::var_os("FAR_SERVER_ZERO_ONLY").is_some() {
        deadline_zero_beside_plain(&plain, &tracked);
        return;
    }
    if std::env::var_os("FAR_SERVER_SERIES_ONLY").is_some() {
        deadline_zero_series(&tracked, None);
        deadline_zero_series(&tracked, Some("3"));
        return;
    }
    let mut setups = vec![
        Setup::new("plain", plain, None),
        Setup::new("allstak, default exit deadline", tracked.clone(), None),
        Setup::new("allstak, exit deadline 0", tracked, Some("0")),
    ];
    let extras = std::env::var("FAR_SERVER_EXTRA").unwrap_or_default();
    for (label, program) in extras.split(',').filter_map(|extra| extra.split_once('=')) {
        let mut setup = Setup::new(label.trim(), PathBuf::from(program.trim()), None);
        setup.extra = true;
        setups.push(setup);
    }
    for _ in 0..RUNS {
        for setup in &mut setups {
            let wall = setup.run(setup.deadline_ms);
            setup.walls.push(wall);
        }
    }
    // Answers still on their way reach the programs that asked, or nobody.
    std::thread::sleep(ANSWER_AFTER * 2);
    let plain_wall = median(setups[0].walls.clone());
    let connecting = connecting_takes().map_or(String::new(), |handshake| {
        format!(", connecting taking {} ms", handshake.as_millis())
    });
    let working = std::env::var("FAR_SERVER_WORK_MS")
        .map_or(String::new(), |ms| format!(", programs working {ms} ms"));
    println!(
        "| {RUNS} runs, server answering after {} ms{connecting}{working} | wall (median) | added | sessions started / ended at the server | requests | after one more run (default deadline) |",
        ANSWER_AFTER.as_millis()
    );
    println!("|---|---|---|---|---|---|");
    for setup in &setups {
        let wall = median(setup.walls.clone());
        let (started, ended, requests) = setup.reached();
        let sessions = if setup.extra && !setup.uses_session_paths() {
            "—".to_owned()
        } else {
            format!("{started} / {ended} of {RUNS}")
        };
        let later = if setup.label == "plain" {
            String::new()
        } else if setup.extra {
            "—".to_owned()
        } else {
            setup.run(None);
            std::thread::sleep(ANSWER_AFTER * 2);
            let (started, ended, requests) = setup.reached();
            format!("{started} / {ended} of {}, {requests} requests", RUNS + 1)
        };
        println!(
            "| {} | {:.2} ms | {:+.2} ms | {sessions} | {requests} | {later} |",
            setup.label,
            ms(wall),
            ms(wall) - ms(plain_wall),
        );
        let _ = std::fs::remove_dir_all(&setup.state_dir);
    }
    if connecting_takes().is_some() {
        return; // the far server's table only
    }
    let (plain, tracked) = (&setups[0].program, &setups[1].program);
    deadline_zero_series(tracked, None);
    deadline_zero_series(tracked, Some("3"));
    deadline_zero_beside_plain(plain, tracked);
    offline_with_sessions_kept(plain, tracked);
    loopback_breakdown(plain, tracked);
}

/// The series: `SERIES` consecutive runs with the exit deadline 0 against the far
/// server, then one with the default deadline: the sessions (of `SERIES + 1`) the server has
/// after the series, and after the later run (each with its start before its end, its status).
/// `work_ms`: each program works that long after its first line (a sleep).
fn deadline_zero_series(tracked: &Path, work_ms: Option<&'static str>) {
    const SERIES: usize = 50;
    let mut setup = Setup::new("deadline-0 series", tracked.to_path_buf(), Some("0"));
    setup.work_ms = work_ms;
    let walls: Vec<Duration> = (0..SERIES).map(|_| setup.run(Some("0"))).collect();
    std::thread::sleep(ANSWER_AFTER * 2);
    let (started, ended, requests) = setup.reached();
    setup.run(None);
    std::thread::sleep(ANSWER_AFTER * 2);
    let (started_later, ended_later, requests_later) = setup.reached();
    let in_order = setup.every_start_before_its_end();
    if work_ms.is_none() {
        println!();
        println!(
            "| {SERIES} runs, exit deadline 0, then one run with the default deadline | wall (median) | sessions started / ended at the server after the series | after the later run | every start before its end |"
        );
        println!("|---|---|---|---|---|");
    }
    println!(
        "| allstak{} | {:.2} ms | {started} / {ended} of {SERIES}, {requests} requests | {started_later} / {ended_later} of {}, {requests_later} requests | {in_order} |",
        work_ms.map_or(String::new(), |ms| format!(", programs working {ms} ms")),
        ms(median(walls)),
        SERIES + 1
    );
    let _ = std::fs::remove_dir_all(&setup.state_dir);
}

/// The budget's own measurement: `hello_tracked` with the exit deadline 0 against the far
/// server (in a process of its own), interleaved with `hello_plain` alone, each round starting
/// with the other program, [`ZERO_RUNS`] runs each; then the same with the machine idle for
/// [`ANSWER_AFTER`] before each run (as in the far table, where each follows a run that waited
/// that long for its answer).
fn deadline_zero_beside_plain(plain: &Path, tracked: &Path) {
    const ZERO_RUNS: usize = 101;
    const IDLE_RUNS: usize = 31;
    let collector = LoopbackCollector::start(SERVE_FAR);
    let state_dir = std::env::temp_dir().join(format!("allstak-far-zero-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    let (plain, tracked) = (
        &installed(plain, "zero plain"),
        &installed(tracked, "zero tracked"),
    );
    let time = |tracked_run: bool| {
        let mut command = Command::new(if tracked_run { tracked } else { plain });
        command
            .env("ALLSTAK_API_KEY", "bench")
            .env("ALLSTAK_HOST", &collector.url)
            .env("ALLSTAK_TRACK_TEST_RUNS", "1")
            .env("ALLSTAK_STATE_DIR", &state_dir)
            .env("ALLSTAK_EXIT_DEADLINE_MS", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let started = Instant::now();
        let status = command.status().expect("runs");
        assert!(status.success());
        started.elapsed()
    };
    // A first run of each, not timed: the server has taken a start of this key and host.
    time(false);
    time(true);
    let mut back_to_back = [Vec::new(), Vec::new()];
    for run in 0..ZERO_RUNS {
        for turn in 0..2 {
            let tracked_run = (run + turn) % 2 == 1;
            back_to_back[usize::from(tracked_run)].push(time(tracked_run));
        }
    }
    let mut after_idle = [Vec::new(), Vec::new()];
    for run in 0..IDLE_RUNS {
        for turn in 0..2 {
            let tracked_run = (run + turn) % 2 == 1;
            std::thread::sleep(ANSWER_AFTER);
            after_idle[usize::from(tracked_run)].push(time(tracked_run));
        }
    }
    let _ = std::fs::remove_dir_all(&state_dir);
    let [plain_hot, zero_hot] = back_to_back.map(median);
    let [plain_idle, zero_idle] = after_idle.map(median);
    println!();
    println!(
        "| exit deadline 0, server answering after {} ms, interleaved with plain | back to back ({ZERO_RUNS} runs each) | added | each after {} ms idle ({IDLE_RUNS} runs each) | added |",
        ANSWER_AFTER.as_millis(),
        ANSWER_AFTER.as_millis()
    );
    println!("|---|---|---|---|---|");
    println!(
        "| plain | {:.2} ms | — | {:.2} ms | — |",
        ms(plain_hot),
        ms(plain_idle)
    );
    println!(
        "| allstak, exit deadline 0 | {:.2} ms | {:+.2} ms | {:.2} ms | {:+.2} ms |",
        ms(zero_hot),
        ms(zero_hot) - ms(plain_hot),
        ms(zero_idle),
        ms(zero_idle) - ms(plain_idle)
    );
}

/// Offline, with what earlier runs left: `hello_tracked` (default exit deadline) against a port
/// that refuses connections, with [`KEPT`] sessions kept in its state dir by earlier runs (after
/// one the server answered), and with none (its dir emptied before each run), interleaved with
/// `hello_plain`, [`RUNS`] runs each (`FAR_SERVER_LOOPBACK_BEFORE=<path>`: that build too, with
/// the sessions kept).
fn offline_with_sessions_kept(plain: &Path, tracked: &Path) {
    const KEPT: usize = 1000;
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let base = std::env::temp_dir().join(format!("allstak-offline-{}", std::process::id()));
    let (kept, none) = (base.join("kept"), base.join("none"));
    let (plain, tracked) = (
        &installed(plain, "offline plain"),
        &installed(tracked, "offline tracked"),
    );
    let before = std::env::var_os("FAR_SERVER_LOOPBACK_BEFORE")
        .map(|before| installed(Path::new(&before), "offline before"));
    let time_against = |host: &str, program: &Path, state_dir: &Path| {
        let started = Instant::now();
        let status = Command::new(program)
            .env("ALLSTAK_API_KEY", "bench")
            .env("ALLSTAK_HOST", host)
            .env("ALLSTAK_TRACK_TEST_RUNS", "1")
            .env("ALLSTAK_STATE_DIR", state_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("runs");
        assert!(status.success());
        started.elapsed()
    };
    let time = |program: &Path, state_dir: &Path| time_against(&refused, program, state_dir);
    // A run the server answered first, as for a program in use: a later one sends its start
    // with its end, its SDK's thread looking at what is left only after them.
    time_against(
        &LoopbackCollector::start(SERVE_LOOPBACK).url,
        tracked,
        &kept,
    );
    // The earlier runs, offline: each leaves its session.
    for _ in 0..KEPT {
        time(tracked, &kept);
    }
    let mut rows: Vec<(&str, &Path, &Path)> = vec![
        ("plain", plain, &none),
        ("allstak, none kept", tracked, &none),
        ("allstak, sessions kept", tracked, &kept),
    ];
    if let Some(before) = &before {
        rows.push(("the same, as built before", before, &kept));
    }
    let mut walls = vec![Vec::new(); rows.len()];
    for run in 0..RUNS {
        for turn in 0..rows.len() {
            let index = (run + turn) % rows.len();
            let (_, program, state_dir) = rows[index];
            if state_dir == none {
                let _ = std::fs::remove_dir_all(&none);
            }
            walls[index].push(time(program, state_dir));
        }
    }
    let _ = std::fs::remove_dir_all(&base);
    let plain_wall = median(walls[0].clone());
    println!();
    println!(
        "| {RUNS} runs, the server's port refusing connections, {KEPT} sessions kept by earlier runs | wall (median) | added |"
    );
    println!("|---|---|---|");
    for ((label, ..), walls) in rows.iter().zip(walls) {
        let wall = median(walls);
        println!(
            "| {label} | {:.2} ms | {:+.2} ms |",
            ms(wall),
            ms(wall) - ms(plain_wall)
        );
    }
}
