//! SIGTERM and SIGINT: by default they end the session with the status reached so far, and the
//! process still dies of them, exactly as it does without the SDK (each test runs the same
//! program with the SDK's session tracking off, so with no handler of ours, and compares).
//! `end_on_signals` off leaves the session to the next run (`abnormal`). The program's own
//! handling stays its own: a signal it ignores stays ignored, a handler it installed before the
//! SDK's runs after the end, one it installs after (tokio, signal-hook) owns the signal, a
//! `sigwait` or a signalfd still reads it, and a second signal while the end is being sent
//! kills the process at once.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use allstak::testing::{Collector, Reply};
use allstak_tests::{
    Companions, ManualProgram, Scenario, SignalHandlers, SignalServer, SignalsLeftAlone,
};
use common::*;

/// The program as it is without the SDK's session: no session, so no signal handler of ours.
const WITHOUT_THE_SDK: (&str, &str) = ("ALLSTAK_AUTO_SESSION_TRACKING", "0");

/// How a program stopped by signals ended.
#[derive(Debug)]
struct Stopped {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Whether `env` runs the program with a session.
fn with_session(env: &[(String, String)]) -> bool {
    !env.iter()
        .any(|(k, v)| (k.as_str(), v.as_str()) == WITHOUT_THE_SDK)
}

/// `command` started with piped stdio.
fn spawned(mut command: Command) -> Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawned")
}

/// Sends `signal` to our own child.
fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// What becomes of the program's stdin once the signals are sent.
#[derive(Clone, Copy)]
enum Stdin {
    /// Held open until the program is gone: it only ends by the signals. (The program's threads
    /// run on while the SDK ends the session: closed at once, it would finish first.)
    Open,
    /// Closed: a program that survives the signals ends.
    Closed,
}

/// Reads the program's `ready` line (and, with a session, waits until the server took its
/// start), then sends it `signals`, and reaps it.
fn stop(
    mut child: Child,
    env: &[(String, String)],
    signals: &[libc::c_int],
    then: Stdin,
) -> Stopped {
    let mut stdin = child.stdin.take();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    assert_eq!(line, "ready\n", "the program set itself up");
    if with_session(env) {
        wait_until_its_start_was_taken(env);
    }
    for sent in signals {
        signal(&child, *sent);
    }
    if let Stdin::Closed = then {
        stdin = None;
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("reaped");
    drop(stdin);
    Stopped {
        status,
        stdout: line + &rest,
        stderr,
    }
}

/// [`stop`] for the tested program playing `scenario`.
fn stopped<S: Scenario>(scenario: S, env: &[(String, String)], signals: &[libc::c_int]) -> Stopped {
    stop(spawned(command(scenario, env)), env, signals, Stdin::Open)
}

/// `env` without the SDK's session, for the comparison run.
fn without_the_sdk(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .cloned()
        .chain(owned(&[WITHOUT_THE_SDK]))
        .collect()
}

/// `stopped` with and without the SDK: the program ends the same way both times (status,
/// stdout, stderr). Returns the run with the SDK.
fn the_same_with_and_without_the_sdk<S: Scenario + Copy>(
    collector: &Collector,
    scenario: S,
    signals: &[libc::c_int],
) -> Stopped {
    let env = env_for(collector.url(), &[]);
    let without = stopped(scenario, &without_the_sdk(&env), signals);
    assert!(collector.requests().is_empty(), "no session, nothing sent");
    let with = stopped(scenario, &env, signals);
    assert_eq!(
        (
            with.status.code(),
            with.status.signal(),
            &with.stdout,
            &with.stderr
        ),
        (
            without.status.code(),
            without.status.signal(),
            &without.stdout,
            &without.stderr
        ),
        "with the SDK: {with:?}\nwithout: {without:?}"
    );
    with
}

/// The session of the run: start, then end with `status`.
fn assert_one_session_ended(collector: &Collector, status: &str) {
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), status);
}

