//! The exit deadline (contract: Session rules): ending the session holds the process no longer than
//! the bound, whatever the server does (refused, not there, never answering, slow), and errors
//! reported after the end get one fresh deadline at exit. Under `panic = "abort"`:
//! `panic_abort.rs`; the attribute's `exit_deadline_ms`: `configuration.rs`.

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn a_refused_port_costs_the_program_nothing() {
    let host = format!("http://127.0.0.1:{}", refused_port());
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)]);
    let run = run(ManualProgram::Capture, &env);
    assert_unaffected(&run);
}

#[test]
fn a_server_that_is_not_there_does_not_hold_the_exit_for_retries() {
    let host = format!("http://127.0.0.1:{}", refused_port());
    // A long deadline: only giving up at once on an unreachable server keeps this fast.
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", "10000")]);
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.stdout, OUTPUT);
    assert!(
        run.elapsed < Duration::from_millis(1500),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn a_server_that_never_answers_holds_the_exit_no_longer_than_the_deadline() {
    let collector = collector();
    collector.set_reply(Reply::never());
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)],
    );
    let run = run(ManualProgram::Capture, &env);
    assert_unaffected(&run);
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "the end was given its time: {:?}",
        run.elapsed
    );
}

#[test]
fn a_slow_server_holds_the_exit_no_longer_than_the_deadline() {
    let collector = collector();
    collector.set_reply(Reply::accepted().after(Duration::from_secs(20)));
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)],
    );
    let run = run(ManualProgram::Capture, &env);
    assert_unaffected(&run);
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
fn a_program_that_ends_at_once_waits_one_round_trip_of_a_far_server_at_exit_not_two() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "20000")]);
    // A first run the server answers at once: a start of this key and host was taken, so
    // later runs may send a start and its end together.
    run(ManualProgram::Ok, &env);
    let before = collector.requests().len();
    let far = Duration::from_secs(2);
    collector.set_reply(Reply::accepted().after(far));
    let run = run(ManualProgram::Ok, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stderr, "");
    let requests = &collector.requests()[before..];
    assert_eq!(paths(requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
    assert_eq!(requests[0].from, requests[1].from, "one connection");
    let apart = requests[1].received_at - requests[0].received_at;
    if cfg!(feature = "reqwest") {
        // reqwest cannot write a request before it read the answer to the one before: one by
        // one, two round trips.
        assert!(apart >= far, "the end came {apart:?} after the start");
        return;
    }
    // Written together on one connection, the start first: the end did not wait for the
    // start's answer (2 s), and the exit waited for one answer, not two (4 s).
    assert!(apart < far / 2, "the end came {apart:?} after the start");
    assert!(
        run.elapsed >= far && run.elapsed < far * 3 / 2,
        "took {:?}",
        run.elapsed
    );
}
