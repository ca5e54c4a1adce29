//! Running the test programs as real processes against a real loopback collector.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use allstak::testing::{Collector, Request};
use allstak_tests::{ManualProgram, Scenario};
use serde_json::Value;

pub const KEY: &str = "ask_test_0123456789";
pub const START: &str = "/ingest/v1/sessions/start";
pub const END: &str = "/ingest/v1/sessions/end";
pub const ERRORS: &str = "/ingest/v1/errors";
/// Generous: requests the program sends have all arrived once it has exited, so this only
/// bounds how long a broken test takes to fail.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// The proxy variables a program may read; none is inherited from the machine running tests.
pub const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Every test program, by name, as cargo built it for this test target.
pub const PROGRAMS: [(&str, &str); 18] = [
    ("api_program", env!("CARGO_BIN_EXE_api_program")),
    ("attr_args", env!("CARGO_BIN_EXE_attr_args")),
    ("attr_exit_code", env!("CARGO_BIN_EXE_attr_exit_code")),
    ("attr_main", env!("CARGO_BIN_EXE_attr_main")),
    (
        "attr_result_exit_code",
        env!("CARGO_BIN_EXE_attr_result_exit_code"),
    ),
    ("attr_sampled_out", env!("CARGO_BIN_EXE_attr_sampled_out")),
    ("attr_tokio_above", env!("CARGO_BIN_EXE_attr_tokio_above")),
    ("attr_tokio_below", env!("CARGO_BIN_EXE_attr_tokio_below")),
    ("axum_program", env!("CARGO_BIN_EXE_axum_program")),
    ("beside_logs", env!("CARGO_BIN_EXE_beside_logs")),
    ("companions", env!("CARGO_BIN_EXE_companions")),
    ("context", env!("CARGO_BIN_EXE_context")),
    ("integrations", env!("CARGO_BIN_EXE_integrations")),
    ("manual_program", env!("CARGO_BIN_EXE_manual_program")),
    ("signal_handlers", env!("CARGO_BIN_EXE_signal_handlers")),
    ("signal_server", env!("CARGO_BIN_EXE_signal_server")),
    (
        "signals_left_alone",
        env!("CARGO_BIN_EXE_signals_left_alone"),
    ),
    ("stack_trace", env!("CARGO_BIN_EXE_stack_trace")),
];

/// A build of the program that plays the scenarios `S`: the one cargo built for the tests
/// ([`Build::tested`]), one [`built_with_profile`], or a copy of one.
pub struct Build<S> {
    path: PathBuf,
    plays: PhantomData<fn(S)>,
}

impl<S: Scenario> Build<S> {
    /// The build cargo made for this test target.
    pub fn tested() -> Self {
        let (_, path) = PROGRAMS
            .iter()
            .find(|(name, _)| *name == S::PROGRAM)
            .unwrap_or_else(|| panic!("no program {:?} in tests/src/bin", S::PROGRAM));
        Self::at(PathBuf::from(path))
    }

    /// The program's build at `path`: one made another way, or a copy of one (stripped).
    pub fn at(path: PathBuf) -> Self {
        Self {
            path,
            plays: PhantomData,
        }
    }

    /// Where the build is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This build playing `scenario` with `env` (see [`bare_command`]).
    pub fn command(&self, scenario: S, env: &[(String, String)]) -> Command {
        let mut command = bare_command(&self.path, env);
        command.args(scenario.to_args());
        command
    }

