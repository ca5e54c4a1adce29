//! Scrubbing, end to end: values under secret names and the API key never leave the process; with
//! the default scrubbing off, the API key still does not, and a one-letter key is removed only
//! where it stands alone.

mod common;

use allstak_tests::{Companions, Context};
use common::*;

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
    let (_, requests) = reported_with(Context::ScrubOn, &[], 1);
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
    let (_, requests) = reported_with(Context::ScrubOff, &[], 1);
    let event = &requests[1].json;
    for name in SECRETS {
        assert_eq!(event["metadata"][name], "value", "{name}");
    }
    assert_eq!(event["message"], "the key [scrubbed] was refused");
    assert!(!requests[1].body.contains(KEY));
}

#[test]
fn a_one_letter_api_key_is_removed_where_it_stands_alone_and_nowhere_else() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_API_KEY", "k")]);
    let run = run(Companions::ShortKey, &env);
    assert_eq!((run.code(), run.stdout.as_str()), (Some(0), "done\n"));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].header("x-allstak-key"), Some("k"));
    assert_eq!(
        requests[1].json["message"],
        "tokio::runtime::block_on gave up on key [scrubbed]"
    );
    assert_eq!(requests[1].json["exceptionClass"], "&str");
}
