//! Panics, end to end (contract: Session rules): a panic that ends the process is a crash with a
//! `fatal` event, its message printed once as without the SDK, and the program's own hook still
//! runs; a panic the program survives (a joined thread, `catch_unwind`, a runtime's task) is a
//! handled event and the session `errored`. Under `panic = "abort"`: `panic_abort.rs`; a tokio task
//! under `#[tokio::main]`: `tokio_main.rs`; the frames: `stack_trace.rs`.

mod common;

use allstak_tests::{AttrMain, Companions, ManualProgram};
use common::*;
use serde_json::json;

#[test]
fn a_panic_out_of_main_is_a_crash_with_exit_code_101_and_the_message_printed_once() {
    let (run, requests, id) = session(AttrMain::Panic);
    assert_eq!(run.code(), Some(101));
    assert_eq!(run.stdout, "session active: true\n");
    assert_printed_once(&run.stderr, "main gave up");
    assert_crash_reported(&requests, "main gave up");
    // The panicking frame is the innermost, the last one (tests/tests/stack_trace.rs has the rest).
    let frame = requests[1].json["frames"]
        .as_array()
        .and_then(|frames| frames.last())
        .expect("frames");
    assert_eq!(frame["filename"], "tests/src/bin/attr_main.rs");
    assert_eq!(frame["function"], "attr_main::main");
    assert!(frame["lineno"].as_u64().is_some_and(|l| l > 0));
    assert_eq!(requests[0].session_id(), Some(id.as_str()));
}

#[test]
fn a_panic_unwinding_past_the_guard_is_a_crash_with_a_fatal_event() {
    let collector = collector();
    let run = run(ManualProgram::Panic, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(101));
    assert_printed_once(&run.stderr, "main gave up");

    assert_crash_reported(&collector.requests(), "main gave up");
}

#[test]
fn the_programs_own_panic_hook_still_runs_and_the_crash_is_still_reported() {
    let (run, requests, id) = session(AttrMain::UserHook);
    assert_eq!(run.code(), Some(101));
    assert_printed_once(&run.stderr, "user hook ran");
    assert_printed_once(&run.stderr, "main gave up");
    assert_crash_reported(&requests, "main gave up");
    assert_eq!(requests[0].session_id(), Some(id.as_str()));
}

#[test]
fn a_panic_in_a_joined_thread_is_errored_not_crashed() {
    let (run, requests, id) = session(AttrMain::ThreadPanic);
    assert_eq!(run.code(), Some(0));
    assert_eq!(
        run.stdout,
        "session active: true\nworker panicked: true\ndone\n"
    );
    assert_printed_once(&run.stderr, "worker gave up");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_handled_panic(
        &requests[1],
        &id,
        "worker gave up",
        "tests/src/bin/attr_main.rs",
        include_str!("../src/bin/attr_main.rs"),
    );
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn a_joined_thread_that_panicked_makes_the_session_errored() {
    let collector = collector();
    let run = run(ManualProgram::ThreadPanic, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(
        run.stdout,
        "session active: true\nworker panicked: true\ndone\n"
    );
    assert_printed_once(&run.stderr, "worker gave up");

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let id = requests[0].session_id().expect("sessionId");
    let event = &requests[1].json;
    assert_eq!(event["exceptionClass"], "panic");
    assert_eq!(event["message"], "worker gave up");
    assert_eq!(event["level"], "error");
    assert_eq!(event["mechanism"], "panic");
    assert_eq!(event["sessionId"], id);
    let innermost = event["frames"].as_array().and_then(|f| f.last());
    assert!(
        innermost
            .and_then(|frame| frame["filename"].as_str())
            .is_some_and(|f| f.ends_with("manual_program.rs")),
        "{innermost:?}"
    );
    assert_end(&requests[2], id, "errored");
}

#[test]
fn a_panic_caught_on_the_main_thread_is_errored_and_sent_as_handled() {
    let (run, requests, id) = session(AttrMain::CaughtPanic);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\ncaught: true\ndone\n");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "caught on main");
    assert_eq!(requests[1].json["level"], "error");
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn a_panic_caught_on_the_main_thread_before_main_returns_err_is_sent_as_well_as_the_crash() {
    let (run, requests, id) = session(AttrMain::CaughtPanicThenErr);
    assert_eq!(run.code(), Some(1));
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    let (caught, crash) = (&requests[1].json, &requests[2].json);
    assert_eq!(
        (&caught["message"], &caught["level"], &caught["handled"]),
        (&json!("caught on main"), &json!("error"), &json!(true))
    );
    assert_eq!(
        (&crash["message"], &crash["level"], &crash["handled"]),
        (
            &json!("the database is gone"),
            &json!("fatal"),
            &json!(false)
        )
    );
    assert_end(&requests[3], &id, "crashed");
}

fn breadcrumbs(event: &serde_json::Value) -> Vec<&str> {
    event["breadcrumbs"]
        .as_array()
        .map(|all| all.iter().filter_map(|b| b["message"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn every_caught_panic_is_its_own_handled_event_with_the_breadcrumbs_as_of_the_panic() {
    let (_, requests) = reported(Companions::CaughtPanics, 3);
    for (n, request) in requests[1..4].iter().enumerate() {
        let event = &request.json;
        assert_eq!(event["message"], format!("p{n}"));
        assert_eq!(event["exceptionClass"], "panic");
        let expected: Vec<String> = (0..=n).map(|k| format!("before p{k}")).collect();
        assert_eq!(breadcrumbs(event), expected, "{event}");
    }
}

#[test]
fn a_task_panic_caught_by_a_current_thread_runtime_is_sent_while_the_program_runs_on() {
    use std::process::Stdio;

    let collector = collector();
    let mut child = command(
        Companions::TaskPanicThenWait,
        &env_for(collector.url(), &[]),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawned");
    let stdin = child.stdin.take();
    // Sent when it was caught, not when the session ends: the program is still running.
    let arrived = collector.wait_for_requests(2, WAIT);
    drop(stdin);
    let output = child.wait_with_output().expect("reaped");
    assert!(
        arrived.is_ok(),
        "the caught panic was not sent while the program ran"
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "task failed: true\ndone\n"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "a task gave up");
    assert_eq!(requests[1].json["handled"], true);
    assert_end(
        &requests[2],
        requests[0].session_id().expect("id"),
        "errored",
    );
}