    /// Runs [`Build::command`] to its end.
    pub fn run(&self, scenario: S, env: &[(String, String)]) -> Run {
        let mut command = self.command(scenario, env);
        let started = Instant::now();
        let output = command.output().expect("the test program runs");
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// The tested program playing `scenario` with `env` (see [`bare_command`]).
pub fn command<S: Scenario>(scenario: S, env: &[(String, String)]) -> Command {
    Build::tested().command(scenario, env)
}

/// Runs the tested program playing `scenario` to its end.
pub fn run<S: Scenario>(scenario: S, env: &[(String, String)]) -> Run {
    Build::tested().run(scenario, env)
}

/// `program` with `env`, inheriting no `ALLSTAK_*`, `NEXTEST*` or proxy variable, and no
/// arguments yet.
pub fn bare_command(program: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("ALLSTAK_") || name.starts_with("NEXTEST") {
            command.env_remove(&*name);
        }
    }
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// What points a program at `host` on purpose (test-run guard off), plus `extra`.
///
/// Each call has a state dir of its own, so no run recovers another's sessions.
pub fn env_for(host: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let state_dir = fresh_state_dir();
    let base = [
        ("ALLSTAK_HOST", host),
        ("ALLSTAK_API_KEY", KEY),
        ("ALLSTAK_TRACK_TEST_RUNS", "1"),
        (
            "ALLSTAK_STATE_DIR",
            state_dir.to_str().expect("a UTF-8 temp dir"),
        ),
    ];
    owned(&base).into_iter().chain(owned(extra)).collect()
}

/// An empty directory under cargo's temp dir for this test target.
pub fn fresh_state_dir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("state-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits until the program knows the server took its start: its state no longer holds it.
/// (Killed before it knows, it has the next run send the start again.)
pub fn wait_until_its_start_was_taken(env: &[(String, String)]) {
    wait_for_state_file(env, "a state without its start", |body| {
        !body.contains("\"start\":")
    });
}

/// `env`'s state dir.
pub fn state_dir(env: &[(String, String)]) -> PathBuf {
    env.iter()
        .find(|(name, _)| name == "ALLSTAK_STATE_DIR")
        .map(|(_, dir)| PathBuf::from(dir))
        .expect("a state dir")
}

/// The sessions dir under `env`'s state dir.
pub fn sessions_dir(env: &[(String, String)]) -> PathBuf {
    state_dir(env).join("sessions")
}

/// Waits until a state file under `env`'s state dir holds `what` (`holds` says whether a file's
/// body does). Polled: the program writes it on its own, with no event to wait for.
pub fn wait_for_state_file(env: &[(String, String)], what: &str, holds: impl Fn(&str) -> bool) {
    let dir = sessions_dir(env);
    let since = Instant::now();
    while !state_files(&dir).iter().any(|body| holds(body)) {
        assert!(since.elapsed() < WAIT, "no {what} in {}", dir.display());
        std::thread::yield_now();
    }
}

/// The contents of the state files in `dir`: the `*.session` files only, never one still being
/// written (the SDK writes a temporary file, then renames it; read half-written, it would seem
/// to hold nothing).
pub fn state_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "session")
        })
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect()
}

