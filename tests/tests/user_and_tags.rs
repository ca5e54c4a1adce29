//! The user and tags, end to end (contract: Error event extensions): the configured user, then
//! `set_user` and `set_tag`, go with every later event, until cleared.

mod common;

use allstak_tests::Context;
use common::*;
use serde_json::json;

#[test]
fn the_configured_user_then_set_user_and_tags_go_with_every_later_event() {
    let (_, requests) = reported_with(Context::UserAndTags, &[("ALLSTAK_USER_ID", "env-user")], 3);
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
