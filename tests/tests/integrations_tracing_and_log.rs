//! `tracing` and `log`, end to end: a real subscriber and a real logger (env_logger) in a real
//! program, against the loopback collector. An error is an event with its class, source chain,
//! fields, spans and the breadcrumbs before it. What an event keeps: `event_limits.rs`; the
//! program's own output: `integrations_own_log_unchanged.rs`.

mod common;

use allstak_tests::Integrations;
use common::*;
use serde_json::json;

#[test]
fn a_tracing_error_with_an_error_field_is_an_event_with_its_class_chain_fields_and_spans() {
    let (stderr, requests) = reported(Integrations::TracingError, 1);
    assert_eq!(stderr, "");
    let event = &requests[1].json;
    assert_eq!(event["message"], "could not load settings");
    assert_eq!(event["exceptionClass"], "SettingsError");
    assert_eq!(event["mechanism"], "tracing");
    // The error field is never dropped: its text and its source chain.
    assert_eq!(
        event["stackTrace"],
        json!([
            "caused by: could not read the settings",
            "caused by: no such file"
        ])
    );
    assert_eq!(event["metadata"]["user"], "u-1");
    assert_eq!(
        event["metadata"]["spans"],
        json!([{"name": "request", "fields": {"id": 7}}])
    );
    let frame = &event["frames"][0];
    assert_eq!(frame["function"], "integrations");
    assert_eq!(frame["filename"], "tests/src/bin/integrations.rs");
    assert!(
        frame["lineno"].as_u64().is_some_and(|line| line > 60),
        "{frame}"
    );
    // Info and warn before it are breadcrumbs; debug is not kept.
    let breadcrumbs = &event["breadcrumbs"];
    assert_eq!(breadcrumb_messages(breadcrumbs), ["starting", "slow disk"]);
    assert_eq!(breadcrumbs[0]["level"], "info");
    assert_eq!(breadcrumbs[0]["type"], "log");
    assert_eq!(breadcrumbs[0]["category"], "integrations");
    assert_eq!(breadcrumbs[1]["level"], "warning");
    assert_eq!(breadcrumbs[1]["data"], json!({"retries": 3}));
    assert!(
        breadcrumbs[0]["timestamp"]
            .as_str()
            .is_some_and(|t| t.len() == 24 && t.ends_with('Z')),
        "{}",
        breadcrumbs[0]
    );
}

#[test]
fn two_of_the_sdks_layers_on_one_registry_each_report_and_never_panic_on_a_span() {
    // Before, the second layer's span fields panicked inside the program's `info_span!`.
    let (stderr, requests) = reported(Integrations::TwoLayers, 2);
    assert_eq!(stderr, "");
    for event in &requests[1..=2] {
        assert_eq!(event.json["message"], "could not load settings");
        assert_eq!(
            event.json["metadata"]["spans"],
            json!([{"name": "request", "fields": {"id": 7, "user": "u-1"}}])
        );
    }
}

#[test]
fn an_err_seen_by_both_instrument_and_track_is_one_event_in_either_order() {
    let (_, requests) = reported(Integrations::InstrumentAndTrack, 2);
    let messages: Vec<&str> = requests[1..3]
        .iter()
        .map(|r| r.json["message"].as_str().expect("message"))
        .collect();
    assert_eq!(
        messages,
        [
            "could not read the settings",
            "invalid digit found in string"
        ]
    );
}

#[test]
fn a_log_error_is_an_event_and_the_wrapped_logger_still_prints_every_record() {
    let (stderr, requests) = reported(Integrations::LogError, 1);
    // env_logger printed what it always printed.
    assert!(stderr.contains("starting"), "{stderr}");
    assert!(stderr.contains("the database is gone"), "{stderr}");
    assert!(!stderr.contains("not kept"), "{stderr}");
    let event = &requests[1].json;
    assert_eq!(event["message"], "the database is gone");
    assert_eq!(event["exceptionClass"], "integrations");
    assert_eq!(event["mechanism"], "log");
    assert_eq!(
        event["frames"][0]["filename"],
        "tests/src/bin/integrations.rs"
    );
    assert_eq!(breadcrumb_messages(&event["breadcrumbs"]), ["starting"]);
}
