//! Offline, or far away (contract: Session rules, the spool): what a run could not deliver (its
//! start, its end, its error events) is kept beside its state file and delivered by the next run
//! of the program, in order, each item once, bounded; a run killed while it delivers leaves the
//! rest to the next; and an exit deadline of 0 never waits for the network. The state file's own
//! cases (an end not taken, a start not taken): `kept_for_the_next_run.rs`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use allstak::testing::{Collector, Reply, Request};
use allstak_tests::ManualProgram;
use common::*;

/// `env` for a run with the default exit deadline (without `ALLSTAK_EXIT_DEADLINE_MS`).
fn waiting(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .filter(|(name, _)| name != "ALLSTAK_EXIT_DEADLINE_MS")
        .cloned()
        .collect()
}

/// Relays every connection made to `port` on 127.0.0.1 to `to` (a collector's URL): the
/// collector "comes up" on a port that refused connections until now.
fn relay(port: u16, to: &str) {
    let target = to.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the refused port is free");
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            pass_on(client, &target);
        }
    });
}

/// Relays `port` to `to` while `during` runs; then the port refuses connections again.
fn relay_while<T>(port: u16, to: &str, during: impl FnOnce() -> T) -> T {
    let target = to.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the refused port is free");
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let accepting = thread::spawn(move || {
        for client in listener.incoming().flatten() {
            if stopped.load(Ordering::SeqCst) {
                return; // the listener closes with this thread
            }
            pass_on(client, &target);
        }
    });
    let result = during();
    stop.store(true, Ordering::SeqCst);
    // Wakes the accepting thread, which sees `stop` and closes the port.
    let _ = TcpStream::connect(("127.0.0.1", port));
    accepting.join().expect("the relay stops");
    result
}

