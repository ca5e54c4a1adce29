//! Stacks in error events, from real programs run as processes against a real collector, in
//! each build a user ships: debug, release (no debug info: names from the symbol table),
//! release with `debug = "line-tables-only"`, and `panic = "abort"`.
#![cfg(unix)]

mod common;

use std::process::Command;
use std::sync::OnceLock;

use allstak_tests::StackTrace;
use common::*;
use serde_json::Value;

const FILE: &str = "tests/src/bin/stack_trace.rs";
const PANIC: [&str; 4] = [
    "stack_trace::main",
    "stack_trace::first",
    "stack_trace::second",
    "stack_trace::third",
];
const TRACKED: [&str; 3] = [
    "stack_trace::main",
    "stack_trace::load",
    "stack_trace::parse_count",
];
/// A tokio task's panic: the program's frames in it (the async block is inlined in a release
/// build), innermost last.
const TASK_PANIC: [&str; 3] = [
    "stack_trace::first",
    "stack_trace::second",
    "stack_trace::third",
];
/// `debug = "line-tables-only"` records bare names: rustc writes no linkage names then.
const PANIC_BARE: [&str; 4] = ["main", "first", "second", "third"];
const TRACKED_BARE: [&str; 3] = ["main", "load", "parse_count"];

/// The line of `text` in the program's source.
fn line_of(text: &str) -> u64 {
    let index = include_str!("../src/bin/stack_trace.rs")
        .lines()
        .position(|l| l.contains(text))
        .expect("the line is in the program");
    u64::try_from(index + 1).expect("a small number")
}

/// The debug build cargo made for the tests.
fn debug() -> &'static Build<StackTrace> {
    static TESTED: OnceLock<Build<StackTrace>> = OnceLock::new();
    TESTED.get_or_init(Build::tested)
}

/// The program built with `release-lines`: release, with line tables.
fn release_with_line_tables() -> &'static Build<StackTrace> {
    static BUILT: OnceLock<Build<StackTrace>> = OnceLock::new();
    BUILT.get_or_init(|| built_with_profile("release-lines"))
}

/// The same build with its debug info stripped: what cargo's default release profile ships
/// (`debug = false` strips std's debug info too, and keeps the symbol table). Stripping the one
/// release build saves building every dependency a second time.
fn release() -> &'static Build<StackTrace> {
    static STRIPPED: OnceLock<Build<StackTrace>> = OnceLock::new();
    STRIPPED.get_or_init(|| stripped(release_with_line_tables(), "--strip-debug", "no-debug-info"))
}

/// `program` through `objcopy <how>`, beside it with `-<suffix>`.
fn stripped(program: &Build<StackTrace>, how: &str, suffix: &str) -> Build<StackTrace> {
    let program = program.path();
    let mut name = program.file_name().expect("a file").to_owned();
    name.push(format!("-{suffix}"));
    let stripped = program.with_file_name(name);
    let status = Command::new("objcopy")
        .arg(how)
        .arg(program)
        .arg(&stripped)
        .status()
        .expect("objcopy runs");
    assert!(status.success(), "objcopy {how} failed");
    Build::at(stripped)
}

/// Runs `program` playing `scenario` against a fresh collector and returns its one error event.
///
/// `RUST_BACKTRACE=0`: std's hook would otherwise symbolize the stack first and leave the SDK
/// a warm cache.
fn error_event(
    program: &Build<StackTrace>,
    scenario: StackTrace,
    extra_env: &[(&str, &str)],
) -> (Run, Value) {
    let collector = collector();
    let mut env = env_for(collector.url(), extra_env);
    env.push(("RUST_BACKTRACE".to_owned(), "0".to_owned()));
    let run = program.run(scenario, &env);
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, ERRORS, END],
        "stderr: {}",
        run.stderr
    );
    assert_well_formed(&requests[1]);
    (run, requests[1].json.clone())
}

fn frames(event: &Value) -> &[Value] {
    event["frames"].as_array().expect("frames")
}

fn function(frame: &Value) -> &str {
    frame["function"].as_str().unwrap_or("")
}

/// The frames as the contract wants them: innermost last, ending at `in_app`'s last function;
/// the in-app frames exactly `in_app`, in order; everything outside them std's or the
/// runtime's; nothing of the SDK's.
fn assert_stack(event: &Value, in_app: &[&str]) {
    let frames = frames(event);
    for frame in frames {
        assert_eq!(frame["platform"], "rust", "{frame}");
        assert!(frame["inApp"].is_boolean(), "{frame}");
        assert!(
            !function(frame).contains("allstak::"),
            "an SDK frame: {frame}"
        );
        // Nothing below the fn the program or thread runs, as `RUST_BACKTRACE=1` shows it.
        for start in [
            "__rust_begin_short_backtrace",
            "lang_start",
            "libc_start",
            "thread_start",
        ] {
            assert!(!function(frame).contains(start), "a start frame: {frame}");
        }
    }
    let own: Vec<&str> = frames
        .iter()
        .filter(|f| f["inApp"] == true)
        .map(function)
        .collect();
    assert_eq!(
        own,
        in_app,
        "{}",
        serde_json::to_string_pretty(frames).unwrap_or_default()
    );
    let innermost = frames.last().expect("a frame");
    assert_eq!(function(innermost), in_app[in_app.len() - 1]);
    let first_own = frames.len() - in_app.len();
    assert!(frames[..first_own].iter().all(|f| f["inApp"] == false));
    assert!(frames[first_own..].iter().all(|f| f["inApp"] == true));
}

