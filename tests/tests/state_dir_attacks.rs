//! What someone else on the machine may plant in the state dir (issue 19): links, FIFOs, a dir
//! they can write to. Each costs the program at most one diagnostic: never a hang, never its
//! session, never a write outside the dir.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use allstak::testing::Reply;
use allstak_tests::ManualProgram;
use common::*;

/// The default exit deadline: a run held by its state dir would take all of it.
const DEADLINE: Duration = Duration::from_secs(2);

/// The session files in `env`'s sessions dir.
fn session_files(env: &[(String, String)]) -> Vec<PathBuf> {
    std::fs::read_dir(sessions_dir(env))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "session"))
        .collect()
}

/// The name under which the program keeps its files: what precedes the session id.
fn program_name_in(file: &Path) -> String {
    let name = file.file_name().expect("a name").to_string_lossy();
    name.split_once('-')
        .expect("<name>-<id>.session")
        .0
        .to_owned()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("a path");
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A run that left its session in the state dir (the server unavailable): the name the
/// program keeps its files under, as anyone who can list the dir sees it.
fn a_kept_session(collector: &allstak::testing::Collector, env: &[(String, String)]) -> String {
    collector.set_reply(Reply::status(503));
    let run = run(ManualProgram::Ok, env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    collector.set_reply(Reply::accepted());
    let kept = session_files(env);
    assert_eq!(kept.len(), 1, "{kept:?}");
    program_name_in(&kept[0])
}

/// Plants `plant` among the program's session files, then runs it: it sends its own start and
/// end, and exits well within the deadline; the plant is gone.
fn run_with_a_planted_session_file(plant: impl Fn(&Path)) {
    let collector = collector();
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "300")]);
    let name = a_kept_session(&collector, &env);
    let planted = sessions_dir(&env).join(format!("{name}-planted.session"));
    plant(&planted);
    let before = collector.requests().len();

    let run = run(ManualProgram::Ok, &env);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.elapsed < DEADLINE, "held for {:?}", run.elapsed);
    let requests = &collector.requests()[before..];
    // The kept session's start and end, then this run's own.
    assert_eq!(paths(requests), [START, END, START, END]);
    let own = requests[2].session_id().expect("id");
    assert_end(&requests[3], own, "ok");
    assert!(
        std::fs::symlink_metadata(&planted).is_err(),
        "left in place"
    );
}

#[test]
fn a_dev_zero_link_among_the_session_files_costs_the_run_nothing() {
    run_with_a_planted_session_file(|path| {
        std::os::unix::fs::symlink("/dev/zero", path).expect("link");
    });
}

#[test]
fn a_fifo_among_the_session_files_costs_the_run_nothing() {
    run_with_a_planted_session_file(mkfifo);
}

#[test]
fn a_huge_session_file_costs_the_run_nothing() {
    run_with_a_planted_session_file(|path| {
        let file = std::fs::File::create(path).expect("file");
        file.set_len(1 << 30).expect("a sparse 1 GB");
    });
}

/// Runs the program until its session is on disk, plants `plant` at the temp file earlier
/// versions wrote it through (`<name>.tmp-<pid>`), and ends it with an end the server is slow
/// to take (so the exiting thread writes the end itself): it exits within the deadline, and
/// its start and end were sent.
fn end_with_a_planted_temp_file(plant: impl Fn(&Path)) {
    let collector = collector();
    collector.set_reply_for(END, Reply::accepted().after(Duration::from_millis(300)));
    let env = env_for(collector.url(), &[]);
    let mut child = command(ManualProgram::Hang, &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the program runs");
    wait_until_its_start_was_taken(&env);
    let files = session_files(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    plant(&files[0].with_extension(format!("tmp-{}", child.id())));

    let pid = child.id();
    let ending = Instant::now();
    drop(child.stdin.take()); // `hang` returns from main
    let (exited, exit) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let Ok(status) = exit.recv_timeout(WAIT) else {
        // SAFETY: our own child, still running.
        unsafe { libc::kill(pid.try_into().expect("a pid"), libc::SIGKILL) };
        panic!("the exit is held past the deadline");
    };
    let elapsed = ending.elapsed();
    assert!(status.expect("waited").success());
    assert!(elapsed < DEADLINE, "held for {elapsed:?}");
    assert_eq!(paths(&collector.requests()), [START, END]);
}

#[test]
fn a_fifo_at_the_temp_file_does_not_hold_the_exit() {
    end_with_a_planted_temp_file(mkfifo);
}

#[test]
fn a_link_at_the_temp_file_writes_nothing_outside_the_dir() {
    let outside = fresh_state_dir().with_extension("outside");
    std::fs::write(&outside, "precious").expect("outside");
    end_with_a_planted_temp_file(|path| {
        std::os::unix::fs::symlink(&outside, path).expect("link");
    });
    assert_eq!(
        std::fs::read_to_string(&outside).expect("outside"),
        "precious"
    );
    let _ = std::fs::remove_file(&outside);
}

#[test]
fn a_state_dir_others_can_write_to_gets_no_file_and_one_diagnostic() {
    use std::os::unix::fs::PermissionsExt as _;
    for which in ["", "sessions"] {
        let collector = collector();
        // The end is never answered: a used dir would keep it.
        collector.set_reply_for(END, Reply::never());
        let env = env_for(
            collector.url(),
            &[("ALLSTAK_EXIT_DEADLINE_MS", "300"), ("ALLSTAK_DEBUG", "1")],
        );
        let state_dir = sessions_dir(&env).parent().expect("state dir").to_owned();
        let open = state_dir.join(which);
        std::fs::create_dir_all(&open).expect("dir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");

        let run = run(ManualProgram::Ok, &env);
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        assert_eq!(paths(&collector.requests()), [START, END], "sent as ever");
        let written: Vec<_> = std::fs::read_dir(&open)
            .expect("dir")
            .flatten()
            .map(|entry| entry.file_name())
            .collect();
        assert!(
            written.is_empty(),
            "written into {}: {written:?}",
            open.display()
        );
        let said: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.contains("state dir"))
            .collect();
        assert_eq!(said.len(), 1, "{}", run.stderr);
        assert!(said[0].contains("not private"), "{}", said[0]);
    }
}
