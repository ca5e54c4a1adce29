//! `allstak::tower::Layer`, end to end: a real axum server (a separate program) behind the layer,
//! driven by a real HTTP client, reporting to the loopback collector.

mod common;

use allstak_tests::AxumProgram;
use common::*;
use serde_json::{Value, json};

const USER_AGENT: &str = "allstak-e2e/1";

/// A client that keeps one connection and takes every status as an answer.
fn http_client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Sends one request; `None` when the server closed the connection without answering.
fn send(agent: &ureq::Agent, method: &str, url: &str) -> Option<u16> {
    let outcome = match method {
        "GET" => agent.get(url).header("user-agent", USER_AGENT).call(),
        _ => agent
            .post(url)
            .header("user-agent", USER_AGENT)
            .send_empty(),
    };
    outcome.ok().map(|response| response.status().as_u16())
}

fn assert_handled_event_of(event: &Value, session_id: &str) {
    assert_eq!(event["level"], "error", "{event}");
    assert_eq!(event["handled"], true, "{event}");
    assert_eq!(event["sessionId"], session_id, "{event}");
}

#[test]
fn a_grpc_call_that_failed_on_the_server_is_a_handled_event_and_the_callers_failures_are_not() {
    let collector = collector();
    let server = AxumServer::start(AxumProgram::Serve, collector.url());
    let base = format!("http://{}/inventory.Stock/Reserve", server.address);
    let agent = http_client();
    // OK, NOT_FOUND, INVALID_ARGUMENT: no event; UNAVAILABLE, INTERNAL: one each.
    for code in [0, 5, 3, 14, 13] {
        assert_eq!(send(&agent, "POST", &format!("{base}/{code}")), Some(200));
    }
    drop(agent);
    server.stop();

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    let id = requests[0].session_id().expect("sessionId");
    let host = server_host(&requests[1].json);
    for (event, code, name) in [
        (&requests[1], 14, "UNAVAILABLE"),
        (&requests[2], 13, "INTERNAL"),
    ] {
        assert_well_formed(event);
        let event = &event.json;
        assert_handled_event_of(event, id);
        assert_eq!(event["exceptionClass"], "GrpcServerError", "{event}");
        assert_eq!(
            event["message"],
            format!("POST /inventory.Stock/Reserve/{{code}} answered grpc-status {code} {name}")
        );
        assert_eq!(event["mechanism"], "tower");
        assert_eq!(
            event["requestContext"],
            json!({
                "method": "POST", "path": "/inventory.Stock/Reserve/{code}", "host": host,
                "statusCode": 200, "userAgent": USER_AGENT,
            })
        );
    }
    assert_end(&requests[3], id, "errored");
}

#[test]
fn a_user_set_in_a_handler_is_the_user_of_that_requests_events_only() {
    let collector = collector();
    let server = AxumServer::start(AxumProgram::Serve, collector.url());
    let base = format!("http://{}", server.address);
    // One connection: the requests are served one after the other.
    let agent = http_client();
    assert_eq!(
        send(&agent, "GET", &format!("{base}/accounts/9")),
        Some(503)
    );
    assert_eq!(send(&agent, "GET", &format!("{base}/users/42")), Some(500));
    assert_eq!(
        send(&agent, "GET", &format!("{base}/accounts/3")),
        Some(200)
    );
    assert_eq!(send(&agent, "GET", &format!("{base}/users/42")), Some(500));
    drop(agent);
    server.stop();

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, ERRORS, END]);
    let account = &requests[1].json;
    assert_eq!(
        account["requestContext"]["path"], "/accounts/{id}",
        "{account}"
    );
    assert_eq!(account["user"], json!({"id": "u-9"}));
    // The requests after it had their own callers: no user, neither 9 nor 3.
    for event in [&requests[2].json, &requests[3].json] {
        assert_eq!(event["requestContext"]["path"], "/users/{id}", "{event}");
        assert_eq!(event.get("user"), None, "{event}");
    }
}

