//! The attributes in real programs, run as processes against a real collector: statuses,
//! exit codes, output, error events and the default release.

mod common;

use allstak_tests::AttrMain;
use common::*;

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
