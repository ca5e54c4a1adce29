//! `before_send`, end to end: it changes or drops events (a panic's too), a panic in it drops only
//! that event, and a hook that reports through the SDK sends that report instead of recursing. A
//! panic in it under `panic = "abort"`: `panic_abort.rs`.

mod common;

use allstak_tests::{Companions, Context};
use common::*;
use serde_json::json;

#[test]
fn before_send_changes_or_drops_events_and_a_panic_in_it_drops_only_that_event() {
    let (_, requests) = reported_with(Context::BeforeSend, &[], 2);
    let kept = &requests[1].json;
    assert_eq!(kept["message"], "KEEP ME");
    assert_eq!(kept["exceptionClass"], "Rewritten");
    assert_eq!(kept["level"], "warning");
    assert_eq!(kept["user"], json!({"id": "from-hook"}));
    // The hook saw the tags in the metadata.
    assert_eq!(kept["metadata"]["seen_tenant"], "acme");
    assert_eq!(kept["metadata"]["tenant"], "acme");
    // A panic's event went through the hook as well.
    let panic = &requests[2].json;
    assert_eq!(panic["message"], "WORKER FAILED");
    assert_eq!(panic["exceptionClass"], "Rewritten");
    assert_eq!(panic["handled"], true);
}

#[test]
fn a_before_send_that_reports_through_the_sdk_sends_that_report_instead_of_recursing() {
    let collector = collector();
    let run = run(
        Companions::BeforeSendReports,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(
        (run.code(), run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "done\n", "")
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1].json;
    assert_well_formed(&requests[1]);
    assert_eq!(event["message"], "before_send dropped an event");
    assert_eq!(event["handled"], true);
    let id = requests[0].session_id().expect("id");
    assert_eq!(event["sessionId"], id);
    assert_end(&requests[2], id, "errored");
}
