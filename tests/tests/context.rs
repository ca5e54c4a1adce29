//! User, tags, `before_send` and scrubbing, end to end: a real program against the loopback
//! collector.

mod common;

use allstak::testing::Request;
use allstak_tests::Context;
use common::*;
use serde_json::json;

/// Runs a scenario with `extra` env; returns its requests, checked as start, `events` error
/// events of its session, end `errored`.
fn reported(scenario: Context, extra: &[(&str, &str)], events: usize) -> Vec<Request> {
    let collector = collector();
    let run = run(scenario, &env_for(collector.url(), extra));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "done\n");
    let requests = collector.requests();
    let mut expected = vec![START];
    expected.extend(std::iter::repeat_n(ERRORS, events));
    expected.push(END);
    assert_eq!(paths(&requests), expected, "{}", run.stderr);
    let id = requests[0].session_id().expect("id").to_owned();
    for event in &requests[1..=events] {
        assert_well_formed(event);
        assert_eq!(event.json["sessionId"], id.as_str());
    }
    assert_end(&requests[events + 1], &id, "errored");
    requests
}

#[test]
fn the_configured_user_then_set_user_and_tags_go_with_every_later_event() {
    let requests = reported(Context::UserAndTags, &[("ALLSTAK_USER_ID", "env-user")], 3);
    assert_eq!(requests[0].json["userId"], "env-user");
    let [configured, set, cleared] = [&requests[1].json, &requests[2].json, &requests[3].json];
    assert_eq!(configured["message"], "with the configured user");
    assert_eq!(configured["user"], json!({"id": "env-user"}));
    assert!(configured["metadata"].get("region").is_none());
    assert_eq!(
        set["user"],
        json!({"id": "u-42", "email": "ada@example.com", "ip": "203.0.113.7"})
    );
    assert_eq!(set["metadata"]["region"], "eu-west-1");
    assert_eq!(set["metadata"]["tenant"], "acme");
    assert!(cleared.get("user").is_none(), "{cleared}");
    assert_eq!(cleared["metadata"]["region"], "eu-west-1");
    assert!(cleared["metadata"].get("tenant").is_none());
}

#[test]
fn before_send_changes_or_drops_events_and_a_panic_in_it_drops_only_that_event() {
    let requests = reported(Context::BeforeSend, &[], 2);
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

const SECRETS: [&str; 7] = [
    "password",
    "client_secret",
    "refresh_token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
];

#[test]
fn values_under_secret_names_and_the_api_key_never_leave_the_process() {
    let requests = reported(Context::ScrubOn, &[], 1);
    let event = &requests[1].json;
    for name in SECRETS {
        assert_eq!(event["metadata"][name], "[scrubbed]", "{name}");
    }
    assert_eq!(event["metadata"]["region"], "value");
    assert_eq!(event["message"], "the key [scrubbed] was refused");
    for request in &requests {
        assert!(!request.body.contains(KEY), "{}", request.body);
    }
}

#[test]
fn scrub_defaults_off_keeps_those_values_but_never_the_api_key() {
    let requests = reported(Context::ScrubOff, &[], 1);
    let event = &requests[1].json;
    for name in SECRETS {
        assert_eq!(event["metadata"][name], "value", "{name}");
    }
    assert_eq!(event["message"], "the key [scrubbed] was refused");
    assert!(!requests[1].body.contains(KEY));
}