/// The innermost frame's place: the file as rustc was given it and its absolute path, and the
/// `line` when given.
fn assert_innermost_at(event: &Value, line: Option<u64>) {
    let innermost = frames(event).last().expect("a frame");
    assert_eq!(innermost["filename"], FILE, "{innermost}");
    let abs_path = innermost["absPath"].as_str().expect("absPath");
    assert!(
        abs_path.starts_with('/') && abs_path.ends_with(FILE),
        "{abs_path}"
    );
    if let Some(line) = line {
        assert_eq!(innermost["lineno"], line, "{innermost}");
        assert!(innermost["colno"].as_u64().is_some_and(|c| c > 0));
    }
}

/// No file or line for the program's frames but the innermost (a system library's own debug
/// info, such as libc6-dbg's, may still give its frames one).
fn assert_no_location_above_the_innermost(event: &Value) {
    let frames = frames(event);
    for frame in frames[..frames.len() - 1]
        .iter()
        .filter(|f| f["inApp"] == true)
    {
        for field in ["filename", "absPath", "lineno", "colno"] {
            assert!(frame.get(field).is_none(), "{field} in {frame}");
        }
    }
}

fn assert_fatal_panic(event: &Value) {
    assert_eq!(event["message"], "three calls deep");
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["handled"], false);
}

#[test]
fn debug_a_panic_three_calls_deep_carries_the_stack_to_the_panicking_line() {
    let (run, event) = error_event(debug(), StackTrace::Panic, &[]);
    assert_eq!(run.code(), Some(101));
    assert_printed_once(&run.stderr, "three calls deep");
    assert_fatal_panic(&event);
    assert_stack(&event, &PANIC);
    assert_innermost_at(&event, Some(line_of("// the panicking line")));
}

#[test]
fn debug_a_panic_in_a_joined_thread_carries_the_threads_stack() {
    let (run, event) = error_event(debug(), StackTrace::ThreadPanic, &[]);
    assert_eq!(run.stdout, "worker panicked: true\n");
    assert_eq!(event["level"], "error");
    assert_eq!(event["handled"], true);
    let frames = frames(&event);
    let own: Vec<&str> = frames
        .iter()
        .filter(|f| f["inApp"] == true)
        .map(function)
        .collect();
    assert_eq!(own.len(), 4, "{own:?}");
    assert!(
        own[0].starts_with("stack_trace::main::{{closure}}"),
        "{own:?}"
    );
    assert_eq!(own[1..], PANIC[1..]);
    assert_innermost_at(&event, Some(line_of("// the panicking line")));
}

#[test]
fn debug_a_tracked_err_has_its_site_only_unless_the_stack_is_asked_for() {
    let (_, event) = error_event(debug(), StackTrace::Tracked, &[]);
    assert_eq!(
        event["frames"],
        serde_json::json!([{
            "filename": FILE,
            "function": "stack_trace::parse_count",
            "lineno": line_of("fn parse_count"),
            "colno": 4,
            "inApp": true,
            "platform": "rust",
        }])
    );

    let (run, event) = error_event(
        debug(),
        StackTrace::Tracked,
        &[("ALLSTAK_ATTACH_STACKTRACE", "1")],
    );
    assert_eq!(run.stdout, "count 1\n");
    assert_eq!(event["message"], "invalid digit found in string");
    assert_stack(&event, &TRACKED);
    assert_innermost_at(&event, None);
}

#[test]
fn release_without_debug_info_names_every_frame_from_the_symbol_table() {
    let program = release();
    let (run, event) = error_event(program, StackTrace::Panic, &[]);
    assert_eq!(run.code(), Some(101));
    assert_fatal_panic(&event);
    assert_stack(&event, &PANIC);
    assert_no_location_above_the_innermost(&event);
    // The panicking frame has the panic's own `file:line:col`, which needs no debug info.
    let innermost = frames(&event).last().expect("a frame");
    assert_eq!(innermost["filename"], FILE);
    assert_eq!(innermost["lineno"], line_of("// the panicking line"));
    assert!(innermost.get("absPath").is_none());

    let (_, event) = error_event(
        program,
        StackTrace::Tracked,
        &[("ALLSTAK_ATTACH_STACKTRACE", "1")],
    );
    assert_stack(&event, &TRACKED);
    assert!(
        frames(&event)
            .iter()
            .all(|f| f.get("lineno").is_none() || f["inApp"] == false)
    );
}

