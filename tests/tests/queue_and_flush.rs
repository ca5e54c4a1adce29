//! The event queue and `flush`, end to end: capturing an error never waits (a full queue drops the
//! excess and counts it), and a flush waits for what is queued and says whether everything since
//! the previous flush went out.

mod common;

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

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
