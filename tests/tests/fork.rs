//! A program that forks without `exec`, end to end: the child sends nothing and ends nothing (its
//! events are dropped and counted, said once under `ALLSTAK_DEBUG`), never waits at exit, and dies
//! of its own signals; the session stays the parent's.
#![cfg(unix)]

mod common;

use allstak_tests::Companions;
use common::*;

#[cfg(unix)]
#[test]
fn a_forked_child_drops_its_events_never_ends_the_parents_session_and_never_waits() {
    let collector = collector();
    // A long deadline: a child that waited for a transport thread it does not have would show.
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "5000")]);
    let run = run(Companions::ForkChildReports, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "child: session false, flushed false, dropped 1\n\
         child exited 0: true, within a second: true\n\
         done\n"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].json["message"], "in the parent");
    assert_end(
        &requests[2],
        requests[0].session_id().expect("id"),
        "errored",
    );

    // What the child dropped, it says once under ALLSTAK_DEBUG.
    let collector = common::collector();
    let env = env_for(collector.url(), &[("ALLSTAK_DEBUG", "1")]);
    let run = common::run(Companions::ForkChildReports, &env);
    assert_printed_once(&run.stderr, "forked from the one with the session");
}

#[cfg(unix)]
#[test]
fn a_forked_child_stopped_by_sigterm_dies_of_it_and_leaves_the_parent_running() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
    let run = run(Companions::ForkChildSigterm, &env);
    assert_eq!(
        (run.code(), run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "child died of SIGTERM: true\ndone\n", "")
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
}

#[cfg(unix)]
#[test]
fn a_forked_child_keeps_the_signal_actions_the_program_set_after_the_sdk_started() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
    let with_sdk = run(Companions::ForkChildKeepsTheProgramsSignals, &env);
    let without: Vec<(String, String)> = env
        .iter()
        .filter(|(name, _)| name != "ALLSTAK_API_KEY")
        .cloned()
        .collect();
    let plain = run(Companions::ForkChildKeepsTheProgramsSignals, &without);
    for run in [&with_sdk, &plain] {
        assert_eq!(
            (run.code(), run.stdout.as_str(), run.stderr.as_str()),
            (
                Some(0),
                "child's SIGTERM and SIGINT as the program set them: true\ndone\n",
                ""
            )
        );
    }
    assert_eq!(paths(&collector.requests()), [START, END]);
}

#[cfg(unix)]
#[test]
fn forked_children_panicking_while_a_thread_sets_tags_never_hang_in_the_panic_hook() {
    let collector = collector();
    let run = run(
        Companions::ForkChildrenPanicWhileTagsChange,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "children through their panic: 20 of 20\ndone\n");
}
