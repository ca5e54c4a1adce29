//! The program's own log beside ours, end to end: with our `tracing` layer beside its `fmt` layer,
//! or our logger around its env_logger, the program prints exactly what it printed without them,
//! whatever its filter and wherever our layer sits.

mod common;

use allstak_tests::{BesideLogs, Filter, Layout};
use common::*;

/// Runs `beside_logs` with `scenario` as it was (no key: the SDK does nothing) and again sending
/// to a collector with our integration installed: exit code, stdout and stderr must be the same.
/// Returns what the SDK sent.
fn prints_the_same_beside_ours(scenario: BesideLogs) -> Vec<allstak::testing::Request> {
    let as_it_was = run(scenario, &[]);
    assert_eq!(as_it_was.code(), Some(0), "{}", as_it_was.stderr);
    let collector = collector();
    let env = env_for(collector.url(), &[("WITH_ALLSTAK", "1")]);
    let with_ours = run(scenario, &env);
    assert_eq!(
        with_ours.code(),
        Some(0),
        "{scenario:?}: {}",
        with_ours.stderr
    );
    assert_eq!(
        with_ours.stdout, as_it_was.stdout,
        "{scenario:?}: stdout changed"
    );
    assert_eq!(
        with_ours.stderr, as_it_was.stderr,
        "{scenario:?}: stderr changed"
    );
    collector.requests()
}

#[test]
fn a_program_logging_through_fmt_prints_the_same_with_our_layer_beside_it() {
    for layout in [
        Layout::Global,
        Layout::GlobalOursFirst,
        Layout::PerLayer,
        Layout::PerLayerOursFirst,
        // Ours behind a filter of its own, which tracing-subscriber asks in its place: the
        // records of the SDK's thread (its HTTP client's, at trace) still stay out.
        Layout::BothFiltered,
        // The program's layer unfiltered: every level it printed, it prints (a level hint of
        // ours would have become the whole subscriber's).
        Layout::Unfiltered,
    ] {
        for filter in [
            Filter::Trace,
            Filter::Debug,
            Filter::Info,
            Filter::Warn,
            Filter::Error,
            Filter::Off,
        ] {
            let requests = prints_the_same_beside_ours(BesideLogs::Tracing(layout, filter));
            // Our layer saw the error whatever the program's own filter lets through, unless
            // the global filter switched it off for every layer.
            let global = matches!(layout, Layout::Global | Layout::GlobalOursFirst);
            let expected = if global && filter == Filter::Off {
                vec![START, END]
            } else {
                vec![START, ERRORS, END]
            };
            assert_eq!(paths(&requests), expected, "{layout:?} {filter:?}");
        }
    }
}

#[test]
fn the_fmt_output_it_is_compared_with_has_every_level_the_filter_lets_through() {
    // The comparison above is only as good as what the program prints.
    let run = run(BesideLogs::Tracing(Layout::PerLayer, Filter::Trace), &[]);
    let levels: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        levels,
        [
            "TRACE", "DEBUG", "INFO", "WARN", "DEBUG", "INFO", "DEBUG", "ERROR", "INFO"
        ],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("connect{port=5432}: "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_program_logging_through_env_logger_prints_the_same_with_our_logger_around_it() {
    for filter in [Filter::Trace, Filter::Debug, Filter::Info, Filter::Error] {
        let requests = prints_the_same_beside_ours(BesideLogs::Log(filter));
        assert_eq!(paths(&requests), [START, ERRORS, END], "{filter:?}");
    }
    let as_it_was = run(BesideLogs::Log(Filter::Trace), &[]);
    assert_eq!(as_it_was.stderr.lines().count(), 6, "{}", as_it_was.stderr);
}
