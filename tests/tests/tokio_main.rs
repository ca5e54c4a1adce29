//! `#[allstak::main]` with `#[tokio::main]` below or above it, end to end: the session is tracked
//! either way, and a task that panicked is a handled event (`errored`).

mod common;

use allstak_tests::{AttrTokioAbove, AttrTokioBelow};
use common::*;

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
