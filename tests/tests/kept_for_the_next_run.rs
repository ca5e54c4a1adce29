//! What a run could not deliver is kept beside its state file and sent by the next run, in order
//! (contract: Session rules): an end the server did not take, that missed the exit deadline, or
//! that a slow server was taking when the process was killed, with its true status; a start that
//! never went through, then its end; never what the server refused for good (an end, or the end of
//! a refused start).

mod common;

use std::time::Duration;

use allstak::testing::{Collector, Reply};
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn an_end_the_server_did_not_take_is_sent_by_the_next_run_with_its_status() {
    let collector = collector();
    // The first run's end gets a 503, and the deadline leaves no time for a retry.
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(503));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "300")]);
    let first_run = run(ManualProgram::Capture, &env);
    assert_eq!(first_run.code(), Some(0));
    let first = collector.requests();
    assert_eq!(paths(&first), [START, ERRORS, END]);
    let id = first[0].session_id().expect("id").to_owned();

    assert_the_next_run_sends_the_end(&collector, &env, &id, "errored");
    // Sent once: the next run sends only its own session.
    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()[6..]), [START, END]);
}

#[test]
fn an_end_that_missed_the_deadline_is_sent_by_the_next_run_with_its_status() {
    let collector = collector();
    // The first run's end never gets an answer within its deadline.
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "500")]);
    run(ManualProgram::Capture, &env);
    let first = collector
        .wait_for_requests(3, WAIT)
        .expect("start, event, end");
    assert_eq!(paths(&first), [START, ERRORS, END]);
    let id = first[0].session_id().expect("id").to_owned();

    assert_the_next_run_sends_the_end(&collector, &env, &id, "errored");
}

#[test]
fn a_program_killed_while_its_end_is_slow_to_send_keeps_its_status() {
    use std::process::Stdio;

    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::accepted());
    // The end is answered only after the program is killed.
    collector.then_reply(Reply::accepted().after(Duration::from_secs(10)));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "20000")]);
    let mut killed = command(ManualProgram::Capture, &env)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawned");
    collector
        .wait_for_requests(3, WAIT)
        .expect("start, event, end");
    // The ending program keeps its end on disk while it waits for the answer.
    wait_for_state_file(&env, "end kept", |body| body.contains("\"ended\""));
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let id = collector.requests()[0].session_id().expect("id").to_owned();

    assert_the_next_run_sends_the_end(&collector, &env, &id, "errored");
}

/// The next run of the program sends session `id`'s end, with `status`, and its own session.
fn assert_the_next_run_sends_the_end(
    collector: &allstak::testing::Collector,
    env: &[(String, String)],
    id: &str,
    status: &str,
) {
    let before = collector.requests().len();
    run(ManualProgram::Ok, env);
    assert_sessions(
        &collector.requests()[before..],
        &[(Some(id), false, status), (None, true, "ok")],
    );
}

/// The id of the one session whose start the collector received, and the paths it received.
fn the_only_session(requests: &[allstak::testing::Request]) -> String {
    let mut ids: Vec<&str> = requests.iter().filter_map(|r| r.session_id()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{requests:?}");
    ids[0].to_owned()
}

#[test]
fn a_start_that_never_went_through_is_sent_with_its_end_by_the_next_run() {
    let collector = collector();
    collector.set_reply_for(START, Reply::status(503));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "300")]);
    let first_run = run(ManualProgram::Ok, &env);
    assert_eq!(first_run.code(), Some(0));
    let first = collector.requests();
    assert!(
        !first.is_empty() && paths(&first).iter().all(|path| *path == START),
        "no end without its start: {:?}",
        paths(&first)
    );
    let id = the_only_session(&first);

    collector.clear_reply_for(START);
    let before = first.len();
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_eq!(paths(&requests[before..]), [START, END, START, END]);
    assert_start(&requests[before], RELEASE, ENVIRONMENT);
    assert_eq!(requests[before].session_id(), Some(id.as_str()));
    assert_end(&requests[before + 1], &id, "ok");
    assert_ne!(requests[before + 2].session_id(), Some(id.as_str()));
}

/// A program that reports an error once its stdin closes, started while the server answers its
/// start 503 (at once, by `Retry-After: 0`): returned once the start's five attempts were not
/// taken.
fn started_while_the_server_refuses_its_start(collector: &Collector) -> std::process::Child {
    collector.set_reply_for(START, Reply::status(503).with_retry_after("0"));
    let env = env_for(collector.url(), &[]);
    let program = command(ManualProgram::CaptureOnceStdinCloses, &env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawned");
    collector
        .wait_for(WAIT, |requests| {
            requests.iter().filter(|r| r.path == START).count() == 5
        })
        .expect("five attempts at the start");
    program
}

#[test]
fn a_start_the_server_did_not_take_is_tried_again_before_the_next_error_event() {
    let collector = collector();
    let mut program = started_while_the_server_refuses_its_start(&collector);
    // Back; then the program reports an error.
    collector.clear_reply_for(START);
    drop(program.stdin.take());
    assert!(program.wait().expect("reaped").success());
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, START, START, START, START, START, ERRORS, END],
        "the start before the event, not with the end"
    );
    let id = requests[0].session_id().expect("id");
    assert_eq!(requests[5].session_id(), Some(id));
    assert_eq!(requests[6].json["sessionId"], id);
}

#[test]
fn a_start_still_not_taken_is_tried_once_before_an_event_not_with_its_whole_backoff() {
    // Down for good.
    let collector = collector();
    let mut program = started_while_the_server_refuses_its_start(&collector);
    drop(program.stdin.take());
    assert!(program.wait().expect("reaped").success());
    let requests = collector.requests();
    let paths = paths(&requests);
    assert_eq!(
        paths[..7],
        [START, START, START, START, START, START, ERRORS],
        "one more attempt before the event: {paths:?}"
    );
}

#[test]
fn the_end_of_a_session_whose_start_was_refused_for_good_is_never_sent() {
    let collector = collector();
    collector.set_reply_for(START, Reply::status(422));
    let env = env_for(collector.url(), &[]);
    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()), [START]);

    collector.clear_reply_for(START);
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_eq!(paths(&requests[1..]), [START, END]);
    assert_ne!(requests[1].session_id(), requests[0].session_id());
}

#[test]
fn an_end_the_server_refused_for_good_is_not_sent_again() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(422));
    let env = env_for(collector.url(), &[]);
    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()), [START, END]);

    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()[2..]), [START, END]);
}
