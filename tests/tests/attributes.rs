//! The attributes in real programs, run as processes against a real collector: statuses,
//! exit codes, output, error events and the default release.

mod common;

use std::time::Duration;

use allstak_tests::{
    AttrArgs, AttrExitCode, AttrMain, AttrResultExitCode, AttrTokioAbove, AttrTokioBelow, Scenario,
};
use common::*;
use serde_json::json;

/// The crate's own `name@version`, captured where `#[allstak::main]` expands.
const RELEASE: &str = concat!("allstak-tests@", env!("CARGO_PKG_VERSION"));

/// Runs `scenario` against a fresh collector; returns the run, every request, and the session id.
fn session<S: Scenario>(scenario: S) -> (Run, Vec<allstak::testing::Request>, String) {
    let collector = collector();
    let run = run(scenario, &env_for(collector.url(), &[]));
    let requests = collector.requests();
    assert!(
        !requests.is_empty(),
        "nothing was sent; stderr: {}",
        run.stderr
    );
    assert_start(&requests[0], RELEASE, "production");
    let id = requests[0].session_id().expect("sessionId").to_owned();
    (run, requests, id)
}

#[test]
fn an_ok_run_is_an_ok_session_with_the_crates_release() {
    let (run, requests, id) = session(AttrMain::Ok);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nport 8080\ndone\n");
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], &id, "ok");
}

#[test]
fn an_err_from_a_tracked_fn_is_errored_with_an_event_at_the_fn() {
    let (run, requests, id) = session(AttrMain::Handled);
    assert_eq!(run.code(), Some(0));
    assert_eq!(
        run.stdout,
        "session active: true\nusing the default port\ndone\n"
    );
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1];
    assert_well_formed(event);
    let line = include_str!("../src/bin/attr_main.rs")
        .lines()
        .position(|l| l.starts_with("fn parse_port"))
        .expect("parse_port is there")
        + 1;
    assert_eq!(
        event.json,
        serde_json::json!({
            "exceptionClass": "ParseIntError",
            "message": "invalid digit found in string",
            "frames": [{
                "filename": "tests/src/bin/attr_main.rs",
                "function": "attr_main::parse_port",
                "lineno": line,
                "colno": 4,
                "inApp": true,
                "platform": "rust",
            }],
            "level": "error",
            "environment": "production",
            "release": RELEASE,
            "sessionId": id,
            "metadata": {"rust.type": "core::num::error::ParseIntError"},
            "handled": true,
            "mechanism": "track",
            "sdkName": "allstak-rust",
            "sdkVersion": allstak::SDK_VERSION,
            "platform": "rust",
        })
    );
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn report_false_changes_the_status_and_sends_no_event() {
    let (run, requests, id) = session(AttrMain::Quiet);
    assert_eq!(run.stdout, "session active: true\nno settings\ndone\n");
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], &id, "errored");
}

#[test]
fn an_err_from_main_is_a_crash_with_the_usual_output_and_exit_code_1() {
    let (run, requests, id) = session(AttrMain::Err);
    assert_eq!(run.code(), Some(1));
    assert_eq!(run.stdout, "session active: true\n");
    assert_eq!(run.stderr, "Error: AppError(\"the database is gone\")\n");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1].json;
    assert_eq!(event["exceptionClass"], "AppError");
    assert_eq!(event["message"], "the database is gone");
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["handled"], false);
    assert_eq!(event["mechanism"], "main");
    assert_eq!(event["sessionId"], id.as_str());
    assert_end(&requests[2], &id, "crashed");
}

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
fn the_programs_own_panic_hook_still_runs_and_the_crash_is_still_reported() {
    let (run, requests, id) = session(AttrMain::UserHook);
    assert_eq!(run.code(), Some(101));
    assert_printed_once(&run.stderr, "user hook ran");
    assert_printed_once(&run.stderr, "main gave up");
    assert_crash_reported(&requests, "main gave up");
    assert_eq!(requests[0].session_id(), Some(id.as_str()));
}

#[test]
fn process_exit_ends_the_session_with_the_status_so_far_and_keeps_the_code() {
    let (run, requests, id) = session(AttrMain::Exit);
    assert_eq!(run.code(), Some(3));
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_end(&requests[2], &id, "errored");
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

/// A panic that something caught, as the contract wants its event: `handled`, level `error`,
/// the session's id, and its innermost frame at the `panic!` that says `message` in `source`
/// (the program at `file`).
fn assert_handled_panic(
    event: &allstak::testing::Request,
    id: &str,
    message: &str,
    file: &str,
    source: &str,
) {
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
            "exceptionClass": "panic",
            "message": message,
            "level": "error",
            "environment": "production",
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

#[test]
fn a_failing_exit_code_inside_ok_is_errored_too() {
    let (run, requests, id) = session(AttrResultExitCode::ReturnsOk(3));
    assert_eq!(run.code(), Some(3));
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], &id, "errored");
    let (run, requests, id) = session(AttrResultExitCode::ReturnsOk(0));
    assert_eq!(run.code(), Some(0));
    assert_end(&requests[1], &id, "ok");
    let (run, requests, id) = session(AttrResultExitCode::ReturnsErr);
    assert_eq!(run.code(), Some(1));
    assert_end(requests.last().expect("end"), &id, "crashed");
}

