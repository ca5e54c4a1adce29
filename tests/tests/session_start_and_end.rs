//! One session per process, started and ended once, end to end (contract: Session rules): the start
//! always reaches the server before the end, even when the program ends at once; a second start is
//! a no-op; the duration runs from the start to the end.

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use allstak_tests::{AttrMain, ManualProgram};
use common::*;

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
fn end_is_sent_after_start_even_when_the_program_ends_at_once() {
    let collector = collector();
    let run = run(ManualProgram::Ok, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    assert_eq!(run.stderr, "");

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_start(&requests[0], RELEASE, ENVIRONMENT);
    let id = requests[0].session_id().expect("sessionId");
    assert_end(&requests[1], id, "ok");
    assert!(requests[0].received_at <= requests[1].received_at);
}

#[test]
fn a_second_init_is_ignored_and_its_guard_does_not_end_the_session() {
    let collector = collector();
    let run = run(ManualProgram::SecondInit, &env_for(collector.url(), &[]));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "after a second init");
    assert_end(
        &requests[2],
        requests[0].session_id().expect("id"),
        "errored",
    );
}

#[test]
fn the_duration_is_measured_from_start_to_end() {
    let collector = collector();
    // The program's session lasts 200 ms; its start is answered only after 1.5 s, and the end
    // waits for it, but the end is timed when the program ends, not when it is sent.
    collector.then_reply(Reply::accepted().after(Duration::from_millis(1500)));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "10000")]);
    let run = run(ManualProgram::OkAfter200Ms, &env);
    assert_eq!(run.code(), Some(0));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    let duration = assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
    assert!(
        (200..1000).contains(&duration),
        "200 ms of session, not the 1.5 s the start took: {duration}"
    );
    assert!(
        requests[1].received_at - requests[0].received_at >= Duration::from_millis(1500),
        "the end was sent after the slow start was answered"
    );
}
