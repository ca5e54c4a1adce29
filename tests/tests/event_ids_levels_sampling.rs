//! Event ids, levels and sampling, end to end: the id a capture call returns is the `eventId`
//! the server receives (and `last_event_id`'s); a message below `error` leaves the session
//! `ok`; `sample_rate = 0` (the variable or the attribute) sends no error event and still both
//! session requests, the session `errored` by the errors that happened; and the program can
//! tell whether the SDK reports, and why not.

mod common;

use allstak_tests::{ApiProgram, AttrSampledOut};
use common::*;

/// The value printed after `label: ` on a line of `stdout`.
fn printed<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no `{label}:` line in {stdout:?}"))
}

#[test]
fn the_id_capture_error_returns_is_the_event_id_the_server_received() {
    let collector = collector();
    let run = run(ApiProgram::CaptureError, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END], "{}", run.stderr);
    let event = &requests[1];
    assert_well_formed(event);
    let id = printed(&run.stdout, "event id");
    assert_session_id(id); // a UUID v4, lower-case, with dashes
    assert_eq!(event.event_id(), Some(id));
    assert_eq!(event.json["eventId"], id);
    assert_eq!(printed(&run.stdout, "last event id"), id);
    assert_eq!(printed(&run.stdout, "enabled"), "true");
    assert_eq!(event.json["exceptionClass"], "ParseIntError");
    assert_end(
        &requests[2],
        requests[0].session_id().expect("id"),
        "errored",
    );
}

#[test]
fn two_runs_send_two_different_event_ids() {
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let collector = collector();
            let run = run(ApiProgram::CaptureError, &env_for(collector.url(), &[]));
            let requests = collector.requests();
            assert_eq!(paths(&requests), [START, ERRORS, END], "{}", run.stderr);
            requests[1].event_id().expect("an eventId").to_owned()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn an_info_message_is_sent_at_level_info_and_leaves_the_session_ok() {
    let collector = collector();
    let run = run(ApiProgram::InfoMessage, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(printed(&run.stdout, "status"), "ok");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END], "{}", run.stderr);
    let event = &requests[1];
    assert_well_formed(event);
    assert_eq!(event.json["level"], "info");
    assert_eq!(event.json["message"], "nightly import done");
    assert_eq!(event.json["exceptionClass"], "message");
    assert_eq!(event.json["handled"], true);
    assert_eq!(event.event_id(), Some(printed(&run.stdout, "event id")));
    let id = requests[0].session_id().expect("id");
    assert_eq!(event.session_id(), Some(id));
    assert_end(&requests[2], id, "ok");
}

#[test]
fn allstak_sample_rate_zero_sends_no_event_and_both_session_requests() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_SAMPLE_RATE", "0")]);
    let run = run(ApiProgram::CaptureError, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(printed(&run.stdout, "event id"), "none");
    assert_eq!(printed(&run.stdout, "last event id"), "none");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END], "{}", run.stderr);
    // The error happened: the session says so, sampled or not.
    assert_end(
        &requests[1],
        requests[0].session_id().expect("id"),
        "errored",
    );
}

#[test]
fn the_attributes_sample_rate_zero_sends_no_event_and_both_session_requests() {
    let collector = collector();
    let run = run(AttrSampledOut::Errors, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "event id: none\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END], "{}", run.stderr);
    assert_end(
        &requests[1],
        requests[0].session_id().expect("id"),
        "errored",
    );
}

#[test]
fn an_invalid_sample_rate_is_one_diagnostic_and_every_event_is_sent() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_SAMPLE_RATE", "half"), ("ALLSTAK_DEBUG", "1")],
    );
    let run = run(ApiProgram::CaptureError, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let said: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("ALLSTAK_SAMPLE_RATE"))
        .collect();
    assert_eq!(said.len(), 1, "{}", run.stderr);
    assert!(
        said[0].contains("not a number from 0.0 to 1.0"),
        "{}",
        said[0]
    );
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn without_a_key_the_program_can_say_that_nothing_is_reported_and_why() {
    let collector = collector();
    let env: Vec<(String, String)> = env_for(collector.url(), &[])
        .into_iter()
        .filter(|(name, _)| name != "ALLSTAK_API_KEY")
        .collect();
    let run = run(ApiProgram::CaptureError, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "enabled: false\ndisabled: no API key: set ALLSTAK_API_KEY\n\
         event id: none\nlast event id: none\n"
    );
    assert!(collector.requests().is_empty());
}
