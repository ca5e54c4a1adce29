//! What the SDK does with each answer of the server, end to end (contract: Transport): any 2xx is
//! taken, JSON or not; a 5xx is retried after a backoff, a 429 or 503 after its `Retry-After`;
//! the other 4xx are never retried, and refused error events are counted as dropped; a 401 stops
//! all sending. Every request carries the contract's headers (`common::assert_well_formed`).
//!
//! One suite, two runs: `.ci/run` runs the end-to-end tests with the default build (ureq) and
//! again with every feature (reqwest, native TLS);
//! `the_suite_runs_against_the_backend_it_was_built_with` checks which.

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn a_200_whose_body_is_not_json_is_taken_as_sent() {
    let collector = collector();
    collector.set_reply(Reply::status(200).with_body("<html>not json</html>"));
    assert_unaffected(&against_host(collector.url()));
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn every_5xx_and_a_408_are_retried_after_a_backoff_and_the_program_is_unaffected() {
    // Each status in a program of its own, all at once: the backoff is a second each. A 408
    // is a proxy's or load balancer's timeout, not a verdict on the request.
    std::thread::scope(|scope| {
        for status in [408, 500, 501, 502, 503, 504, 599] {
            scope.spawn(move || assert_a_5xx_on_the_start_is_retried(status));
        }
    });
}

/// The start gets `status` (no `Retry-After`), then everything is accepted.
fn assert_a_5xx_on_the_start_is_retried(status: u16) {
    let collector = collector();
    collector.then_reply(Reply::status(status));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.code(), Some(0), "{status}");
    assert_eq!(run.stdout, OUTPUT, "{status}");
    assert_eq!(run.stderr, "", "{status}");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, START, ERRORS, END], "{status}");
    assert_eq!(requests[0].json, requests[1].json, "{status}");
    // The first backoff: 1 s, less up to a quarter of jitter (the second would be 1.5–2 s).
    let waited = requests[1].received_at - requests[0].received_at;
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_millis(1500),
        "{status}: {waited:?}"
    );
}

#[test]
fn a_server_error_on_an_error_event_is_retried() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(500));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.code(), Some(0));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    assert_eq!(requests[1].json, requests[2].json);
    // The retry waited for the backoff (1 s, less up to a quarter of jitter).
    let waited = requests[2].received_at - requests[1].received_at;
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
}

#[test]
fn retry_after_on_429_and_503_is_honoured() {
    for status in [429, 503] {
        let collector = collector();
        collector.then_reply(Reply::accepted());
        collector.then_reply(Reply::status(status).with_retry_after("2"));
        let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
        let run = run(ManualProgram::Capture, &env);
        assert_eq!(run.code(), Some(0));
        let requests = collector.requests();
        assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END], "{status}");
        // Two seconds as asked, not the one-second backoff.
        let waited = requests[2].received_at - requests[1].received_at;
        assert!(
            waited >= Duration::from_millis(1900),
            "{status}: {waited:?}"
        );
    }
}

#[test]
fn a_rejected_error_event_is_not_retried() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(422));
    let run = run(ManualProgram::Capture, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn error_events_the_server_refuses_are_counted_as_dropped_and_flush_says_so() {
    // Each status in a program of its own, all at once.
    std::thread::scope(|scope| {
        for status in [400, 403, 404, 413, 422] {
            scope.spawn(move || assert_refused_events_are_counted(status));
        }
    });
}

/// The start is accepted, then everything gets `status`.
fn assert_refused_events_are_counted(status: u16) {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.set_reply(Reply::status(status));
    let run = run(
        ManualProgram::CaptureThreeAndFlush,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(run.code(), Some(0), "{status}");
    assert_eq!(
        run.stdout, "session active: true\nflushed: false\ndropped: 3\ndone\n",
        "{status}"
    );
    assert_eq!(run.stderr, "", "{status}");
    // Each refused once, never retried.
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, ERRORS, ERRORS, ERRORS, END],
        "{status}"
    );
    for (n, event) in requests[1..4].iter().enumerate() {
        assert_eq!(event.json["message"], format!("failure {n}"), "{status}");
    }
}

#[test]
fn a_refused_error_event_is_said_once_when_debugging() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.set_reply(Reply::status(413));
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::CaptureThreeAndFlush, &env);
    assert_printed_once(&run.stderr, "an error event was refused");
    assert!(!run.stderr.contains(KEY));
}

#[test]
fn a_401_stops_all_sending_for_the_rest_of_the_process() {
    let collector = collector();
    collector.set_reply(Reply::status(401));
    let run = run(ManualProgram::CaptureThree, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&collector.requests()), [START]);
}

#[test]
fn a_401_is_said_once_when_debugging() {
    let collector = collector();
    collector.set_reply(Reply::status(401));
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::CaptureThree, &env);
    assert_printed_once(&run.stderr, "refused (401)");
    assert!(!run.stderr.contains(KEY));
}

#[test]
fn the_suite_runs_against_the_backend_it_was_built_with() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::Capture, &env);
    let tls = if cfg!(feature = "native-tls") {
        "native-tls"
    } else {
        "rustls"
    };
    assert_printed_once(&run.stderr, &format!("with {BACKEND} and {tls}\n"));
}