#[test]
fn sigterm_and_sigint_end_the_session_and_the_process_still_dies_of_them() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let collector = collector();
        let with = the_same_with_and_without_the_sdk(&collector, SignalHandlers::Wait, &[signal]);
        assert_eq!(with.status.signal(), Some(signal), "killed by the signal");
        assert_eq!(
            (with.stdout.as_str(), with.stderr.as_str()),
            ("ready\n", "")
        );
        assert_one_session_ended(&collector, "ok");
    }
}

#[test]
fn a_signal_ends_the_session_with_the_status_reached_so_far() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let stopped = stopped(SignalHandlers::HandledThenWait, &env, &[libc::SIGTERM]);
    assert_eq!(stopped.status.signal(), Some(libc::SIGTERM));
    let requests = collector.requests();
    assert_eq!(
        paths(&requests),
        [START, ERRORS, END],
        "the event before the end"
    );
    let id = requests[0].session_id().expect("id");
    assert_eq!(requests[1].json["sessionId"], id);
    assert_end(&requests[2], id, "errored");
}

#[test]
fn a_shell_sees_the_exit_status_of_the_signal_143() {
    let collector = collector();
    // `$!` is the program itself; its stdin is the shell's, through fd 3 (a background job's
    // own stdin is /dev/null).
    let script = r#"exec 3<&0; "$0" "$@" <&3 3<&- & echo $!; wait $!; echo "exit $?""#;
    for env in [
        without_the_sdk(&env_for(collector.url(), &[])),
        env_for(collector.url(), &[]),
    ] {
        let mut command = bare_command(std::path::Path::new("sh"), &env);
        command
            .args(["-c", script])
            .arg(Build::<SignalHandlers>::tested().path())
            .args(SignalHandlers::Wait.to_args());
        let mut shell = spawned(command);
        let stdin = shell.stdin.take();
        let mut stdout = BufReader::new(shell.stdout.take().expect("stdout"));
        // The shell's `echo $!` and the program's `ready`, in either order: both write here.
        let mut lines = [String::new(), String::new()];
        for line in &mut lines {
            stdout.read_line(line).expect("a line");
        }
        lines.sort_by_key(|line| line != "ready\n");
        assert_eq!(lines[0], "ready\n");
        let pid: libc::pid_t = lines[1].trim().parse().expect("a pid");
        if with_session(&env) {
            wait_until_its_start_was_taken(&env);
        }
        // SAFETY: sends a signal to the shell's child, ours.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).expect("the rest");
        drop(stdin);
        assert!(shell.wait().expect("reaped").success());
        assert_eq!(rest, "exit 143\n", "{env:?}");
    }
    assert_one_session_ended(&collector, "ok");
}

#[test]
fn with_end_on_signals_off_a_terminated_program_leaves_its_session_to_the_next_run() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "0")]);
    let stopped = stopped(SignalHandlers::Wait, &env, &[libc::SIGTERM]);
    assert_eq!(stopped.status.signal(), Some(libc::SIGTERM));
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START]);
    let first = requests[0].session_id().expect("id").to_owned();

    run(ManualProgram::Ok, &env);
    assert_sessions(
        &collector.requests()[1..],
        &[(Some(&first), false, "abnormal"), (None, true, "ok")],
    );
}

#[test]
fn the_attributes_end_on_signals_false_wins_over_the_variable() {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_END_ON_SIGNALS", "1")]);
    let stopped = stopped(SignalsLeftAlone::Wait, &env, &[libc::SIGINT]);
    assert_eq!(stopped.status.signal(), Some(libc::SIGINT));
    assert_eq!(
        paths(&collector.requests()),
        [START],
        "left to the next run"
    );
}

#[test]
fn after_a_signal_nothing_is_left_for_the_next_run() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let stopped = stopped(SignalHandlers::Wait, &env, &[libc::SIGINT]);
    assert_eq!(stopped.status.signal(), Some(libc::SIGINT));
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END, START, END]);
    assert_end(&requests[1], requests[0].session_id().expect("id"), "ok");
}

#[test]
fn a_tokio_servers_own_handlers_installed_after_ours_run_its_graceful_shutdown_to_the_end() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let collector = collector();
        let with = the_same_with_and_without_the_sdk(
            &collector,
            SignalServer::GracefulShutdown,
            &[signal],
        );
        assert_eq!(with.status.code(), Some(0), "{with:?}");
        assert_eq!(with.stdout, format!("ready\n{name}: draining\ndrained\n"));
        assert_one_session_ended(&collector, "ok");
    }
}

