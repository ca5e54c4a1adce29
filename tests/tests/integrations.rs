//! `tracing` and `log`, end to end: a real subscriber and a real logger (env_logger) in a real
//! program, against the loopback collector.

mod common;

use allstak_tests::{BesideLogs, Filter, Integrations, Layout};
use common::*;
use serde_json::{Value, json};

fn messages(breadcrumbs: &Value) -> Vec<&str> {
    breadcrumbs
        .as_array()
        .expect("breadcrumbs")
        .iter()
        .map(|b| b["message"].as_str().expect("message"))
        .collect()
}

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
    assert_eq!(messages(breadcrumbs), ["starting", "slow disk"]);
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
fn a_full_trail_keeps_the_newest_hundred() {
    let (_, requests) = reported(Integrations::FullTrail, 1);
    let breadcrumbs = messages(&requests[1].json["breadcrumbs"]);
    assert_eq!(breadcrumbs.len(), 100);
    assert_eq!(breadcrumbs.first(), Some(&"crumb 50"));
    assert_eq!(breadcrumbs.last(), Some(&"crumb 149"));
}

/// Whether `text` was cut to the string limit, keeping its start.
fn is_cut(text: &Value, start: &str) -> bool {
    text.as_str().is_some_and(|text| {
        text.len() <= allstak::MAX_STRING_BYTES
            && text.len() > allstak::MAX_STRING_BYTES - 64
            && text.starts_with(start)
            && text.ends_with(allstak::TRUNCATED)
    })
}

#[test]
fn two_megabyte_messages_fields_and_span_values_are_cut_with_a_marker() {
    let (stderr, requests) = reported(Integrations::HugeValues, 1);
    assert_eq!(stderr, "");
    let request = &requests[1];
    assert!(
        request.body.len() <= allstak::MAX_EVENT_BYTES,
        "{}",
        request.body.len()
    );
    let event = &request.json;
    assert_eq!(event["message"], "could not load settings");
    let breadcrumbs = &event["breadcrumbs"];
    assert_eq!(breadcrumbs.as_array().map(Vec::len), Some(3));
    assert_eq!(breadcrumbs[0]["message"], "starting");
    assert!(is_cut(&breadcrumbs[1]["message"], "xxxx"));
    assert_eq!(breadcrumbs[1]["level"], "info");
    assert_eq!(breadcrumbs[2]["message"], "a big field");
    assert_eq!(breadcrumbs[2]["level"], "warning");
    assert!(is_cut(&breadcrumbs[2]["data"]["payload"], "yyyy"));
    let metadata = &event["metadata"];
    assert!(is_cut(&metadata["dump"], "wwww"));
    assert_eq!(metadata["spans"][0]["name"], "request");
    assert!(is_cut(&metadata["spans"][0]["fields"]["body"], "zzzz"));
    assert!(
        metadata.get("allstak.trimmed").is_none(),
        "nothing had to go"
    );
}

#[test]
fn an_event_over_the_size_limit_keeps_its_newest_breadcrumbs() {
    let (stderr, requests) = reported(Integrations::HeavyTrail, 1);
    assert_eq!(stderr, "");
    let request = &requests[1];
    let size = request.body.len();
    assert!(size <= allstak::MAX_EVENT_BYTES, "{size}");
    // As full as it can be: one more 8 KiB breadcrumb would not have fitted.
    assert!(size > allstak::MAX_EVENT_BYTES - 9 * 1024, "{size}");
    let event = &request.json;
    assert_eq!(event["message"], "after the heavy trail");
    let kept: Vec<&str> = messages(&event["breadcrumbs"])
        .iter()
        .map(|message| &message[..3])
        .collect();
    let dropped = 100 - kept.len();
    let newest: Vec<String> = (dropped..100).map(|n| format!("{n:03}")).collect();
    assert_eq!(kept, newest, "the newest, in order");
    let trimmed = &event["metadata"]["allstak.trimmed"];
    assert_eq!(trimmed["breadcrumbs"], dropped, "{trimmed}");
    assert!(
        trimmed["bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > 800 * 1024),
        "{trimmed}"
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
    assert_eq!(messages(&event["breadcrumbs"]), ["starting"]);
}

/// Runs `beside_logs` with `scenario` as it was (no key: the SDK does nothing) and again sending
/// to a collector with our integration installed: exit code, stdout and stderr must be the same.
/// Returns what the SDK sent.
fn prints_the_same_beside_ours(scenario: BesideLogs) -> Vec<allstak::testing::Request> {
    let as_it_was = run(scenario, &[]);
    assert_eq!(as_it_was.code(), Some(0), "{}", as_it_was.stderr);
    let collector = collector();
    let env = env_for(collector.url(), &[("WITH_ALLSTAK", "1")]);
    let with_ours = run(scenario, &env);
    assert_eq!(
        with_ours.code(),
        Some(0),
        "{scenario:?}: {}",
        with_ours.stderr
    );
    assert_eq!(
        with_ours.stdout, as_it_was.stdout,
        "{scenario:?}: stdout changed"
    );
    assert_eq!(
        with_ours.stderr, as_it_was.stderr,
        "{scenario:?}: stderr changed"
    );
    collector.requests()
}

#[test]
fn a_program_logging_through_fmt_prints_the_same_with_our_layer_beside_it() {
    for layout in [
        Layout::Global,
        Layout::GlobalOursFirst,
        Layout::PerLayer,
        Layout::PerLayerOursFirst,
    ] {
        for filter in [
            Filter::Trace,
            Filter::Debug,
            Filter::Info,
            Filter::Warn,
            Filter::Error,
            Filter::Off,
        ] {
            let requests = prints_the_same_beside_ours(BesideLogs::Tracing(layout, filter));
            // Our layer saw the error whatever the program's own filter lets through, unless
            // the global filter switched it off for every layer.
            let global = matches!(layout, Layout::Global | Layout::GlobalOursFirst);
            let expected = if global && filter == Filter::Off {
                vec![START, END]
            } else {
                vec![START, ERRORS, END]
            };
            assert_eq!(paths(&requests), expected, "{layout:?} {filter:?}");
        }
    }
}

#[test]
fn the_fmt_output_it_is_compared_with_has_every_level_the_filter_lets_through() {
    // The comparison above is only as good as what the program prints.
    let run = run(BesideLogs::Tracing(Layout::PerLayer, Filter::Trace), &[]);
    let levels: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        levels,
        [
            "TRACE", "DEBUG", "INFO", "WARN", "DEBUG", "INFO", "DEBUG", "ERROR", "INFO"
        ],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("connect{port=5432}: "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_program_logging_through_env_logger_prints_the_same_with_our_logger_around_it() {
    for filter in [Filter::Trace, Filter::Debug, Filter::Info, Filter::Error] {
        let requests = prints_the_same_beside_ours(BesideLogs::Log(filter));
        assert_eq!(paths(&requests), [START, ERRORS, END], "{filter:?}");
    }
    let as_it_was = run(BesideLogs::Log(Filter::Trace), &[]);
    assert_eq!(as_it_was.stderr.lines().count(), 6, "{}", as_it_was.stderr);
}
