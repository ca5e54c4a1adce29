//! A process that died without ending its session (contract: Session rules, `abnormal`): the next
//! run of the program finds its state file and ends the session `abnormal`, once, even when that
//! recovery was itself killed midway, sending the session's start first if it had not gone through.
//! SIGTERM and SIGINT: `signals.rs`; an end kept with its true status: `kept_for_the_next_run.rs`.

mod common;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn a_killed_session_is_ended_abnormal_by_the_next_run() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let killed = hanging(&env);
    let started = collector
        .wait_for_requests(1, WAIT)
        .expect("the first start");
    wait_until_its_start_was_taken(&env);
    kill(killed);
    let first = started[0].session_id().expect("id").to_owned();

    let run = run(ManualProgram::Ok, &env);
    assert_eq!(run.code(), Some(0));
    assert_sessions(
        &collector.requests()[1..],
        &[(Some(&first), false, "abnormal"), (None, true, "ok")],
    );

    // Recovered once: a third run sends only its own session.
    common::run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()[4..]), [START, END]);
}

/// Runs the program's `hang` scenario, until killed.
fn hanging(env: &[(String, String)]) -> std::process::Child {
    use std::process::Stdio;
    command(ManualProgram::Hang, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawned")
}

fn kill(mut child: std::process::Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[test]
fn a_session_whose_recovery_was_killed_midway_is_recovered_by_a_later_run() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let first = hanging(&env);
    let started = collector
        .wait_for_requests(1, WAIT)
        .expect("the first start");
    wait_until_its_start_was_taken(&env);
    kill(first);
    let first = started[0].session_id().expect("id").to_owned();

    // The second run claims the first one's session, and is killed while it sends its end.
    collector.set_reply_for(END, Reply::never());
    let second = hanging(&env);
    collector
        .wait_for_session_end(&first, WAIT)
        .expect("the second run sends the first one's end");
    kill(second);
    collector.clear_reply_for(END);

    let before = collector.requests().len();
    let run = run(ManualProgram::Ok, &env);
    assert_eq!(run.code(), Some(0));
    // The first run's end; the second run's own session, on disk before it started recovering
    // (its start never went out: it was still sending the first one's end); and this run's.
    assert_sessions(
        &collector.requests()[before..],
        &[
            (Some(&first), false, "abnormal"),
            (None, true, "abnormal"),
            (None, true, "ok"),
        ],
    );
}

#[test]
fn a_program_killed_before_its_start_went_through_is_started_then_ended_abnormal_next_run() {
    let collector = collector();
    collector.set_reply_for(START, Reply::status(503));
    let env = env_for(collector.url(), &[]);
    let killed = hanging(&env);
    let tried = collector
        .wait_for_requests(1, WAIT)
        .expect("the first try at the start");
    kill(killed);
    let id = tried[0].session_id().expect("id").to_owned();

    collector.clear_reply_for(START);
    let before = collector.requests().len();
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_eq!(paths(&requests[before..]), [START, END, START, END]);
    assert_eq!(requests[before].session_id(), Some(id.as_str()));
    assert_end(&requests[before + 1], &id, "abnormal");
}
