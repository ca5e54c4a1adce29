//! Scopes, end to end: concurrent requests to a real axum server (a separate program, on a
//! multi-thread runtime) behind `allstak::tower::Layer`, each in a scope of its own. Every
//! event carries its own request's user, tags, extra data, breadcrumbs and request context, and
//! none of another's — a task the handler spawned with `.in_current_scope()` included.

mod common;

use allstak_tests::AxumProgram;
use common::*;
use serde_json::{Value, json};

/// The callers, one request each, all in flight at once (the program waits for four).
const CALLERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// `GET /together/{name}` with the user agent `e2e-{name}`, each on a connection of its own:
/// the status of each answer, in the order of [`CALLERS`].
fn send_all_at_once(address: &str) -> Vec<u16> {
    let threads: Vec<_> = CALLERS
        .iter()
        .map(|name| {
            let url = format!("http://{address}/together/{name}");
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let name = url.rsplit('/').next().unwrap_or_default().to_owned();
                agent
                    .get(&url)
                    .header("user-agent", format!("e2e-{name}"))
                    .call()
                    .map(|response| response.status().as_u16())
                    .expect("an answer")
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| thread.join().expect("the client thread"))
        .collect()
}

fn metadata_str<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event["metadata"][key].as_str()
}

#[test]
fn concurrent_requests_each_report_only_their_own_user_tags_breadcrumbs_and_request() {
    let collector = collector();
    let server = AxumServer::start(AxumProgram::ServeScopes, collector.url());
    let statuses = send_all_at_once(&server.address);
    assert_eq!(statuses, [200, 500, 429, 200]);
    server.stop();

    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, ERRORS, ERRORS, ERRORS, ERRORS, END]
    );
    let id = requests[0].session_id().expect("sessionId");
    let events: Vec<&Value> = requests[1..5].iter().map(|r| &r.json).collect();
    for name in CALLERS {
        let user = json!({ "id": format!("u-{name}") });
        let mut theirs = events.iter().filter(|event| event["user"] == user);
        let event = theirs
            .next()
            .unwrap_or_else(|| panic!("no event of {name}'s: {events:#?}"));
        assert!(theirs.next().is_none(), "two events of {name}'s");
        assert_eq!(event["sessionId"], id);

        // Its own tag and extra data, over the process's tag.
        assert_eq!(metadata_str(event, "caller"), Some(name), "{event}");
        assert_eq!(metadata_str(event, "caller_extra"), Some(name), "{event}");
        assert_eq!(
            metadata_str(event, "service"),
            Some("scopes-demo"),
            "{event}"
        );

        // The process's breadcrumb from before the request, then its own, none of another's.
        let mut expected = vec![
            "serving".to_owned(),
            format!("{name}: started"),
            format!("{name}: resumed"),
        ];
        if name == "dave" {
            expected.push(format!("{name}: in the spawned task"));
        }
        assert_eq!(
            breadcrumb_messages(&event["breadcrumbs"]),
            expected,
            "{event}"
        );

        // Its own request, seen from the handler, the layer, or the spawned task.
        let context = &event["requestContext"];
        assert_eq!(context["method"], "GET", "{event}");
        assert_eq!(context["path"], "/together/{name}", "{event}");
        assert_eq!(context["userAgent"], format!("e2e-{name}"), "{event}");

        let (message, mechanism) = match name {
            "alice" => ("alice failed in the handler".to_owned(), "capture"),
            "bob" => (
                "GET /together/{name} answered 500 Internal Server Error".to_owned(),
                "tower",
            ),
            "carol" => ("carol is over quota".to_owned(), "track"),
            _ => (format!("{name} failed in a spawned task"), "capture"),
        };
        assert_eq!(event["message"], message, "{event}");
        assert_eq!(event["mechanism"], mechanism, "{event}");
        assert_eq!(
            context.get("statusCode"),
            (name == "bob").then_some(&json!(500))
        );
    }
    assert_end(&requests[5], id, "errored");
}
