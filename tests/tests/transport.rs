//! The transport suite and fault matrix: the contract's transport rules (401, 4xx, 5xx,
//! `Retry-After`, the queue, flush, refused events counted) and, whatever the server, the network or the environment
//! does, the program's output and exit code are unchanged, it exits within the deadline plus a
//! margin, and the SDK says nothing unless `ALLSTAK_DEBUG` asks it to.
//!
//! One suite, two runs: `.ci/run` runs it with the default build (ureq) and with every feature
//! (reqwest, native TLS); `the_suite_runs_against_the_backend_it_was_built_with` checks which.

mod common;

use std::time::Duration;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

#[test]
fn a_200_whose_body_is_not_json_is_taken_as_sent() {
    let collector = collector();
    collector.set_reply(Reply::status(200).with_body("<html>not json</html>"));
    assert_unaffected(&against_host(collector.url()));
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn every_5xx_is_retried_after_a_backoff_and_the_program_is_unaffected() {
    // Each status in a program of its own, all at once: the backoff is a second each.
    std::thread::scope(|scope| {
        for status in [500, 501, 502, 503, 504, 599] {
            scope.spawn(move || assert_a_5xx_on_the_start_is_retried(status));
        }
    });
}

/// The start gets `status` (no `Retry-After`), then everything is accepted.
fn assert_a_5xx_on_the_start_is_retried(status: u16) {
    let collector = collector();
    collector.then_reply(Reply::status(status));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.code(), Some(0), "{status}");
    assert_eq!(run.stdout, OUTPUT, "{status}");
    assert_eq!(run.stderr, "", "{status}");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, START, ERRORS, END], "{status}");
    assert_eq!(requests[0].json, requests[1].json, "{status}");
    // The first backoff: 1 s, less up to a quarter of jitter (the second would be 1.5–2 s).
    let waited = requests[1].received_at - requests[0].received_at;
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_millis(1500),
        "{status}: {waited:?}"
    );
}

#[test]
fn tls_to_a_plain_http_port_sends_nothing_and_is_survived() {
    let collector = collector();
    let https = collector.url().replace("http://", "https://");
    assert_unaffected(&against_host(&https));
    // The port's server never read a request: nothing went out in the clear.
    assert_eq!(paths(&collector.requests()), [] as [&str; 0]);
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
    assert_unaffected(&run(ManualProgram::Capture, &env));
    assert!(collector.requests().is_empty());

    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_API_KEY", "ask_1\r\nX-Injected: yes"),
            ("ALLSTAK_DEBUG", "1"),
        ],
    );
    let run = run(ManualProgram::Capture, &env);
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
    let run = run(ManualProgram::Capture, &env);
    assert_printed_once(&run.stderr, "plain http://");
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = common::run(ManualProgram::Ok, &env);
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
            let mut command = command(ManualProgram::Capture, &env);
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
    let run = run(ManualProgram::DisplayPanics, &env_for(collector.url(), &[]));
    assert_unaffected(&run);
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(
        requests[1].json["message"],
        "<the value's formatting failed>"
    );
}

#[test]
fn a_401_stops_all_sending_for_the_rest_of_the_process() {
    let collector = collector();
    collector.set_reply(Reply::status(401));
    let run = run(ManualProgram::CaptureThree, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&collector.requests()), [START]);
}

#[test]
fn a_401_is_said_once_when_debugging() {
    let collector = collector();
    collector.set_reply(Reply::status(401));
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::CaptureThree, &env);
    assert_printed_once(&run.stderr, "refused (401)");
    assert!(!run.stderr.contains(KEY));
}

#[test]
fn a_server_error_on_an_error_event_is_retried() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(500));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
    let run = run(ManualProgram::Capture, &env);
    assert_eq!(run.code(), Some(0));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    assert_eq!(requests[1].json, requests[2].json);
    // The retry waited for the backoff (1 s, less up to a quarter of jitter).
    let waited = requests[2].received_at - requests[1].received_at;
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
}

#[test]
fn retry_after_on_429_and_503_is_honoured() {
    for status in [429, 503] {
        let collector = collector();
        collector.then_reply(Reply::accepted());
        collector.then_reply(Reply::status(status).with_retry_after("2"));
        let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "8000")]);
        let run = run(ManualProgram::Capture, &env);
        assert_eq!(run.code(), Some(0));
        let requests = collector.requests();
        assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END], "{status}");
        // Two seconds as asked, not the one-second backoff.
        let waited = requests[2].received_at - requests[1].received_at;
        assert!(
            waited >= Duration::from_millis(1900),
            "{status}: {waited:?}"
        );
    }
}

