//! SIGTERM and SIGINT: by default the session stays open (the next run reports it
//! `abnormal`); with `ALLSTAK_END_ON_SIGNALS` it ends with the status reached so far, and the
//! process still dies of the signal. The program's own handling stays its own: a signal it
//! ignores stays ignored, its handler runs, a signalfd still reads the signal.
#![cfg(unix)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use allstak::testing::Collector;
use allstak_tests::{Companions, ManualProgram};
use common::*;

/// Starts the `hang` scenario, waits for its session start, sends `signal`, returns its status.
fn signalled(
    collector: &Collector,
    env: &[(String, String)],
    signal: libc::c_int,
) -> std::process::ExitStatus {
    let mut child = command(ManualProgram::Hang, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawned");
    // Held open until the child is gone: the program only ends by the signal.
    let stdin = child.stdin.take();
    collector
        .wait_for_requests(1, WAIT)
        .expect("the session started");
    wait_until_its_start_was_taken(env);
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let output = child.wait_with_output().expect("reaped");
    drop(stdin);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    output.status
}

#[test]
fn by_default_a_terminated_program_leaves_its_session_to_the_next_run() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let status = signalled(&collector, &env, libc::SIGTERM);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START]);
    let first = requests[0].session_id().expect("id").to_owned();

    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END, START, END]);
    assert_end(&requests[1], &first, "abnormal");
}

#[test]
fn with_the_opt_in_sigterm_and_sigint_end_the_session_and_the_process_still_dies_of_them() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let collector = collector();
        let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
        let status = signalled(&collector, &env, signal);
        assert_eq!(status.signal(), Some(signal), "exit behaviour kept");
        let requests = collector.requests();
        assert_eq!(paths(&requests), [START, END], "signal {signal}");
        assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");

        // Nothing left over for the next run.
        run(ManualProgram::Ok, &env);
        assert_eq!(paths(&collector.requests()[2..]), [START, END]);
    }
}

#[test]
fn a_signal_the_program_ignores_stays_ignored() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
    let run = run(ManualProgram::SigtermIgnored, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "session active: true\nstill ignored: true\nsurvived\ndone\n"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
}

#[test]
fn the_programs_own_handler_runs_after_the_session_ended() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
    let mut child = command(ManualProgram::SigtermOwnHandler, &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawned");
    // Held open: the program only ends through its handler.
    let stdin = child.stdin.take();
    let output = child.wait_with_output().expect("reaped");
    drop(stdin);
    assert_eq!(output.status.code(), Some(42), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "session active: true\nown handler ran\n"
    );
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
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