pub fn owned(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Each session's requests in the order received, by session id (the contract orders a
/// session's start before its end; sessions among themselves, as they come).
pub fn by_session(requests: &[Request]) -> BTreeMap<String, Vec<&Request>> {
    let mut sessions: BTreeMap<String, Vec<&Request>> = BTreeMap::new();
    for request in requests {
        let id = request
            .json
            .get("sessionId")
            .and_then(|id| id.as_str())
            .expect("every request here names its session");
        sessions.entry(id.to_owned()).or_default().push(request);
    }
    sessions
}

/// A run's requests, `expected` sessions each sent whole: its start (if `true`: it had not
/// gone out before) then its end with that status, the sessions in any order (a run whose
/// program ended before the SDK's thread got to its start sends its own session first, then
/// what earlier runs left). Returns their ids, as `expected` lists them.
pub fn assert_sessions(
    requests: &[Request],
    expected: &[(Option<&str>, bool, &str)],
) -> Vec<String> {
    let sessions = by_session(requests);
    assert_eq!(sessions.len(), expected.len(), "{:?}", paths(requests));
    let mut left: Vec<(&String, &Vec<&Request>)> = sessions.iter().collect();
    expected
        .iter()
        .map(|&(id, started, status)| {
            let at = left
                .iter()
                .position(|(known, requests)| {
                    id.is_none_or(|id| id == known.as_str())
                        && requests.len() == 1 + usize::from(started)
                        && requests
                            .last()
                            .is_some_and(|end| end.json["status"] == status)
                })
                .unwrap_or_else(|| panic!("no session {id:?} ({status}) in {:?}", paths(requests)));
            let (known, requests) = left.remove(at);
            if started {
                assert_eq!(requests[0].path, START);
            }
            assert_end(requests[requests.len() - 1], known, status);
            known.clone()
        })
        .collect()
}

pub fn paths(requests: &[Request]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

/// Every request the SDK sends: a POST with the contract's headers and a JSON body free of nulls;
/// an error event's with an `eventId`, a UUID v4.
pub fn assert_well_formed(request: &Request) {
    assert_eq!(request.method, "POST", "{}", request.path);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-allstak-key"), Some(KEY));
    assert_eq!(
        request.header("user-agent"),
        Some(format!("allstak-rust/{}", allstak::SDK_VERSION).as_str())
    );
    assert!(
        request.json.is_object(),
        "not a JSON object: {}",
        request.body
    );
    assert_no_nulls(&request.json, &request.path);
    if request.path == ERRORS {
        assert_session_id(request.event_id().expect("an error event has an eventId"));
    }
}

fn assert_no_nulls(value: &Value, at: &str) {
    match value {
        Value::Null => panic!("null in {at}"),
        Value::Array(items) => items.iter().for_each(|v| assert_no_nulls(v, at)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| assert_no_nulls(v, &format!("{at}.{k}"))),
        _ => {}
    }
}

/// A lower-case UUID v4 with dashes.
pub fn assert_session_id(id: &str) {
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id, id.to_ascii_lowercase());
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(groups[2].starts_with('4'), "not v4: {id}");
    assert!(
        matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
        "not RFC 4122: {id}"
    );
    assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
}

/// The start's fields, exactly.
pub fn assert_start(request: &Request, release: &str, environment: &str) {
    assert_eq!(request.path, START);
    assert_well_formed(request);
    let id = request.session_id().expect("sessionId");
    assert_session_id(id);
    let expected = serde_json::json!({
        "sessionId": id,
        "release": release,
        "environment": environment,
        "sdkName": "allstak-rust",
        "sdkVersion": allstak::SDK_VERSION,
        "platform": "rust",
    });
    assert_eq!(request.json, expected);
}

/// The end's fields, exactly; returns its duration.
pub fn assert_end(request: &Request, id: &str, status: &str) -> u64 {
    assert_eq!(request.path, END);
    assert_well_formed(request);
    let fields: Vec<&str> = request
        .json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["durationMs", "sessionId", "status"]);
    assert_eq!(request.json["sessionId"], id);
    assert_eq!(request.json["status"], status, "{}", request.body);
    request.json["durationMs"]
        .as_u64()
        .expect("durationMs is a non-negative integer")
}

/// A crash as the contract wants it: start, a `fatal` unhandled event with `message` and the
/// session's id, and the end `crashed`.
pub fn assert_crash_reported(requests: &[Request], message: &str) {
    assert_eq!(paths(requests), [START, ERRORS, END]);
    let id = requests[0].session_id().expect("sessionId");
    let event = &requests[1].json;
    assert_eq!(event["message"], message);
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["handled"], false);
    assert_eq!(event["sessionId"], id);
    assert_end(&requests[2], id, "crashed");
}

/// The environment the test programs report when none is given: they are debug builds.
pub const ENVIRONMENT: &str = "development";

/// The keys of the runtime context in an error event's `metadata`.
pub const RUNTIME_CONTEXT_KEYS: [&str; 6] = [
    "os.name",
    "os.version",
    "arch",
    "rustc.version",
    "thread.name",
    "server_name",
];

/// Takes the runtime context out of `event`'s `metadata` (so that the rest can be compared
/// exactly), checking the process-wide values against this machine; returns the thread name it
/// carried, if any.
pub fn take_runtime_context(event: &mut Value) -> Option<String> {
    let metadata = event
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("metadata");
    let mut taken: std::collections::BTreeMap<&str, String> = RUNTIME_CONTEXT_KEYS
        .iter()
        .filter_map(|key| {
            let value = metadata.remove(*key)?;
            let text = value.as_str().unwrap_or_else(|| panic!("{key}: {value}"));
            assert!(!text.is_empty(), "{key} is empty");
            Some((*key, text.to_owned()))
        })
        .collect();
    assert_eq!(
        taken.get("arch").map(String::as_str),
        Some(std::env::consts::ARCH)
    );
    assert!(taken.contains_key("os.name") && taken.contains_key("rustc.version"));
    #[cfg(target_os = "linux")]
    {
        let proc_text = |file: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{file}"))
                .expect("procfs")
                .trim()
                .to_owned()
        };
        assert_eq!(taken.get("os.name").map(String::as_str), Some("Linux"));
        assert_eq!(taken.get("os.version"), Some(&proc_text("osrelease")));
        assert_eq!(taken.get("server_name"), Some(&proc_text("hostname")));
    }
    taken.remove("thread.name")
}