/// Whether `frame` is a function of tokio's (`tokio::…`, `<tokio::… as …>::…`).
fn is_tokios(frame: &Value) -> bool {
    function(frame)
        .trim_start_matches('<')
        .starts_with("tokio::")
}

/// The functions of the frames marked in-app, outermost first.
fn in_app(event: &Value) -> Vec<&str> {
    frames(event)
        .iter()
        .filter(|f| f["inApp"] == true)
        .map(function)
        .collect()
}

/// A panic in a tokio task of a release build without debug info: tokio's worker frames are
/// named (`tokio::runtime::task::harness::Harness<T,S>::poll`) but not placed, and are not
/// the program's.
fn task_panic(extra_env: &[(&str, &str)]) -> Value {
    let (run, event) = error_event(release(), StackTrace::TaskPanic, extra_env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "task panicked: true\n");
    assert_eq!(event["message"], "three calls deep");
    assert_eq!(event["handled"], true);
    let frames = frames(&event);
    assert!(
        frames.iter().filter(|f| is_tokios(f)).count() >= 3,
        "{}",
        serde_json::to_string_pretty(frames).unwrap_or_default()
    );
    assert!(frames.iter().all(|f| f["inApp"].is_boolean()));
    assert_no_location_above_the_innermost(&event);
    event
}

#[test]
fn release_without_debug_info_marks_only_the_programs_frames_of_a_tokio_task_in_app() {
    let event = task_panic(&[]);
    let frames = frames(&event);
    for frame in frames.iter().filter(|f| is_tokios(f)) {
        assert_eq!(frame["inApp"], false, "{frame}");
    }
    assert_eq!(in_app(&event), TASK_PANIC);
    let innermost = frames.last().expect("a frame");
    assert_eq!(innermost["filename"], FILE);
    assert_eq!(innermost["lineno"], line_of("// the panicking line"));
}

#[test]
fn in_app_include_and_exclude_from_the_environment_change_the_marking() {
    let event = task_panic(&[
        ("ALLSTAK_IN_APP_INCLUDE", "tokio::runtime::task"),
        ("ALLSTAK_IN_APP_EXCLUDE", "stack_trace::second"),
    ]);
    let marked = in_app(&event);
    let (tokios, own): (Vec<&str>, Vec<&str>) = marked
        .iter()
        .partition(|f| f.trim_start_matches('<').starts_with("tokio::"));
    assert!(!tokios.is_empty(), "{marked:?}");
    assert!(
        tokios.iter().all(|f| f
            .trim_start_matches('<')
            .starts_with("tokio::runtime::task::")),
        "{marked:?}"
    );
    assert_eq!(own, ["stack_trace::first", "stack_trace::third"]);
    // tokio's other frames (the scheduler, the runtime's context) stay out.
    assert!(
        frames(&event)
            .iter()
            .any(|f| is_tokios(f) && f["inApp"] == false),
        "{marked:?}"
    );
}

#[test]
fn a_binary_without_symbols_sends_the_panics_place_as_its_one_frame() {
    static STRIPPED: OnceLock<Build<StackTrace>> = OnceLock::new();
    let program = STRIPPED.get_or_init(|| stripped(release(), "--strip-all", "no-symbols"));
    let (run, event) = error_event(program, StackTrace::Panic, &[]);
    assert_eq!(run.code(), Some(101));
    assert_fatal_panic(&event);
    assert_eq!(
        event["frames"],
        serde_json::json!([{
            "filename": FILE,
            "lineno": line_of("// the panicking line"),
            "colno": 9,
            "inApp": true,
            "platform": "rust",
        }])
    );
}

#[test]
fn release_with_line_tables_has_the_panicking_line() {
    let program = release_with_line_tables();
    let (run, event) = error_event(program, StackTrace::Panic, &[]);
    assert_eq!(run.code(), Some(101));
    assert_fatal_panic(&event);
    assert_stack(&event, &PANIC_BARE);
    assert_innermost_at(&event, Some(line_of("// the panicking line")));

    let (_, event) = error_event(
        program,
        StackTrace::Tracked,
        &[("ALLSTAK_ATTACH_STACKTRACE", "1")],
    );
    assert_stack(&event, &TRACKED_BARE);
    assert_innermost_at(&event, None);
}

#[test]
fn under_panic_abort_the_stack_is_sent_before_the_abort() {
    use std::os::unix::process::ExitStatusExt;
    let program = built_with_profile::<StackTrace>("abort");
    let (run, event) = error_event(&program, StackTrace::Panic, &[]);
    assert_eq!(run.status.signal(), Some(libc::SIGABRT), "{:?}", run.status);
    assert_fatal_panic(&event);
    assert_stack(&event, &PANIC);
    assert_innermost_at(&event, Some(line_of("// the panicking line")));
}
