//! Proxies, end to end: the collector is the proxy (it takes absolute-form requests and
//! `CONNECT` tunnels, as the two backends send them), the host a name that does not resolve,
//! so a request can only arrive through the proxy.

mod common;

use allstak::testing::Request;
use allstak_tests::ManualProgram;
use common::*;

const VIA: &str = "http://allstak-via-proxy.invalid";
const VIA_AUTHORITY: &str = "allstak-via-proxy.invalid:80";

/// The requests to the ingest API, without the tunnels they came through.
fn ingest(requests: &[Request]) -> Vec<&Request> {
    requests.iter().filter(|r| r.method != "CONNECT").collect()
}

fn assert_sent_through_the_proxy(requests: &[Request]) {
    let ingest = ingest(requests);
    let paths: Vec<&str> = ingest.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [START, ERRORS, END]);
    for request in ingest {
        assert_eq!(
            request.proxied_for(),
            Some(VIA_AUTHORITY),
            "{}",
            request.path
        );
        assert_well_formed(request);
    }
}

fn assert_sent_directly(requests: &[Request]) {
    assert_eq!(paths(requests), [START, ERRORS, END]);
    assert!(requests.iter().all(|r| r.proxied_for().is_none()));
}

#[test]
fn requests_go_through_the_proxy_the_environment_names() {
    let proxy = collector();
    let run = run(
        ManualProgram::Capture,
        &env_for(VIA, &[("http_proxy", proxy.url())]),
    );
    assert_eq!(run.code(), Some(0));
    assert_sent_through_the_proxy(&proxy.requests());
}

#[test]
fn an_https_host_is_reached_through_a_tunnel() {
    let proxy = collector();
    let env = env_for(
        "https://allstak-via-proxy.invalid",
        &[
            ("HTTPS_PROXY", proxy.url()),
            ("ALLSTAK_EXIT_DEADLINE_MS", "500"),
        ],
    );
    let run = run(ManualProgram::Capture, &env);
    assert_eq!((run.code(), run.stderr.as_str()), (Some(0), ""));
    // The collector speaks no TLS: the tunnel is asked for, and the program is unaffected.
    let tunnels: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "CONNECT")
        .map(|r| r.path)
        .collect();
    assert!(
        tunnels.iter().any(|t| t == "allstak-via-proxy.invalid:443"),
        "{tunnels:?}"
    );
}

#[test]
fn allstak_proxy_wins_over_the_environment() {
    let proxy = collector();
    let nowhere = format!("http://127.0.0.1:{}", refused_port());
    let env = env_for(
        VIA,
        &[("http_proxy", &nowhere), ("ALLSTAK_PROXY", proxy.url())],
    );
    assert_eq!(run(ManualProgram::Capture, &env).code(), Some(0));
    assert_sent_through_the_proxy(&proxy.requests());
}

#[test]
fn no_proxy_sends_to_its_hosts_directly() {
    let collector = collector();
    let nowhere = format!("http://127.0.0.1:{}", refused_port());
    for no_proxy in [
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "localhost,127.0.0.0/8"),
    ] {
        let collector = common::collector();
        let env = env_for(collector.url(), &[("http_proxy", &nowhere), no_proxy]);
        assert_eq!(run(ManualProgram::Capture, &env).code(), Some(0));
        assert_sent_directly(&collector.requests());
    }
    // And without it, the same program goes to the (dead) proxy: nothing arrives.
    let env = env_for(collector.url(), &[("http_proxy", &nowhere)]);
    assert_eq!(run(ManualProgram::Capture, &env).code(), Some(0));
    assert!(collector.requests().is_empty());
}

#[test]
fn upper_case_http_proxy_is_ignored_as_curl_ignores_it() {
    // CGI servers set HTTP_PROXY from a request's `Proxy:` header ("httpoxy").
    let collector = collector();
    let nowhere = format!("http://127.0.0.1:{}", refused_port());
    let env = env_for(collector.url(), &[("HTTP_PROXY", &nowhere)]);
    assert_eq!(run(ManualProgram::Capture, &env).code(), Some(0));
    assert_sent_directly(&collector.requests());
}

#[test]
fn an_unsupported_proxy_is_said_once_and_requests_go_directly() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_PROXY", "socks5://user:hunter2@127.0.0.1:1080"),
            ("ALLSTAK_DEBUG", "1"),
        ],
    );
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(
        run.stderr.lines().filter(|l| l.contains("socks5")).count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("hunter2"),
        "no credentials in diagnostics"
    );
    assert_sent_directly(&collector.requests());
}

#[test]
fn the_diagnostics_name_the_backend_and_the_proxy_without_its_credentials() {
    let proxy = collector();
    let with_credentials = proxy.url().replace("http://", "http://user:hunter2@");
    let env = env_for(
        VIA,
        &[("ALLSTAK_PROXY", &with_credentials), ("ALLSTAK_DEBUG", "1")],
    );
    let run = run(ManualProgram::Capture, &env);
    let said = format!(
        "sending to {VIA} with {BACKEND} and rustls through the proxy {}",
        proxy.url()
    );
    let said = if cfg!(feature = "native-tls") {
        said.replace("rustls", "native-tls")
    } else {
        said
    };
    assert_printed_once(&run.stderr, &said);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    let requests = proxy.requests();
    assert_sent_through_the_proxy(&requests);
    // The credentials reach the proxy (on the tunnel, or on each absolute-form request).
    assert!(
        requests
            .iter()
            .any(|r| { r.header("proxy-authorization") == Some("Basic dXNlcjpodW50ZXIy") })
    );
}
