//! The program's own companions beside the SDK (its `before_send`, its signal handling):
//! each keeps working as it did, and what the program reports arrives.

mod common;

use allstak_tests::Companions;
use common::*;

#[test]
fn a_before_send_that_reports_through_the_sdk_sends_that_report_instead_of_recursing() {
    let collector = collector();
    let run = run(
        Companions::BeforeSendReports,
        &env_for(collector.url(), &[]),
    );
    assert_eq!(
        (run.code(), run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "done\n", "")
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let event = &requests[1].json;
    assert_well_formed(&requests[1]);
    assert_eq!(event["message"], "before_send dropped an event");
    assert_eq!(event["handled"], true);
    let id = requests[0].session_id().expect("id");
    assert_eq!(event["sessionId"], id);
    assert_end(&requests[2], id, "errored");
}

#[cfg(target_os = "linux")]
#[test]
fn a_program_that_takes_sigterm_from_a_signalfd_still_gets_it() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let collector = collector();
    let mut child = command(Companions::Signalfd, &env_for(collector.url(), &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawned");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    assert_eq!(line, "ready\n", "the program blocked SIGTERM");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the rest");
    let status = child.wait().expect("reaped");
    assert_eq!(
        (status.code(), rest.as_str()),
        (Some(0), "read SIGTERM: true\ndone\n"),
        "{status:?}: the SDK's threads took the signal"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
}

#[test]
fn a_one_letter_api_key_is_removed_where_it_stands_alone_and_nowhere_else() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_API_KEY", "k")]);
    let run = run(Companions::ShortKey, &env);
    assert_eq!((run.code(), run.stdout.as_str()), (Some(0), "done\n"));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    assert_eq!(requests[1].header("x-allstak-key"), Some("k"));
    assert_eq!(
        requests[1].json["message"],
        "tokio::runtime::block_on gave up on key [scrubbed]"
    );
    assert_eq!(requests[1].json["exceptionClass"], "&str");
}

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