/// `event` without its runtime context, which is checked ([`take_runtime_context`]), `thread`
/// the name of the thread that raised it (`None`: an unnamed one).
pub fn without_runtime_context(event: &Value, thread: Option<&str>) -> Value {
    let mut event = event.clone();
    assert_eq!(take_runtime_context(&mut event).as_deref(), thread);
    event
}

/// The crate's own `name@version`, captured where `#[allstak::main]` expands.
pub const RELEASE: &str = concat!("allstak-tests@", env!("CARGO_PKG_VERSION"));

/// Runs `scenario` against a fresh collector and checks that it started a session with the
/// crate's release; returns the run, every request, and the session id.
pub fn session<S: Scenario>(scenario: S) -> (Run, Vec<Request>, String) {
    let collector = collector();
    let run = run(scenario, &env_for(collector.url(), &[]));
    let requests = collector.requests();
    assert!(
        !requests.is_empty(),
        "nothing was sent; stderr: {}",
        run.stderr
    );
    assert_start(&requests[0], RELEASE, ENVIRONMENT);
    let id = requests[0].session_id().expect("sessionId").to_owned();
    (run, requests, id)
}

/// A panic that something caught, as the contract wants its event: `handled`, level `error`,
/// the session's id, and its innermost frame at the `panic!` that says `message` in `source`
/// (the program at `file`).
pub fn assert_handled_panic(event: &Request, id: &str, message: &str, file: &str, source: &str) {
    assert_well_formed(event);
    let site = format!("panic!({message:?})");
    let (line, column) = source
        .lines()
        .enumerate()
        .find_map(|(n, text)| text.find(&site).map(|at| (n + 1, at + 1)))
        .expect("the panic is in the program's source");
    // The panicking frame is the innermost, the last one, in the program's own code; the frames
    // outside it (std's, the runtime's) are tests/tests/stack_trace.rs's business.
    let mut json = event.json.clone();
    // The panicking thread's name, whichever it is: tests/tests/runtime_context.rs's business.
    take_runtime_context(&mut json);
    let frames = json
        .as_object_mut()
        .and_then(|event| event.remove("frames"))
        .expect("frames");
    let innermost = frames.as_array().and_then(|f| f.last()).expect("a frame");
    assert_eq!(innermost["filename"], file);
    assert_eq!(innermost["lineno"], line);
    assert_eq!(innermost["colno"], column);
    assert_eq!(innermost["inApp"], true);
    assert_eq!(innermost["platform"], "rust");
    let program = file
        .trim_start_matches("tests/src/bin/")
        .trim_end_matches(".rs");
    assert!(
        innermost["function"]
            .as_str()
            .is_some_and(|f| f.starts_with(&format!("{program}::main"))),
        "{innermost}"
    );
    assert_eq!(
        json,
        serde_json::json!({
            "eventId": event.json["eventId"],
            "exceptionClass": "panic",
            "message": message,
            "level": "error",
            "environment": ENVIRONMENT,
            "release": RELEASE,
            "sessionId": id,
            "metadata": {"rust.type": "panic"},
            "handled": true,
            "mechanism": "panic",
            "sdkName": "allstak-rust",
            "sdkVersion": allstak::SDK_VERSION,
            "platform": "rust",
        })
    );
}

/// The messages of an event's `breadcrumbs`, oldest first.
pub fn breadcrumb_messages(breadcrumbs: &Value) -> Vec<&str> {
    breadcrumbs
        .as_array()
        .expect("breadcrumbs")
        .iter()
        .map(|b| b["message"].as_str().expect("message"))
        .collect()
}

/// `text` appears exactly once in `output` (a panic message printed once, not twice).
pub fn assert_printed_once(output: &str, text: &str) {
    assert_eq!(output.matches(text).count(), 1, "{output}");
}

/// The exit deadline the fault tests give a program.
pub const DEADLINE_MS: &str = "1000";
/// How long a run with [`DEADLINE_MS`] may take: the deadline plus a margin.
pub const BOUND: Duration = Duration::from_millis(1000 + 1500);
/// What `manual_program` prints for a scenario that only reports (`ok`, `capture`).
pub const OUTPUT: &str = "session active: true\ndone\n";

