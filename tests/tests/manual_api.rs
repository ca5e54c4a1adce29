//! The runtime through the manual API (`allstak::init`), as a real process against a real
//! collector: payloads, ordering, statuses and abnormal-session recovery (the transport rules
//! and the exit deadline are in `transport.rs`).

mod common;

use allstak_tests::ManualProgram;
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
