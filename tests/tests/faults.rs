//! The fault matrix: whatever the server, the network or the environment does, the program's
//! output and exit code are unchanged, it exits within the deadline plus a margin, and the SDK
//! says nothing unless `ALLSTAK_DEBUG` asks it to.

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use common::*;

const PROGRAM: &str = env!("CARGO_BIN_EXE_manual");
const DEADLINE_MS: &str = "1000";
const BOUND: Duration = Duration::from_millis(1000 + 1500);
const OUTPUT: &str = "session active: true\ndone\n";

fn assert_unaffected(run: &Run) {
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, OUTPUT);
    assert_eq!(run.stderr, "", "nothing is printed without ALLSTAK_DEBUG");
    assert!(run.elapsed < BOUND, "took {:?}", run.elapsed);
}

fn against_host(host: &str) -> Run {
    run(
        PROGRAM,
        &["capture"],
        &env_for(host, &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)]),
    )
}

#[test]
fn a_200_whose_body_is_not_json_is_taken_as_sent() {
    let collector = collector();
    collector.set_reply(Reply::status(200).with_body("<html>not json</html>"));
    assert_unaffected(&against_host(collector.url()));
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn every_5xx_is_survived() {
    let collector = collector();
    collector.set_reply(Reply::status(500));
    assert_unaffected(&against_host(collector.url()));
    assert!(!collector.requests().is_empty());
}

#[test]
fn tls_to_a_plain_http_port_is_survived() {
    let collector = collector();
    let https = collector.url().replace("http://", "https://");
    assert_unaffected(&against_host(&https));
}

#[test]
fn a_host_name_that_does_not_resolve_is_survived() {
    assert_unaffected(&against_host("https://allstak-does-not-exist.invalid"));
}

#[test]
fn a_key_with_a_newline_is_refused_so_no_header_can_be_injected() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_API_KEY", "ask_1\r\nX-Injected: yes")],
    );
    assert_unaffected(&run(PROGRAM, &["capture"], &env));
    assert!(collector.requests().is_empty());

    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_API_KEY", "ask_1\r\nX-Injected: yes"),
            ("ALLSTAK_DEBUG", "1"),
        ],
    );
    let run = run(PROGRAM, &["capture"], &env);
    assert_eq!(run.stdout, OUTPUT);
    assert_eq!(
        run.stderr.lines().filter(|l| l.contains("API key")).count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ask_1"), "the key is never printed");
}

#[test]
fn a_key_over_plain_http_to_a_remote_host_is_warned_about_once_when_debugging() {
    let env = env_for(
        "http://allstak-does-not-exist.invalid",
        &[("ALLSTAK_DEBUG", "1"), ("ALLSTAK_EXIT_DEADLINE_MS", "300")],
    );
    let run = run(PROGRAM, &["capture"], &env);
    assert_printed_once(&run.stderr, "plain http://");
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = common::run(PROGRAM, &["ok"], &env);
    assert!(
        !run.stderr.contains("plain http://"),
        "loopback is fine: {}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn empty_huge_and_non_utf8_values_in_every_variable_are_survived() {
    use std::os::unix::ffi::OsStringExt;

    let collector = collector();
    // Linux refuses any single environment string over 128 KiB (MAX_ARG_STRLEN), so this is
    // the largest a process can be given; the config's unit tests feed 1 MiB directly.
    let huge = "x".repeat(127 * 1024);
    let non_utf8 = std::ffi::OsString::from_vec(vec![b'a', 0xff, 0xfe, b'z']);
    let variables = [
        "ALLSTAK_API_KEY",
        "ALLSTAK_HOST",
        "ALLSTAK_RELEASE",
        "ALLSTAK_ENVIRONMENT",
        "ALLSTAK_AUTO_SESSION_TRACKING",
        "ALLSTAK_TRACK_TEST_RUNS",
        "ALLSTAK_EXIT_DEADLINE_MS",
        "ALLSTAK_STATE_DIR",
        "ALLSTAK_DEBUG",
    ];
    for variable in variables {
        for value in [
            std::ffi::OsString::new(),
            huge.clone().into(),
            non_utf8.clone(),
        ] {
            let env = env_for(
                collector.url(),
                &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)],
            );
            let mut command = command(PROGRAM, &["capture"], &env);
            command.env(variable, &value);
            let started = std::time::Instant::now();
            let output = command.output().expect("runs");
            let shown = format!("{variable} = {} bytes", value.len());
            assert_eq!(output.status.code(), Some(0), "{shown}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.ends_with("done\n"), "{shown}: {stdout}");
            assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{shown}");
            assert!(
                started.elapsed() < BOUND,
                "{shown}: {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn a_panicking_display_impl_is_contained_and_silent() {
    let collector = collector();
    let run = run(PROGRAM, &["display-panics"], &env_for(collector.url(), &[]));
    assert_unaffected(&run);
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(
        requests[1].json["message"],
        "<the value's formatting failed>"
    );
}

#[test]
fn a_server_that_is_not_there_does_not_hold_the_exit_for_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let host = format!("http://127.0.0.1:{port}");
    // A long deadline: only giving up at once on an unreachable server keeps this fast.
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", "10000")]);
    let run = run(PROGRAM, &["capture"], &env);
    assert_eq!(run.stdout, OUTPUT);
    assert!(
        run.elapsed < Duration::from_millis(1500),
        "took {:?}",
        run.elapsed
    );
}