/// The program is as it would be without the SDK: exit code 0, its own output, nothing on
/// stderr, and an exit within [`BOUND`].
pub fn assert_unaffected(run: &Run) {
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, OUTPUT);
    assert_eq!(run.stderr, "", "nothing is printed without ALLSTAK_DEBUG");
    assert!(run.elapsed < BOUND, "took {:?}", run.elapsed);
}

/// Runs `manual_program capture` sending to `host`, with the [`DEADLINE_MS`] exit deadline.
pub fn against_host(host: &str) -> Run {
    run(
        ManualProgram::Capture,
        &env_for(host, &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)]),
    )
}

/// A port on 127.0.0.1 that nothing listens on: connections to it are refused.
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Which HTTP backend the test programs were built with.
pub const BACKEND: &str = if cfg!(feature = "reqwest") {
    "reqwest"
} else {
    "ureq"
};

/// The program that plays `S`, built with cargo profile `profile` (`abort`, `release-lines`)
/// into a target dir of its own (no lock shared with the running `cargo test`), shared by every
/// profile and program: dependencies are built once per profile, and later calls find the
/// program up to date.
pub fn built_with_profile<S: Scenario>(profile: &str) -> Build<S> {
    let program = S::PROGRAM;
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("profiles");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--profile",
            profile,
            "-p",
            "allstak-tests",
        ])
        .args(["--bin", program])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the {profile} build failed");
    Build::at(target.join(profile).join(program))
}

/// A fresh collector; every test has its own.
pub fn collector() -> Collector {
    Collector::start().expect("the collector listens on 127.0.0.1")
}

/// Runs `scenario`, which must print `done` and exit 0; returns its stderr and its requests,
/// checked as start, `events` handled error events of the session, end `errored`.
pub fn reported<S: Scenario>(scenario: S, events: usize) -> (String, Vec<Request>) {
    let (stderr, requests) = reported_with(scenario, &[], events);
    for event in &requests[1..=events] {
        assert_eq!(event.json["level"], "error");
        assert_eq!(event.json["handled"], true);
    }
    (stderr, requests)
}

/// Runs `scenario` with `extra` env, which must print `done` and exit 0; returns its stderr and
/// its requests, checked as start, `events` error events of the session (whatever their level:
/// a `before_send` may change it), end `errored`.
pub fn reported_with<S: Scenario>(
    scenario: S,
    extra: &[(&str, &str)],
    events: usize,
) -> (String, Vec<Request>) {
    let collector = collector();
    let run = run(scenario, &env_for(collector.url(), extra));
    assert_eq!(
        (run.code(), run.stdout.as_str()),
        (Some(0), "done\n"),
        "{}",
        run.stderr
    );
    let requests = collector.requests();
    let mut expected = vec![START];
    expected.extend(std::iter::repeat_n(ERRORS, events));
    expected.push(END);
    assert_eq!(paths(&requests), expected, "{}", run.stderr);
    let id = requests[0].session_id().expect("id").to_owned();
    for event in &requests[1..=events] {
        assert_well_formed(event);
        assert_eq!(event.json["sessionId"], id.as_str());
    }
    assert_end(&requests[events + 1], &id, "errored");
    (run.stderr, requests)
}

/// The axum program (`tests/src/bin/axum_program.rs`), serving on 127.0.0.1 until its stdin
/// closes.
pub struct AxumServer {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    /// Where it listens: `127.0.0.1:<port>`.
    pub address: String,
}

impl AxumServer {
    /// Starts the program in `scenario`, reporting to `collector_url`; returns once it listens.
    pub fn start(scenario: allstak_tests::AxumProgram, collector_url: &str) -> Self {
        use std::io::BufRead as _;
        use std::process::Stdio;
        let mut child = command(scenario, &env_for(collector_url, &[]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("its stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the server says where it listens");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("not an address: {line:?}"))
            .to_owned();
        Self {
            child,
            stdout,
            address,
        }
    }

    /// Closes its stdin, so that it shuts down and its session ends; checks it exited well and
    /// returns its stderr.
    pub fn stop(mut self) -> String {
        use std::io::Read as _;
        drop(self.child.stdin.take());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).expect("its stdout");
        let output = self.child.wait_with_output().expect("the server exits");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        assert_eq!(rest, "done\n", "{stderr}");
        stderr
    }
}
