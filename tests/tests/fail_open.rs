//! Fail-open, end to end (contract: Session rules, Transport): whatever the key, the host, the
//! network or the environment, the program's exit code, stdout and stderr are unchanged and it
//! exits within the deadline plus a margin. Without a key, with a malformed host or a key that
//! would break a header, nothing is sent. The SDK says nothing unless `ALLSTAK_DEBUG` asks it to,
//! and then each problem once.

mod common;

use allstak_tests::{AttrMain, ManualProgram};
use common::*;

#[test]
fn without_a_key_nothing_is_sent_and_the_program_is_unchanged() {
    let collector = collector();
    let run = run(
        ManualProgram::Capture,
        &owned(&[
            ("ALLSTAK_HOST", collector.url()),
            ("ALLSTAK_TRACK_TEST_RUNS", "1"),
        ]),
    );
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\ndone\n");
    assert_eq!(run.stderr, "");
    // The program has exited: anything it was going to send has arrived.
    assert_eq!(collector.requests().len(), 0);
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
fn a_host_name_that_does_not_resolve_is_survived() {
    assert_unaffected(&against_host("https://allstak-does-not-exist.invalid"));
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
fn a_tracked_error_whose_display_panics_is_sent_with_a_placeholder_and_nothing_printed() {
    let (run, requests, id) = session(AttrMain::DisplayPanics);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nconnected: false\ndone\n");
    assert_eq!(run.stderr, "");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1];
    assert_well_formed(event);
    assert_eq!(event.json["message"], "<the value's formatting failed>");
    assert_eq!(event.json["exceptionClass"], "PanickyDisplay");
    assert_eq!(event.json["handled"], true);
    assert_eq!(event.json["mechanism"], "track");
    assert_eq!(event.json["sessionId"], id.as_str());
    assert_end(&requests[2], &id, "errored");
}