#[test]
fn an_exit_code_other_than_success_is_errored_and_kept() {
    let (run, requests, id) = session(AttrExitCode::Returns(2));
    assert_eq!(run.code(), Some(2));
    assert_end(&requests[1], &id, "errored");
    let (run, requests, id) = session(AttrExitCode::Returns(0));
    assert_eq!(run.code(), Some(0));
    assert_end(&requests[1], &id, "ok");
}

#[test]
fn tokio_main_below_ours_is_tracked() {
    let (run, requests, id) = session(AttrTokioBelow::Ok);
    assert_eq!(run.stdout, "session active: true\nfetched: Some(7)\n");
    assert_end(&requests[1], &id, "ok");
    let (run, requests, id) = session(AttrTokioBelow::Err);
    assert_eq!(run.stdout, "session active: true\nfetched: None\n");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "upstream timed out");
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn tokio_main_above_ours_is_tracked_and_a_panicking_task_is_errored() {
    let (run, requests, id) = session(AttrTokioAbove::Ok);
    assert_eq!(run.stdout, "session active: true\nfetched: Some(7)\n");
    assert_end(&requests[1], &id, "ok");
    let (run, requests, id) = session(AttrTokioAbove::TaskPanic);
    assert_eq!(run.code(), Some(0));
    assert_eq!(
        run.stdout,
        "session active: true\nfetched: Some(7)\ntask panicked: true\n"
    );
    assert_printed_once(&run.stderr, "task gave up");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_handled_panic(
        &requests[1],
        &id,
        "task gave up",
        "tests/src/bin/attr_tokio_above.rs",
        include_str!("../src/bin/attr_tokio_above.rs"),
    );
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn a_tracked_error_whose_display_panics_is_sent_with_a_placeholder_and_nothing_printed() {
    let (run, requests, id) = session(AttrMain::DisplayPanics);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nconnected: false\ndone\n");
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1];
    assert_well_formed(event);
    assert_eq!(event.json["message"], "<the value's formatting failed>");
    assert_eq!(event.json["exceptionClass"], "PanickyDisplay");
    assert_eq!(event.json["handled"], true);
    assert_eq!(event.json["mechanism"], "track");
    assert_eq!(event.json["sessionId"], id.as_str());
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn attribute_arguments_win_over_the_environment() {
    let collector = collector();
    // The end is never answered: the exit is held for the deadline the attribute gives.
    collector.then_reply(allstak::testing::Reply::accepted());
    collector.set_reply(allstak::testing::Reply::never());
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_RELEASE", "env-release@9.9.9"),
            ("ALLSTAK_ENVIRONMENT", "env-environment"),
            ("ALLSTAK_EXIT_DEADLINE_MS", "10000"),
            ("ALLSTAK_USER_ID", "env-user"),
        ],
    );
    let run = run(AttrArgs::Ok, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\n");
    assert_eq!(run.stderr, "");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    let mut start = requests[0].clone();
    let user = start
        .json
        .as_object_mut()
        .and_then(|json| json.remove("userId"));
    assert_eq!(user, Some(serde_json::json!("attr-user")));
    assert_start(&start, "attr-release@1.2.3", "attr-environment");
    // 400 ms from the attribute, not the variable's 10 s (nor the default 2 s).
    assert!(
        run.elapsed >= Duration::from_millis(350) && run.elapsed < Duration::from_millis(1500),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn in_app_arguments_win_over_the_environment() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_IN_APP_INCLUDE", "attr_args::generated"),
            ("ALLSTAK_IN_APP_EXCLUDE", "attr_args::main"),
        ],
    );
    let run = run(AttrArgs::ThreadPanic, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nworker panicked: true\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let frames = requests[1].json["frames"].as_array().expect("frames");
    let marked: Vec<(&str, bool)> = frames
        .iter()
        .filter_map(|f| Some((f["function"].as_str()?, f["inApp"].as_bool()?)))
        .filter(|(function, _)| function.starts_with("attr_args::"))
        .collect();
    assert_eq!(marked.len(), 3, "{marked:?}");
    // The thread's closure is the program's (the variable's exclude is not read); the generated
    // module is not, but for its bindings (the longest path the attribute lists wins).
    assert!(
        marked[0].0.starts_with("attr_args::main::{{closure}}"),
        "{marked:?}"
    );
    assert!(marked[0].1, "{marked:?}");
    assert_eq!(
        marked[1..],
        [
            ("attr_args::generated::decode", false),
            ("attr_args::generated::bindings::read", true)
        ]
    );
}
