//! Not in a test run (contract: Not in a test run): a test run sends nothing unless the guard is
//! switched off, and the switch that turns tracking off starts no session.

mod common;

use allstak_tests::ManualProgram;
use common::*;

#[test]
fn a_test_run_sends_nothing_unless_the_guard_is_switched_off() {
    let collector = collector();
    let guarded = [
        ("ALLSTAK_HOST", collector.url()),
        ("ALLSTAK_API_KEY", KEY),
        ("NEXTEST", "1"),
    ];
    let run = run(ManualProgram::Capture, &owned(&guarded));
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: false\ndone\n");
    assert_eq!(collector.requests().len(), 0);

    let switched_off = env_for(collector.url(), &[("NEXTEST", "1")]);
    let run = common::run(ManualProgram::Ok, &switched_off);
    assert_eq!(run.stdout, "session active: true\ndone\n");
    assert_eq!(paths(&collector.requests()), [START, END]);
}

#[test]
fn turning_tracking_off_starts_no_session() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[("ALLSTAK_AUTO_SESSION_TRACKING", "false")],
    );
    let run = run(ManualProgram::Ok, &env);
    assert_eq!(run.stdout, "session active: false\ndone\n");
    assert!(
        paths(&collector.requests())
            .iter()
            .all(|p| *p != START && *p != END)
    );
}
