//! The runtime through the manual API (`allstak::init`), as a real process against a real
//! collector: payloads, ordering, statuses and abnormal-session recovery (the transport rules
//! and the exit deadline are in `transport.rs`).

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn without_a_key_nothing_is_sent_and_the_program_is_unchanged() {
    let collector = collector();
    let run = run(
        ManualProgram::Capture,
        &owned(&[
            ("ALLSTAK_HOST", collector.url()),
            ("ALLSTAK_TRACK_TEST_RUNS", "1"),
        ]),
    );
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    assert_eq!(run.stderr, "");
    // The program has exited: anything it was going to send has arrived.
    assert_eq!(collector.requests().len(), 0);
}

#[test]
fn errors_reported_after_the_end_are_sent_even_past_its_deadline_and_before_exit() {
    let collector = collector();
    let run = run(
        ManualProgram::CaptureAfterTheEnd,
        &env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "1000")]),
    );
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, END, ERRORS, ERRORS, ERRORS, ERRORS, ERRORS]
    );
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
    for (n, event) in requests[2..].iter().enumerate() {
        assert_eq!(event.json["message"], format!("after the end {n}"));
        assert_eq!(event.session_id(), None);
    }
}

#[test]
fn errors_reported_after_the_end_hold_the_exit_no_longer_than_a_fresh_exit_deadline() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::accepted());
    // The errors reported after the end are never answered in time.
    collector.set_reply(Reply::accepted().after(Duration::from_secs(20)));
    let run = run(
        ManualProgram::CaptureAfterTheEnd,
        &env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "2000")]),
    );
    assert_eq!(run.code(), Some(0));
    // 2.2 s of the program's own (past its end's deadline), then one fresh exit deadline of 2 s:
    // ~4.2 s, neither the 20 s answer nor two deadlines at exit (6.2 s).
    assert!(
        run.elapsed >= Duration::from_millis(4000) && run.elapsed < Duration::from_millis(5500),
        "{:?}",
        run.elapsed
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests[..3]), [START, END, ERRORS]);
    assert_eq!(requests[2].json["message"], "after the end 0");
}

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
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END, START, END]);
    assert_end(&requests[1], &first, "abnormal");
    let second = requests[2].session_id().expect("id").to_owned();
    assert_ne!(second, first);
    assert_end(&requests[3], &second, "ok");

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
    let requests = collector.requests();
    assert_eq!(paths(&requests[before..]), [END, START, END]);
    assert_end(&requests[before], &first, "abnormal");
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

    assert_the_next_run_sends_the_end_first(&collector, &env, &id, "errored");
}

/// The next run of the program sends session `id`'s end, with `status`, before its own session.
fn assert_the_next_run_sends_the_end_first(
    collector: &allstak::testing::Collector,
    env: &[(String, String)],
    id: &str,
    status: &str,
) {
    let before = collector.requests().len();
    run(ManualProgram::Ok, env);
    let requests = collector.requests();
    assert_eq!(paths(&requests[before..]), [END, START, END]);
    assert_end(&requests[before], id, status);
}

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

    assert_the_next_run_sends_the_end_first(&collector, &env, &id, "errored");
    // Sent once: the next run sends only its own session.
    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()[6..]), [START, END]);
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
    assert_start(&requests[before], RELEASE, "production");
    assert_eq!(requests[before].session_id(), Some(id.as_str()));
    assert_end(&requests[before + 1], &id, "ok");
    assert_ne!(requests[before + 2].session_id(), Some(id.as_str()));
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

    assert_the_next_run_sends_the_end_first(&collector, &env, &id, "errored");
}