#[test]
fn a_5xx_a_tracked_error_and_a_panic_in_handlers_are_handled_events_with_the_request_and_2xx_are_not()
 {
    let collector = collector();
    let server = AxumServer::start(AxumProgram::Serve, collector.url());
    let base = format!("http://{}", server.address);
    let agent = http_client();
    assert_eq!(send(&agent, "GET", &format!("{base}/ok")), Some(200));
    assert_eq!(send(&agent, "GET", &format!("{base}/users/7")), Some(200));
    assert_eq!(send(&agent, "GET", &format!("{base}/missing")), Some(404));
    assert_eq!(
        send(&agent, "GET", &format!("{base}/users/42?token=abc")),
        Some(500)
    );
    assert_eq!(send(&agent, "POST", &format!("{base}/settings")), Some(502));
    // The handler panics: tokio catches it in the connection's task, which closes.
    assert_eq!(send(&agent, "GET", &format!("{base}/panic")), None);
    // Still serving after the panic.
    assert_eq!(send(&agent, "GET", &format!("{base}/ok")), Some(200));
    drop(agent);
    let stderr = server.stop();
    assert!(stderr.contains("the handler failed"), "{stderr}");

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, ERRORS, END]);
    let id = requests[0].session_id().expect("sessionId");
    for event in &requests[1..4] {
        assert_well_formed(event);
        assert_handled_event_of(&event.json, id);
    }
    let host = server_host(&requests[1].json);

    // The 5xx: the route, not the path, and never the query.
    let five_hundred = &requests[1].json;
    assert_eq!(five_hundred["exceptionClass"], "HttpServerError");
    assert_eq!(
        five_hundred["message"],
        "GET /users/{id} answered 500 Internal Server Error"
    );
    assert_eq!(five_hundred["mechanism"], "tower");
    assert_eq!(
        five_hundred["requestContext"],
        json!({
            "method": "GET", "path": "/users/{id}", "host": host,
            "statusCode": 500, "userAgent": USER_AGENT,
        })
    );

    // A tracked fn's Err inside the handler: one event (the 502 after it is not a second one),
    // with the request, and no status yet.
    let tracked = &requests[2].json;
    assert_eq!(tracked["mechanism"], "track");
    assert_eq!(tracked["exceptionClass"], "io::Error");
    assert_eq!(
        tracked["requestContext"],
        json!({"method": "POST", "path": "/settings", "host": host, "userAgent": USER_AGENT})
    );

    // The panic the server survived: handled, with the request.
    let panic = &requests[3].json;
    assert_eq!(panic["message"], "the handler failed");
    assert_eq!(panic["mechanism"], "panic");
    assert_eq!(
        panic["requestContext"],
        json!({"method": "GET", "path": "/panic", "host": host, "userAgent": USER_AGENT})
    );

    // A server that answered did not crash.
    assert_end(&requests[4], id, "errored");
}

fn server_host(event: &Value) -> String {
    let host = event["requestContext"]["host"]
        .as_str()
        .expect("the Host header")
        .to_owned();
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    host
}

#[test]
fn an_err_from_the_inner_service_is_a_handled_event_with_the_request() {
    let (_, requests) = reported(AxumProgram::ServiceError, 1);
    let event = &requests[1].json;
    assert_eq!(event["exceptionClass"], "UpstreamGone");
    assert_eq!(event["message"], "the upstream is gone");
    assert_eq!(event["mechanism"], "tower");
    assert_eq!(
        event["requestContext"],
        json!({
            // No route known: the id in the path is not sent.
            "method": "POST", "path": "/jobs/:id", "host": "jobs.internal:8080",
            "userAgent": "jobs-client/2",
        })
    );
}

#[test]
fn without_a_route_ids_and_tokens_in_the_path_never_leave_the_process() {
    let collector = collector();
    let server = AxumServer::start(AxumProgram::ServeWithoutRoute, collector.url());
    let token = "q3Zt8vYb2LmN0pRsT5uWxYz1AbCdEf";
    let agent = http_client();
    let url = format!("http://{}/reset/{token}", server.address);
    assert_eq!(send(&agent, "GET", &url), Some(500));
    drop(agent);
    server.stop();

    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    for request in &requests {
        assert!(!request.body.contains(token), "{}", request.body);
    }
    let event = &requests[1].json;
    assert_eq!(event["requestContext"]["path"], "/reset/:token", "{event}");
}