/// Relays one connection to `target`, both ways, until either side closes.
fn pass_on(client: TcpStream, target: &str) {
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    // Relayed as it comes: no 40 ms of Nagle against delayed acknowledgements.
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    for (mut from, mut into) in [
        (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        ),
        (server, client),
    ] {
        thread::spawn(move || {
            let mut buffer = [0; 16 * 1024];
            while let Ok(n @ 1..) = from.read(&mut buffer) {
                if into.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            let _ = into.shutdown(Shutdown::Write);
        });
    }
}

/// What a run of each scenario leaves: its session's status, and its error events.
fn expected(scenario: ManualProgram) -> (&'static str, usize) {
    match scenario {
        ManualProgram::Ok | ManualProgram::OkAfter200Ms => ("ok", 0),
        ManualProgram::Capture => ("errored", 1),
        ManualProgram::CaptureThree => ("errored", 3),
        ManualProgram::Panic => ("crashed", 1),
        other => unreachable!("{other:?}"),
    }
}

#[test]
fn twenty_runs_offline_are_all_delivered_by_the_first_run_online_in_order_once_each() {
    let port = refused_port();
    let host = format!("http://127.0.0.1:{port}");
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", "300")]);
    let scenarios = [
        ManualProgram::Ok,
        ManualProgram::Capture,
        ManualProgram::CaptureThree,
        ManualProgram::Panic,
        ManualProgram::OkAfter200Ms,
    ];
    let offline: Vec<ManualProgram> = scenarios.iter().copied().cycle().take(20).collect();
    for scenario in &offline {
        let run = run(*scenario, &env);
        assert!(
            run.elapsed < Duration::from_millis(1500),
            "{scenario:?} took {:?}",
            run.elapsed
        );
    }

    let collector = collector();
    relay(port, collector.url());
    let online = run(ManualProgram::Ok, &env);
    assert_eq!(online.code(), Some(0), "{}", online.stderr);
    let requests = collector.requests();
    for request in &requests {
        assert_well_formed(request);
    }
    let sessions = by_session(&requests);
    assert_eq!(sessions.len(), 21, "{:?}", paths(&requests));

    // Each session: its start first, its end once and after it; its events, each once.
    let mut seen = BTreeMap::<(&str, usize), usize>::new();
    let mut long = 0;
    for (id, requests) in &sessions {
        assert_start(requests[0], RELEASE, ENVIRONMENT);
        let ends: Vec<&&Request> = requests.iter().filter(|r| r.path == END).collect();
        let starts = requests.iter().filter(|r| r.path == START).count();
        assert_eq!((starts, ends.len()), (1, 1), "{id}: {:?}", requests);
        let status = ends[0].json["status"].as_str().expect("status");
        let duration = assert_end(ends[0], id, status);
        let events: Vec<&&Request> = requests.iter().filter(|r| r.path == ERRORS).collect();
        let messages: BTreeSet<&str> = events
            .iter()
            .map(|e| e.json["message"].as_str().expect("message"))
            .collect();
        assert_eq!(messages.len(), events.len(), "no event twice: {id}");
        if status == "crashed" {
            assert_eq!(events[0].json["level"], "fatal");
        }
        *seen.entry((status, events.len())).or_default() += 1;
        // The 200 ms runs, and not the instant ones (a panic's backtrace may take its time).
        if status == "ok" && duration >= 200 {
            long += 1;
        }
    }
    let mut wanted = BTreeMap::<(&str, usize), usize>::new();
    for scenario in offline.iter().copied().chain([ManualProgram::Ok]) {
        *wanted.entry(expected(scenario)).or_default() += 1;
    }
    assert_eq!(seen, wanted, "statuses and events per session");
    assert_eq!(long, 4, "the true durations");

    // Delivered once: the next run sends only its own session.
    let before = collector.requests().len();
    run(ManualProgram::Ok, &env);
    assert_eq!(paths(&collector.requests()[before..]), [START, END]);
}

/// The files in the sessions and spool dirs of `env`'s state dir: each one's dir and name, and
/// its last status change (a rename changes it).
fn kept_files(env: &[(String, String)]) -> BTreeMap<String, (i64, i64)> {
    use std::os::unix::fs::MetadataExt as _;
    let state_dir = state_dir(env);
    ["sessions", "spool"]
        .into_iter()
        .flat_map(|dir| {
            std::fs::read_dir(state_dir.join(dir))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(move |entry| {
                    let metadata = entry.metadata().ok()?;
                    let name = entry.file_name().into_string().ok()?;
                    Some((
                        format!("{dir}/{name}"),
                        (metadata.ctime(), metadata.ctime_nsec()),
                    ))
                })
        })
        .collect()
}

#[test]
fn a_run_that_cannot_reach_the_server_leaves_what_earlier_runs_left_untouched() {
    // Claiming is a rename, and a claim a run cannot deliver is put back: offline, each run did
    // both to a first few of the sessions kept (and looked at every one kept to find the
    // oldest: 3 ms of a short run's exit with a thousand of them). Now none is touched, nor
    // the spool, until the server can be reached: by a run done before its SDK's thread began
    // (its start goes with its end, the server having taken one before), by one still running
    // then, and by one that does not wait at exit.
    if cfg!(feature = "reqwest") {
        return; // a backend that opens no connection ahead cannot tell before it tries
    }
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    let collector = collector();
    relay_while(port, collector.url(), || {
        assert_unaffected(&run(ManualProgram::Ok, &env));
    });
    assert_eq!(paths(&collector.requests()), [START, END]);
    for scenario in [ManualProgram::Capture, ManualProgram::OkAfter200Ms] {
        assert_unaffected(&run(scenario, &env));
    }
    let mut kept = kept_files(&env);
    assert_eq!(kept.len(), 3, "two sessions and an event: {kept:?}");
    let not_waiting: Vec<(String, String)> = env
        .iter()
        .cloned()
        .chain([("ALLSTAK_EXIT_DEADLINE_MS".to_owned(), "0".to_owned())])
        .collect();
    for (scenario, env) in [
        (ManualProgram::Ok, &env),
        (ManualProgram::OkAfter200Ms, &env),
        (ManualProgram::OkAfter200Ms, &not_waiting),
    ] {
        assert_unaffected(&run(scenario, env));
        let now = kept_files(env);
        for (name, changed) in &kept {
            assert_eq!(now.get(name), Some(changed), "{name}: untouched");
        }
        assert_eq!(now.len(), kept.len() + 1, "its own kept too: {now:?}");
        kept = now;
    }

    // The server is back: the next run delivers the five, the event, and its own.
    relay(port, collector.url());
    let before = collector.requests().len();
    assert_unaffected(&run(ManualProgram::Ok, &env));
    let requests = collector.requests().split_off(before);
    let sessions = by_session(&requests);
    assert_eq!(sessions.len(), 6, "{:?}", paths(&requests));
    for (id, requests) in &sessions {
        let sent: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
        assert!(
            sent == [START, END] || sent == [START, END, ERRORS],
            "{id}: {sent:?}"
        );
    }
    assert_eq!(
        requests.iter().filter(|r| r.path == ERRORS).count(),
        1,
        "the event"
    );
    assert!(kept_files(&env).is_empty(), "nothing left");
}

#[test]
fn offline_past_a_thousand_sessions_kept_a_run_drops_the_oldest_of_gone_processes() {
    // A program run more than a thousand times while the server is away: its state dir stays
    // bounded, whichever way the run goes (its start held back for its end, as here, the
    // server having taken one before; or still running when its SDK's thread looks).
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    let collector = collector();
    relay_while(port, collector.url(), || {
        assert_unaffected(&run(ManualProgram::Ok, &env));
    });
    assert_unaffected(&run(ManualProgram::Ok, &env));
    let kept = kept_files(&env);
    let [(name, _)] = kept.iter().collect::<Vec<_>>()[..] else {
        panic!("one session kept: {kept:?}");
    };
    // A thousand more like it, of the same gone process, each a minute older than the last.
    let sessions = sessions_dir(&env);
    let original = sessions.join(name.trim_start_matches("sessions/"));
    let body = std::fs::read_to_string(&original).expect("its state");
    let id = body
        .split("\"sessionId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("its id")
        .to_owned();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(24 * 3600);
    for n in 0..1000_u64 {
        let copy_id = format!("{}{:012x}", &id[..24], n);
        let copy = sessions.join(
            original
                .file_name()
                .and_then(|name| name.to_str())
                .expect("a name")
                .replace(&id, &copy_id),
        );
        std::fs::write(&copy, body.replace(&id, &copy_id)).expect("a copy");
        std::fs::File::options()
            .write(true)
            .open(&copy)
            .and_then(|file| file.set_modified(long_ago + Duration::from_secs(60 * n)))
            .expect("dated");
    }
    assert_eq!(kept_files(&env).len(), 1001);
    assert_unaffected(&run(ManualProgram::Ok, &env));
    let after = kept_files(&env);
    assert!(
        after.len() <= 1000,
        "bounded: {} sessions kept",
        after.len()
    );
    assert!(after.contains_key(name.as_str()), "the newest are kept");
}

#[test]
fn a_run_whose_server_comes_back_while_it_runs_sends_what_earlier_runs_left_after_its_start() {
    // It found the server down, so it claimed nothing; once its own start gets through (its
    // retries), what the earlier run left goes, after it, in the same run.
    if cfg!(feature = "reqwest") {
        return; // a backend that opens no connection ahead cannot tell before it tries
    }
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    assert_unaffected(&run(ManualProgram::Ok, &env));
    let (running, lines) = running_debugging(ManualProgram::Hang, &env);
    // Its look at the server failed: it says so (a refused connect shows nowhere else).
    await_lines(&lines, "could not open a connection ahead of time", 1, WAIT);
    let collector = collector();
    relay(port, collector.url());
    let received = collector
        .wait_for_requests(3, WAIT)
        .expect("its start, then the earlier session");
    its_start_the_earlier_session_then_its_end(&received, running, &collector, &env);
}

#[test]
fn a_run_whose_start_the_server_takes_only_after_its_retries_sends_it_and_what_was_left_then() {
    // A daemon started before the network was up: its start's retries (about 15 s) are over
    // when the server comes back, and it reports no error. Its start goes at the next heartbeat
    // (every 30 s), not at its end days later; what the earlier run left goes right after it.
    if cfg!(feature = "reqwest") {
        return; // a backend that opens no connection ahead claims, and gives back, at once
    }
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    assert_unaffected(&run(ManualProgram::Ok, &env));
    let (running, lines) = running_debugging(ManualProgram::Hang, &env);
    // Five attempts at its start, each refused.
    await_lines(&lines, "POST /ingest/v1/sessions/start failed", 5, WAIT);
    let collector = collector();
    relay(port, collector.url());
    let received = collector
        .wait_for_requests(3, WAIT * 4)
        .expect("its start, then the earlier session, by its next heartbeat");
    its_start_the_earlier_session_then_its_end(&received, running, &collector, &env);
}

#[test]
fn an_error_reported_while_the_server_is_away_reaches_it_after_its_sessions_start() {
    // Its start's retries are over, the event's are under way when the server comes back: the
    // start is tried again before each of the event's tries, and goes first.
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    let (mut running, lines) = running_debugging(ManualProgram::CaptureThenHang, &env);
    // The start's five attempts, then its first try before the event's.
    await_lines(&lines, "POST /ingest/v1/sessions/start failed", 6, WAIT);
    let collector = collector();
    relay(port, collector.url());
    let received = collector
        .wait_for_requests(2, WAIT * 2)
        .expect("the start, then the event");
    assert_eq!(paths(&received), [START, ERRORS], "{received:?}");
    drop(running.stdin.take());
    assert!(running.wait().expect("ends").success());
    let requests = collector.wait_for_requests(3, WAIT).expect("its end");
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let id = requests[0].session_id().expect("an id");
    assert_end(&requests[2], id, "errored");
}

#[test]
fn an_error_a_long_running_process_could_not_send_goes_at_its_next_heartbeat_once_the_server_is_back()
 {
    // A server that runs for weeks does not leave it to its next start (past its 7 days).
    let collector = collector();
    collector.set_reply_for(ERRORS, Reply::status(503));
    let env = env_for(collector.url(), &[]);
    let (mut running, lines) = running_debugging(ManualProgram::CaptureThenHang, &env);
    // Its five attempts over (about 15 s), it is kept.
    await_lines(&lines, "could not be sent in time", 1, WAIT * 3);
    collector.clear_reply_for(ERRORS);
    let received = collector
        .wait_for_requests(7, WAIT * 3)
        .expect("the event again, by the heartbeat 30 s after the start");
    let mut expected = vec![START];
    expected.extend([ERRORS; 6]);
    assert_eq!(paths(&received), expected);
    assert_eq!(received[6].body, received[1].body, "the same event");
    drop(running.stdin.take());
    assert!(running.wait().expect("ends").success());
    let requests = collector.wait_for_requests(8, WAIT).expect("its end");
    let id = requests[0].session_id().expect("an id");
    assert_end(&requests[7], id, "errored");
    assert_eq!(requests.len(), 8, "nothing sent twice");
    assert!(kept_files(&env).is_empty(), "nothing kept");
}

/// What a run whose server came back while it ran sent (`received`): its start, then the
/// session an earlier run left, start and end; then, once its stdin closes, its own end; and
/// nothing is left in the state dir.
fn its_start_the_earlier_session_then_its_end(
    received: &[Request],
    mut running: std::process::Child,
    collector: &Collector,
    env: &[(String, String)],
) {
    assert_eq!(paths(received), [START, START, END], "{received:?}");
    let (own, earlier) = (received[0].session_id(), received[1].session_id());
    assert_ne!(own, earlier);
    assert_end(&received[2], earlier.expect("an id"), "ok");
    drop(running.stdin.take());
    assert!(running.wait().expect("ends").success());
    let requests = collector
        .wait_for_requests(4, WAIT)
        .expect("its end, as it exits");
    assert_eq!(paths(&requests), [START, START, END, END]);
    assert_eq!(requests[3].session_id(), own);
    assert!(kept_files(env).is_empty(), "nothing left");
}

/// `program` (`Hang`, or another that runs until its stdin closes) with `env` and
/// `ALLSTAK_DEBUG` on, and the lines of its stderr as they come.
fn running_debugging(
    program: ManualProgram,
    env: &[(String, String)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut debugging = env.to_vec();
    debugging.push(("ALLSTAK_DEBUG".to_owned(), "1".to_owned()));
    let mut running = command(program, &debugging)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawned");
    let stderr = running.stderr.take().expect("stderr");
    let (said, lines) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    (running, lines)
}

/// Waits until `times` lines containing `said` came, each within `wait` of the one before.
fn await_lines(lines: &std::sync::mpsc::Receiver<String>, said: &str, times: u32, wait: Duration) {
    let mut seen = 0;
    while seen < times {
        let line = lines
            .recv_timeout(wait)
            .unwrap_or_else(|_| panic!("{said:?} said {times} times ({seen} so far)"));
        if line.contains(said) {
            seen += 1;
        }
    }
}

#[test]
fn a_far_server_takes_what_twenty_offline_runs_left_in_a_few_round_trips_not_one_per_request() {
    if cfg!(feature = "reqwest") {
        return; // pipelining is the ureq backend's: reqwest posts one by one (33 s here)
    }
    let port = refused_port();
    let host = format!("http://127.0.0.1:{port}");
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", "20000")]);
    // Online once (the server took a start of this key and host), then offline 20 times.
    let first = collector();
    relay_while(port, first.url(), || run(ManualProgram::Ok, &env));
    assert_eq!(paths(&first.requests()), [START, END]);
    let offline: Vec<ManualProgram> = [
        ManualProgram::Ok,
        ManualProgram::Capture,
        ManualProgram::CaptureThree,
        ManualProgram::Panic,
    ]
    .iter()
    .copied()
    .cycle()
    .take(20)
    .collect();
    for scenario in &offline {
        run(*scenario, &env);
    }

    // Back, and far: 500 ms per answer. One by one, 20 sessions (start and end), 25 events and
    // its own session would take 67 round trips (33 s); pipelined, a few.
    let far = Duration::from_millis(500);
    let collector = collector();
    collector.set_reply(Reply::accepted().after(far));
    relay(port, collector.url());
    let online = run(ManualProgram::Ok, &env);
    assert_eq!(online.code(), Some(0), "{}", online.stderr);
    assert!(online.elapsed < far * 12, "took {:?}", online.elapsed);
    let requests = collector.requests();
    let sessions = by_session(&requests);
    assert_eq!(sessions.len(), 21, "{:?}", paths(&requests));
    let mut seen = BTreeMap::<(&str, usize), usize>::new();
    for (id, requests) in &sessions {
        // Its start first, then its end, each once; its events, each once.
        assert_eq!(requests[0].path, START, "{id}");
        let ends: Vec<&&Request> = requests.iter().filter(|r| r.path == END).collect();
        assert_eq!(ends.len(), 1, "{id}");
        let status = ends[0].json["status"].as_str().expect("status");
        let events = requests.iter().filter(|r| r.path == ERRORS).count();
        *seen.entry((status, events)).or_default() += 1;
    }
    let mut wanted = BTreeMap::<(&str, usize), usize>::new();
    for scenario in offline.iter().copied().chain([ManualProgram::Ok]) {
        *wanted.entry(expected(scenario)).or_default() += 1;
    }
    assert_eq!(seen, wanted, "statuses and events per session");
}

#[test]
fn a_run_killed_while_it_delivers_the_spool_leaves_the_rest_to_the_next_run() {
    let port = refused_port();
    let host = format!("http://127.0.0.1:{port}");
    let env = env_for(&host, &[("ALLSTAK_EXIT_DEADLINE_MS", "300")]);
    for _ in 0..3 {
        run(ManualProgram::CaptureThree, &env);
    }
    let collector = collector();
    relay(port, collector.url());
    // Every answer is slow: the run is killed while one event waits for its answer.
    collector.set_reply(Reply::accepted().after(Duration::from_millis(300)));
    let mut killed = command(ManualProgram::Hang, &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawned");
    // Three sessions (start, end), its own start, then two events: the second still unanswered.
    let received = collector.wait_for_requests(9, WAIT).expect("nine requests");
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let at_the_kill = collector.requests();
    assert_eq!(paths(&received[6..9]), [START, ERRORS, ERRORS]);

    collector.set_reply(Reply::accepted());
    // With the default deadline: 300 ms is not always enough for all of it on a loaded machine.
    let next = run(ManualProgram::Ok, &waiting(&env));
    assert_eq!(next.code(), Some(0));
    let requests = collector.requests();
    let events: Vec<&Request> = requests.iter().filter(|r| r.path == ERRORS).collect();
    let mut counted = BTreeMap::<(String, String), usize>::new();
    for event in &events {
        let key = (
            event.json["sessionId"].as_str().expect("id").to_owned(),
            event.json["message"].as_str().expect("message").to_owned(),
        );
        *counted.entry(key).or_default() += 1;
    }
    assert_eq!(counted.len(), 9, "every event of the three runs");
    // What the killed run had sent lost its answer with it (all of it at once, pipelined, or
    // the one in flight, one by one), and may come again; the next run sends each event once.
    // (The killed run's connections are the ones it had sent on by the kill; more of what it
    // wrote may reach the collector after.)
    let killed_run: BTreeSet<_> = at_the_kill.iter().map(|r| r.from).collect();
    let mut by_the_next_run = BTreeMap::<(&str, &str), usize>::new();
    for event in events
        .iter()
        .filter(|event| !killed_run.contains(&event.from))
    {
        let key = (
            event.json["sessionId"].as_str().expect("id"),
            event.json["message"].as_str().expect("message"),
        );
        *by_the_next_run.entry(key).or_default() += 1;
    }
    assert!(
        by_the_next_run.values().all(|n| *n == 1),
        "{by_the_next_run:?}"
    );
    assert!(counted.values().all(|n| *n <= 2), "{counted:?}");
    // The killed run's session, ended `abnormal` by the next.
    let sessions = by_session(&requests);
    let statuses: Vec<&str> = sessions
        .values()
        .flat_map(|requests| requests.iter().filter(|r| r.path == END))
        .map(|end| end.json["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses.len(), 5, "{:?}", paths(&requests));
    assert_eq!(statuses.iter().filter(|s| **s == "abnormal").count(), 1);
}

#[test]
fn a_full_spool_drops_its_oldest_events_and_says_so() {
    let port = refused_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"), &[]);
    // The oldest: three events, then far more than the spool holds.
    run(ManualProgram::CaptureThree, &env);
    let mut debugging = env.clone();
    debugging.push(("ALLSTAK_DEBUG".to_owned(), "1".to_owned()));
    let flood = run(ManualProgram::Flood, &debugging);
    assert!(
        flood
            .stderr
            .contains("a kept error event was dropped (the spool was full)"),
        "{}",
        flood.stderr
    );

    let collector = collector();
    relay(port, collector.url());
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    let messages: Vec<&str> = requests
        .iter()
        .filter(|r| r.path == ERRORS)
        .map(|r| r.json["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages.len(), 100, "the spool's bound");
    assert!(
        messages.iter().all(|m| !m.starts_with("failure")),
        "the oldest went first: {messages:?}"
    );
    let numbers: Vec<u32> = messages
        .iter()
        .map(|m| m.parse().expect("a number"))
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {numbers:?}"
    );
}

#[test]
fn an_exit_deadline_of_zero_never_waits_for_a_server_that_never_answers() {
    let collector = collector();
    collector.set_reply(Reply::never());
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "0")]);
    // The same program without a key: the SDK sends nothing and keeps nothing.
    let plain: Vec<(String, String)> = env
        .iter()
        .filter(|(name, _)| name != "ALLSTAK_API_KEY")
        .cloned()
        .collect();
    let mut plain_walls = Vec::new();
    let mut zero_walls = Vec::new();
    for _ in 0..7 {
        plain_walls.push(run(ManualProgram::Capture, &plain).elapsed);
        let run = run(ManualProgram::Capture, &env);
        assert_unaffected(&run);
        zero_walls.push(run.elapsed);
    }
    plain_walls.sort();
    zero_walls.sort();
    let (plain, zero) = (plain_walls[3], zero_walls[3]);
    // 5 ms is the budget (BENCHMARKS.md has the figure); the margin is for a loaded machine.
    assert!(
        zero < plain + Duration::from_millis(30),
        "deadline 0: {zero:?}, plain: {plain:?}"
    );

    // The server answers again: the next run delivers each session's end, with its status.
    collector.set_reply(Reply::accepted());
    let env_default = waiting(&env);
    let before = collector.requests().len();
    run(ManualProgram::Ok, &env_default);
    let requests = collector.requests();
    // By session: what the last run of the series wrote may still be arriving (its
    // connection's requests are taken as the collector's threads get to them).
    let ends: BTreeSet<&str> = requests[before..]
        .iter()
        .filter(|r| r.path == END)
        .filter_map(Request::session_id)
        .collect();
    assert_eq!(ends.len(), 8, "{:?}", paths(&requests[before..]));
    let session_requests: Vec<Request> = requests
        .iter()
        .filter(|r| r.path != ERRORS)
        .cloned()
        .collect();
    let sessions = by_session(&session_requests);
    assert_eq!(sessions.len(), 8);
    for (id, requests) in &sessions {
        assert_eq!(requests[0].path, START, "{id}: its start first");
        let end = requests.iter().find(|r| r.path == END).expect("an end");
        let status = end.json["status"].as_str().expect("status");
        assert!(status == "errored" || status == "ok", "{status}");
    }
    let events: BTreeSet<&str> = requests
        .iter()
        .filter(|r| r.path == ERRORS)
        .filter_map(|r| r.json["sessionId"].as_str())
        .collect();
    assert_eq!(events.len(), 7, "every run's error event");
}

/// What a series of runs left: its collector, its env, and what the collector received.
type Series = (
    allstak::testing::Collector,
    Vec<(String, String)>,
    Vec<Request>,
);

/// `runs` runs of `scenario` with the exit deadline 0 against a server far enough that none
/// reads an answer (each lives 200 ms): the collector, the env, and the `expected` requests it
/// received (no more). `None` with the reqwest backend: what a run writes without reading the
/// answers is written pipelined, on ureq's connection of our own.
fn never_answered_series(scenario: ManualProgram, runs: usize, expected: usize) -> Option<Series> {
    if cfg!(feature = "reqwest") {
        return None;
    }
    let collector = collector();
    collector.set_reply(Reply::accepted().after(Duration::from_secs(30)));
    let env = env_for(collector.url(), &[("ALLSTAK_EXIT_DEADLINE_MS", "0")]);
    for _ in 0..runs {
        assert_unaffected(&run(scenario, &env));
    }
    let received = collector
        .wait_for_requests(expected, WAIT)
        .expect("what each run wrote at once");
    assert_eq!(
        collector.requests().len(),
        expected,
        "{:?}",
        paths(&received)
    );
    Some((collector, env, received))
}

#[test]
fn runs_that_never_wait_deliver_each_earlier_runs_session_during_the_series_without_rewriting_it() {
    const RUNS: usize = 6;
    // Each run wrote its own start, then the run after it that start again with its end, on one
    // connection; none wrote again what an earlier one had written with its end (the server
    // never answered).
    let Some((collector, env, received)) =
        never_answered_series(ManualProgram::OkAfter200Ms, RUNS, 1 + 3 * (RUNS - 1))
    else {
        return;
    };
    let sessions = by_session(&received);
    assert_eq!(sessions.len(), RUNS);
    let mut ended = 0;
    for (id, requests) in &sessions {
        assert_eq!(requests[0].path, START, "{id}: its start first");
        let ends: Vec<&&Request> = requests.iter().filter(|r| r.path == END).collect();
        assert!(ends.len() <= 1, "{id}: its end once");
        assert!(
            requests.len() - ends.len() <= 2,
            "{id}: its start twice at most"
        );
        if let Some(end) = ends.first() {
            assert_eq!(end.json["status"], "ok");
            // On the connection of a start of its own, after it.
            let at = requests
                .iter()
                .position(|r| r.path == END)
                .expect("its end");
            assert!(
                requests[..at]
                    .iter()
                    .any(|start| start.from == end.from && start.path == START),
                "{id}: its end after its start on one connection"
            );
            ended += 1;
        }
    }
    assert_eq!(ended, RUNS - 1, "{:?}", paths(&received));

    // A run that waits sends what it cannot know arrived, and reads the answers.
    collector.set_reply(Reply::accepted());
    let env_default = waiting(&env);
    let before = collector.requests().len();
    assert_unaffected(&run(ManualProgram::Ok, &env_default));
    let requests = collector.requests();
    let ends: BTreeSet<&str> = requests[before..]
        .iter()
        .filter(|r| r.path == END)
        .filter_map(|r| r.json["sessionId"].as_str())
        .collect();
    assert_eq!(ends.len(), RUNS + 1, "{:?}", paths(&requests[before..]));
}

#[test]
fn a_run_that_never_waits_sends_what_it_withheld_once_it_reads_an_answer() {
    const RUNS: usize = 3;
    let Some((collector, env, series)) =
        never_answered_series(ManualProgram::OkAfter200Ms, RUNS, 1 + 3 * (RUNS - 1))
    else {
        return;
    };
    let earlier: BTreeSet<String> = by_session(&series).into_keys().collect();
    assert_eq!(earlier.len(), RUNS);
    // A run without a session of its own writes the last run's start and end: now every
    // session left is one a run wrote with its end.
    let mut untracked = env.clone();
    untracked.push(("ALLSTAK_AUTO_SESSION_TRACKING".into(), "off".into()));
    let untracked = run(ManualProgram::OkAfter200Ms, &untracked);
    assert_eq!(
        (untracked.code(), untracked.stdout.as_str()),
        (Some(0), "session active: false\ndone\n")
    );
    collector
        .wait_for_requests(series.len() + 2, WAIT)
        .expect("the last run's start and end");
    // The server answers again. The next such run withholds all of them at first, writes its
    // own start alone, reads its answer, then sends them all.
    collector.set_reply(Reply::accepted());
    let before = collector.requests().len();
    assert_unaffected(&run(ManualProgram::OkAfter200Ms, &env));
    let requests = collector.requests();
    let sessions = by_session(&requests[before..]);
    for id in &earlier {
        let sent: Vec<&str> = sessions
            .get(id)
            .into_iter()
            .flatten()
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(sent, [START, END], "{id}: its start again, then its end");
    }
}

#[test]
fn runs_that_never_wait_deliver_the_error_events_earlier_runs_kept_during_the_series() {
    // Each one's error (reported as it ends) is kept at exit, and goes with the next run's
    // first write, after its session's start and end: the first run's start; then each run
    // the run before's start, end and event, and its own start.
    const RUNS: usize = 4;
    let Some((collector, env, received)) =
        never_answered_series(ManualProgram::CaptureAfter200Ms, RUNS, 1 + 4 * (RUNS - 1))
    else {
        return;
    };
    let events: Vec<&Request> = received.iter().filter(|r| r.path == ERRORS).collect();
    let ids: BTreeSet<&str> = events.iter().filter_map(|r| r.event_id()).collect();
    assert_eq!(ids.len(), RUNS - 1, "each once: {:?}", paths(&received));
    for event in &events {
        assert_eq!(event.json["message"], "failed after 200 ms");
        let session = event.session_id().expect("its session");
        // After its session's start and end, on the same connection.
        let at = received
            .iter()
            .position(|r| std::ptr::eq(r, *event))
            .expect("received");
        for path in [START, END] {
            assert!(
                received[..at].iter().any(|r| r.path == path
                    && r.session_id() == Some(session)
                    && r.from == event.from),
                "{session}: {path} before its event on its connection: {:?}",
                paths(&received)
            );
        }
    }

    // A run that waits delivers the last one's too, and settles them all.
    collector.set_reply(Reply::accepted());
    let before = collector.requests().len();
    assert_unaffected(&run(ManualProgram::Ok, &waiting(&env)));
    let requests = collector.requests();
    let ids: BTreeSet<&str> = requests[before..]
        .iter()
        .filter_map(Request::event_id)
        .collect();
    assert_eq!(ids.len(), RUNS, "{:?}", paths(&requests[before..]));
    let before = collector.requests().len();
    assert_unaffected(&run(ManualProgram::Ok, &waiting(&env)));
    assert!(
        collector.requests()[before..]
            .iter()
            .all(|r| r.path != ERRORS),
        "none left"
    );
}

#[test]
fn a_crash_with_an_exit_deadline_of_zero_keeps_its_fatal_event_for_the_next_run() {
    let port = refused_port();
    let env = env_for(
        &format!("http://127.0.0.1:{port}"),
        &[("ALLSTAK_EXIT_DEADLINE_MS", "0"), ("RUST_BACKTRACE", "0")],
    );
    let crashed = run(ManualProgram::Panic, &env);
    assert_eq!(crashed.code(), Some(101));

    let collector = collector();
    relay(port, collector.url());
    let next = waiting(&env);
    run(ManualProgram::Ok, &next);
    let requests = collector.requests();
    // The crashed session; the next run's own session (its start held back, then sent with its
    // end); then the crashed session's fatal event.
    assert_eq!(
        paths(&requests),
        [START, END, START, END, ERRORS],
        "{requests:?}"
    );
    let id = requests[0].session_id().expect("id");
    assert_end(&requests[1], id, "crashed");
    assert_eq!(requests[4].json["level"], "fatal");
    assert_eq!(requests[4].json["sessionId"], id);
}

#[test]
fn a_run_without_session_tracking_still_delivers_the_events_earlier_runs_kept() {
    let port = refused_port();
    let env = env_for(
        &format!("http://127.0.0.1:{port}"),
        &[("ALLSTAK_EXIT_DEADLINE_MS", "0")],
    );
    assert_unaffected(&run(ManualProgram::Capture, &env));

    let collector = collector();
    relay(port, collector.url());
    let mut next = waiting(&env);
    next.push(("ALLSTAK_AUTO_SESSION_TRACKING".to_owned(), "off".to_owned()));
    // Its flush waits for what is queued before it: the earlier run's leftovers first.
    run(ManualProgram::Flush, &next);
    let requests = collector.requests();
    // The earlier run's session (recovered: its process is gone), and its event in it.
    let started: Vec<&str> = requests
        .iter()
        .filter(|r| r.path == START)
        .filter_map(Request::session_id)
        .collect();
    assert_eq!(started.len(), 1, "{:?}", paths(&requests));
    let kept: Vec<&Request> = requests
        .iter()
        .filter(|r| r.path == ERRORS && r.session_id() == Some(started[0]))
        .collect();
    assert_eq!(kept.len(), 1, "{:?}", paths(&requests));
}
