//! `panic = "abort"`: `main`'s guard never runs, so the panic hook itself marks the session
//! crashed and sends the crash and the end, within the exit deadline, before the abort.
#![cfg(unix)]

mod common;

use std::os::unix::process::ExitStatusExt;

use allstak_tests::{AttrMain, Companions};
use common::*;

fn abort_build() -> Build<AttrMain> {
    built_with_profile("abort")
}

#[test]
fn under_panic_abort_the_hook_sends_the_crash_and_the_end_before_the_abort() {
    let program = abort_build();
    let collector = collector();
    let run = program.run(AttrMain::Panic, &env_for(collector.url(), &[]));
    assert_eq!(run.status.signal(), Some(libc::SIGABRT), "{:?}", run.status);
    assert_eq!(run.stdout, "session active: true\n");
    assert_printed_once(&run.stderr, "main gave up");

    assert_crash_reported(&collector.requests(), "main gave up");
}

#[test]
fn under_panic_abort_a_blackholed_server_holds_the_abort_no_longer_than_the_deadline() {
    let program = abort_build();
    let collector = collector();
    collector.set_reply(allstak::testing::Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "1000")]);
    let run = program.run(AttrMain::Panic, &env);
    assert_eq!(run.status.signal(), Some(libc::SIGABRT));
    assert!(
        run.elapsed < std::time::Duration::from_millis(2500),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn under_panic_abort_a_panic_in_a_tracked_errors_display_is_printed_and_reported_as_the_crash() {
    let program = abort_build();
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let run = program.run(AttrMain::DisplayPanics, &env);
    assert_eq!(run.status.signal(), Some(libc::SIGABRT), "{:?}", run.status);
    // Nothing can catch it under abort: std's message is printed, as without the SDK.
    assert_printed_once(&run.stderr, "a bug in a Display impl");
    assert_crash_reported(&collector.requests(), "a bug in a Display impl");
}

#[test]
fn under_panic_abort_a_panic_in_before_send_is_printed_and_ends_the_session_crashed() {
    let program = built_with_profile::<Companions>("abort");
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let run = program.run(Companions::BeforeSendPanics, &env);
    assert_eq!(run.status.signal(), Some(libc::SIGABRT), "{:?}", run.status);
    assert_printed_once(&run.stderr, "a bug in before_send");
    let requests = collector.requests();
    // The event the hook would have let through is not sent without it.
    assert_eq!(paths(&requests), [START, END]);
    assert_end(
        &requests[1],
        requests[0].session_id().expect("id"),
        "crashed",
    );
}

#[test]
fn under_panic_abort_with_an_exit_deadline_of_zero_the_fatal_event_is_kept_for_the_next_run() {
    let program = abort_build();
    let collector = collector();
    collector.set_reply(allstak::testing::Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "0")]);
    let run = program.run(AttrMain::Panic, &env);
    assert_eq!(run.status.signal(), Some(libc::SIGABRT), "{:?}", run.status);

    // The server answers again: the next run (the same state dir) delivers the fatal event.
    collector.set_reply(allstak::testing::Reply::accepted());
    let before = collector.requests().len();
    let next: Vec<(String, String)> = env
        .iter()
        .filter(|(name, _)| name != "ALLSTAK_EXIT_DEADLINE_MS")
        .cloned()
        .collect();
    program.run(AttrMain::Ok, &next);
    let requests = collector.requests();
    let fatal: Vec<&allstak::testing::Request> = requests[before..]
        .iter()
        .filter(|r| r.path == ERRORS)
        .collect();
    assert_eq!(fatal.len(), 1, "{:?}", paths(&requests[before..]));
    assert_eq!(fatal[0].json["level"], "fatal");
    assert_eq!(fatal[0].json["message"], "main gave up");
    // Of the crashed session (its end is sent by one run or the other).
    let crashed = fatal[0].json["sessionId"].as_str().expect("sessionId");
    let end = requests
        .iter()
        .find(|r| r.path == END && r.session_id() == Some(crashed))
        .expect("the crashed session's end");
    assert_end(end, crashed, "crashed");
}
