//! What never leaves the process: secrets in a span's Debug value, in an event's fields and in
//! its message, end to end through the tracing layer.

mod common;

use allstak_tests::Integrations;
use common::*;

#[test]
fn secrets_in_span_values_fields_and_messages_never_reach_the_collector() {
    let (_, requests) = reported(Integrations::Secrets, 1);
    let secrets = [
        "hunter2",
        "tok-auth-123",
        "BEGIN PRIVATE KEY",
        "s3cr3t-credentials",
        "abc.def-ghi",
        "hunter3",
    ];
    for request in &requests {
        for secret in secrets {
            assert!(
                !request.body.contains(secret),
                "{secret} in {}",
                request.body
            );
        }
    }
    // What is not a secret is kept: the names, the host, the rest of the message.
    let event = &requests[1].json;
    let message = event["message"].as_str().expect("a message");
    assert!(message.starts_with("could not connect with"), "{message}");
    assert!(message.contains("db.internal"), "{message}");
    let spans = event["metadata"]["spans"].to_string();
    assert!(
        spans.contains("db.internal") && spans.contains("pwd"),
        "{spans}"
    );
    assert!(event["metadata"].get("credentials").is_some(), "{event}");
}
