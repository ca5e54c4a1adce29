//! What an error event keeps, end to end (contract: Error event extensions): the newest 100
//! breadcrumbs, every string cut to `MAX_STRING_BYTES` with a marker, and, for an event over
//! `MAX_EVENT_BYTES`, its newest breadcrumbs that fit.

mod common;

use allstak_tests::Integrations;
use common::*;
use serde_json::Value;

#[test]
fn a_full_trail_keeps_the_newest_hundred() {
    let (_, requests) = reported(Integrations::FullTrail, 1);
    let breadcrumbs = breadcrumb_messages(&requests[1].json["breadcrumbs"]);
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
    let kept: Vec<&str> = breadcrumb_messages(&event["breadcrumbs"])
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