#[test]
fn a_signal_hook_program_stops_on_its_own_as_without_the_sdk() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let collector = collector();
        let with =
            the_same_with_and_without_the_sdk(&collector, SignalHandlers::SignalHook, &[signal]);
        assert_eq!(with.status.code(), Some(0), "{with:?}");
        assert_eq!(with.stdout, "ready\nstopping\ndone\n");
        assert_one_session_ended(&collector, "ok");
    }
}

#[test]
fn a_program_that_blocks_sigterm_and_takes_it_with_sigwait_still_gets_it() {
    let collector = collector();
    let with =
        the_same_with_and_without_the_sdk(&collector, SignalHandlers::Sigwait, &[libc::SIGTERM]);
    assert_eq!(with.status.code(), Some(0), "{with:?}");
    assert_eq!(with.stdout, "ready\ntook SIGTERM: true\ndone\n");
    assert_one_session_ended(&collector, "ok");
}

#[test]
fn signals_ignored_before_the_sdk_started_stay_ignored() {
    // As `nohup`-style launchers and shells leave them (`trap '' TERM INT`, a background job's
    // SIGINT): ignored across `exec`.
    let collector = collector();
    let script = r#"trap '' TERM INT; exec "$0" "$@""#;
    let ignoring = |env: &[(String, String)]| {
        let mut command = bare_command(std::path::Path::new("sh"), env);
        command
            .args(["-c", script])
            .arg(Build::<SignalHandlers>::tested().path())
            .args(SignalHandlers::Wait.to_args());
        let signals = [libc::SIGTERM, libc::SIGINT];
        stop(spawned(command), env, &signals, Stdin::Closed)
    };
    let env = env_for(collector.url(), &[]);
    let without = ignoring(&without_the_sdk(&env));
    let with = ignoring(&env);
    for stopped in [&without, &with] {
        assert_eq!(stopped.status.code(), Some(0), "{stopped:?}");
        assert_eq!(
            (stopped.stdout.as_str(), stopped.stderr.as_str()),
            ("ready\ndone\n", "")
        );
    }
    assert_one_session_ended(&collector, "ok");
}

/// A program waiting for its stdin (held open), its end on its way to a server that never
/// answers it (exit deadline 30 s: only a signal ends it sooner), sent by `first`; the
/// collector, the env, the child and its stdin.
fn ending_by(first: libc::c_int) -> (Collector, Vec<(String, String)>, Child, Option<ChildStdin>) {
    let collector = collector();
    collector.set_reply_for(END, Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "30000")]);
    let mut child = spawned(command(SignalHandlers::Wait, &env));
    let stdin = child.stdin.take();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("ready");
    wait_until_its_start_was_taken(&env);
    signal(&child, first);
    collector
        .wait_for(WAIT, |requests| requests.iter().any(|r| r.path == END))
        .expect("the end is being sent, and never answered");
    (collector, env, child, stdin)
}

/// The end the server never took is sent again by the next run, as it was (`ok`).
fn the_next_run_sends_the_end_as_it_was(collector: &Collector, env: &[(String, String)]) {
    collector.clear_reply_for(END);
    let id = collector.requests()[0].session_id().expect("id").to_owned();
    run(ManualProgram::Ok, env);
    let requests = collector.requests();
    let ends: Vec<_> = requests
        .iter()
        .filter(|r| r.path == END && r.session_id() == Some(id.as_str()))
        .collect();
    assert_eq!(ends.len(), 2, "{:?}", paths(&requests));
    assert_end(ends[1], &id, "ok");
}

#[test]
fn a_second_signal_while_the_end_is_being_sent_kills_the_process_at_once() {
    let (collector, env, mut child, stdin) = ending_by(libc::SIGTERM);
    // Not taken at once, the end is kept for the next run too.
    wait_for_state_file(&env, "end kept", |body| body.contains("\"ended\""));
    let second = Instant::now();
    signal(&child, libc::SIGTERM);
    let status = child.wait().expect("reaped");
    let took = second.elapsed();
    drop(stdin);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(
        took < Duration::from_secs(5),
        "the second signal took {took:?} to kill a process whose exit deadline is 30 s"
    );
    the_next_run_sends_the_end_as_it_was(&collector, &env);
}