#[test]
fn a_rejected_error_event_is_not_retried() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(422));
    let run = run(ManualProgram::Capture, &env_for(collector.url(), &[]));
    assert_eq!(run.code(), Some(0));
    assert_eq!(paths(&collector.requests()), [START, ERRORS, END]);
}

#[test]
fn error_events_the_server_refuses_are_counted_as_dropped_and_flush_says_so() {
    // Each status in a program of its own, all at once.
    std::thread::scope(|scope| {
        for status in [400, 403, 404, 413, 422] {
            scope.spawn(move || assert_refused_events_are_counted(status));
        }
    });
}

/// The start is accepted, then everything gets `status`.
fn assert_refused_events_are_counted(status: u16) {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.set_reply(Reply::status(status));
    let run = run(
        ManualProgram::CaptureThreeAndFlush,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(run.code(), Some(0), "{status}");
    assert_eq!(
        run.stdout, "session active: true\nflushed: false\ndropped: 3\ndone\n",
        "{status}"
    );
    assert_eq!(run.stderr, "", "{status}");
    // Each refused once, never retried.
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, ERRORS, ERRORS, ERRORS, END],
        "{status}"
    );
    for (n, event) in requests[1..4].iter().enumerate() {
        assert_eq!(event.json["message"], format!("failure {n}"), "{status}");
    }
}

#[test]
fn a_refused_error_event_is_said_once_when_debugging() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.set_reply(Reply::status(413));
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::CaptureThreeAndFlush, &env);
    assert_printed_once(&run.stderr, "an error event was refused");
    assert!(!run.stderr.contains(KEY));
}

#[test]
fn a_flush_is_false_for_the_events_lost_since_the_previous_flush_only() {
    let collector = collector();
    collector.then_reply(Reply::accepted());
    collector.then_reply(Reply::status(413));
    let run = run(ManualProgram::FlushTwice, &env_for(collector.url(), &[]));
    assert_eq!(
        run.stdout,
        "session active: true\nflushed: false\nflushed: true\ndropped: 1\ndone\n"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    assert_eq!(requests[2].json["message"], "before the second flush");
}

#[test]
fn a_malformed_host_sends_nothing_and_is_said_once_when_debugging() {
    let env = [
        ("ALLSTAK_HOST", "not a url"),
        ("ALLSTAK_API_KEY", KEY),
        ("ALLSTAK_TRACK_TEST_RUNS", "1"),
    ];
    let run = run(ManualProgram::Capture, &owned(&env));
    assert_unaffected(&run);

    let debug: Vec<_> = env
        .iter()
        .copied()
        .chain([("ALLSTAK_DEBUG", "1")])
        .collect();
    let run = common::run(ManualProgram::Capture, &owned(&debug));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    assert_eq!(
        run.stderr
            .matches("is not an http:// or https:// URL")
            .count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn a_full_queue_drops_events_and_the_caller_never_waits() {
    let collector = collector();
    collector.set_reply(Reply::never());
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_EXIT_DEADLINE_MS", DEADLINE_MS)],
    );
    let run = run(ManualProgram::Flood, &env);
    assert_eq!(run.code(), Some(0));
    // The worker is held by the start, which is never answered, so no event leaves the queue:
    // it takes exactly its 256, and the other 4744 are dropped and counted.
    assert_eq!(
        run.stdout,
        "session active: true\ndropped 4744 of 5000\nslowest capture under 50 ms: true\ndone\n"
    );
    assert_eq!(paths(&collector.requests()), [START]);
    assert_eq!(run.stderr, "");
    assert!(run.elapsed < BOUND, "{:?}", run.elapsed);
}

#[test]
fn a_flush_mid_run_waits_for_the_queue_and_later_events_still_go_out() {
    let collector = collector();
    let run = run(ManualProgram::Flush, &env_for(collector.url(), &[]));
    assert_eq!(run.stdout, "session active: true\nflushed: true\ndone\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "before the flush");
    assert_eq!(requests[2].json["message"], "after the flush");
}

#[test]
fn the_suite_runs_against_the_backend_it_was_built_with() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = run(ManualProgram::Capture, &env);
    let tls = if cfg!(feature = "native-tls") {
        "native-tls"
    } else {
        "rustls"
    };
    assert_printed_once(&run.stderr, &format!("with {BACKEND} and {tls}\n"));
}
