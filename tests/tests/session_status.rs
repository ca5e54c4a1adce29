//! The session's status, end to end (contract: Session rules): `errored` for a handled error (a
//! tracked `Err`, a captured error) or an exit code other than success, `crashed` for an `Err` out
//! of `main`; `std::process::exit` ends the session with the status reached so far; an explicit
//! final status wins. Panics: `panics.rs`.

mod common;

use allstak_tests::{AttrExitCode, AttrMain, AttrResultExitCode, ManualProgram};
use common::*;

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
        without_runtime_context(&event.json, Some("main")),
        serde_json::json!({
            "eventId": event.json["eventId"],
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
            "environment": ENVIRONMENT,
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
fn a_captured_error_is_sent_with_its_session_id_and_marks_the_session_errored() {
    let collector = collector();
    let run = run(ManualProgram::Capture, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stderr, "");

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let id = requests[0].session_id().expect("sessionId");
    let event = &requests[1];
    assert_well_formed(event);
    assert_eq!(
        without_runtime_context(&event.json, Some("main")),
        serde_json::json!({
            "eventId": event.json["eventId"],
            "exceptionClass": "SettingsError",
            "message": "could not read the settings",
            "stackTrace": ["caused by: no such file"],
            "level": "error",
            "environment": ENVIRONMENT,
            "release": RELEASE,
            "sessionId": id,
            "metadata": {"rust.type": "manual_program::SettingsError"},
            "handled": true,
            "mechanism": "capture",
            "sdkName": "allstak-rust",
            "sdkVersion": allstak::SDK_VERSION,
            "platform": "rust",
        })
    );
    assert_end(&requests[2], id, "errored");
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
fn an_exit_code_other_than_success_is_errored_and_kept() {
    let (run, requests, id) = session(AttrExitCode::Returns(2));
    assert_eq!(run.code(), Some(2));
    assert_end(&requests[1], &id, "errored");
    let (run, requests, id) = session(AttrExitCode::Returns(0));
    assert_eq!(run.code(), Some(0));
    assert_end(&requests[1], &id, "ok");
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
fn process_exit_ends_the_session_with_the_status_so_far_and_keeps_the_code() {
    let (run, requests, id) = session(AttrMain::Exit);
    assert_eq!(run.code(), Some(3));
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_end(&requests[2], &id, "errored");
}

#[test]
fn process_exit_still_ends_the_session_and_keeps_the_exit_code() {
    let collector = collector();
    let run = run(ManualProgram::Exit, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(3));
    assert_eq!(run.stdout, "session active: true\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_end(
        &requests[2],
        requests[0].session_id().expect("id"),
        "errored",
    );
}

#[test]
fn an_explicit_final_status_wins() {
    let collector = collector();
    run(ManualProgram::EndWith, &env_for(collector.url(), &[]));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(
        &requests[1],
        requests[0].session_id().expect("id"),
        "abnormal",
    );
}

#[test]
fn an_explicit_final_status_below_the_reached_one_wins_and_later_events_are_not_the_sessions() {
    let collector = collector();
    let run = run(
        ManualProgram::EndWithOkAfterAnError,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nflushed: true\ndone\n");
    let requests = collector.requests();
    // One end (main's is a no-op), and the event captured after it carries no session.
    assert_eq!(paths(&requests), [START, ERRORS, END, ERRORS]);
    let id = requests[0].session_id().expect("id");
    assert_eq!(requests[1].json["message"], "a handled error");
    assert_eq!(requests[1].session_id(), Some(id));
    assert_end(&requests[2], id, "ok");
    assert_eq!(requests[3].json["message"], "after the end");
    assert_eq!(requests[3].session_id(), None);
}