#[test]
fn a_second_signal_right_after_the_first_leaves_the_end_for_the_next_run_not_abnormal() {
    // Ctrl-C, passed on again by a wrapper as soon as the end is on its way (before, the end
    // was written to the state dir only after 10 ms of waiting for the server).
    let (collector, env, mut child, stdin) = ending_by(libc::SIGINT);
    signal(&child, libc::SIGINT);
    let status = child.wait().expect("reaped");
    drop(stdin);
    assert_eq!(status.signal(), Some(libc::SIGINT));
    the_next_run_sends_the_end_as_it_was(&collector, &env);
}

#[test]
fn a_signal_while_a_program_done_at_once_waits_for_its_end_kills_it_at_once() {
    let collector = collector();
    collector.set_reply_for(END, Reply::never());
    // The program is done before the SDK's thread needs a thread for signals; its exit waits
    // for an end the server never answers, far longer than the test's bound.
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "30000")]);
    let mut child = spawned(command(ManualProgram::Ok, &env));
    collector
        .wait_for(WAIT, |requests| requests.iter().any(|r| r.path == END))
        .expect("the end is being sent, and never answered");
    let signalled = Instant::now();
    signal(&child, libc::SIGTERM);
    let status = child.wait().expect("reaped");
    let took = signalled.elapsed();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert!(
        took < Duration::from_secs(5),
        "the signal took {took:?} to kill a process whose exit deadline is 30 s"
    );
}

#[test]
fn a_program_whose_main_returns_while_a_signal_ends_its_session_still_dies_of_the_signal() {
    let collector = collector();
    collector.set_reply_for(END, Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "3000")]);
    let mut child = spawned(command(ManualProgram::Hang, &env));
    let stdin = child.stdin.take();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    assert_eq!(line, "session active: true\n");
    wait_until_its_start_was_taken(&env);
    signal(&child, libc::SIGTERM);
    collector
        .wait_for(WAIT, |requests| requests.iter().any(|r| r.path == END))
        .expect("the end is being sent, and never answered");
    // Meanwhile the program's `main` returns (its stdin closes): exit status 0, had the signal
    // not come.
    drop(stdin);
    let status = child.wait().expect("reaped");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

#[test]
fn a_signal_the_program_ignores_stays_ignored() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let run = run(ManualProgram::SigtermIgnored, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "session active: true\nstill ignored: true\nsurvived\ndone\n"
    );
    assert_one_session_ended(&collector, "ok");
}

#[test]
fn the_programs_own_handler_installed_before_ours_runs_after_the_session_ended() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
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
    assert_one_session_ended(&collector, "ok");
}

#[cfg(target_os = "linux")]
#[test]
fn a_program_that_takes_sigterm_from_a_signalfd_still_gets_it() {
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
    signal(&child, libc::SIGTERM);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("the rest");
    let status = child.wait().expect("reaped");
    assert_eq!(
        (status.code(), rest.as_str()),
        (Some(0), "read SIGTERM: true\ndone\n"),
        "{status:?}: the SDK's threads took the signal"
    );
    assert_one_session_ended(&collector, "ok");
}

#[cfg(target_os = "linux")]
#[test]
fn where_nothing_is_sent_no_handler_is_installed() {
    /// Whether the program, once ready, catches SIGTERM (the kernel's view of its handlers).
    fn catches_sigterm(env: &[(String, String)]) -> bool {
        let mut child = spawned(command(SignalHandlers::Wait, env));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        assert_eq!(line, "ready\n", "the program set itself up");
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("its status");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .expect("a mask of caught signals");
        caught & (1 << (libc::SIGTERM - 1)) != 0
    }
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    assert!(catches_sigterm(&env), "with a key, the SDK's handler");
    let without_a_key: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name != "ALLSTAK_API_KEY")
        .collect();
    assert!(!catches_sigterm(&without_a_key), "without, none");
}
