//! The client as a value, around a fake HTTP backend: every order in which a session can end
//! (its end, a flush, the process's exit, a panic, a signal from another thread), without
//! spawning a process. Time is passed in where the session's duration depends on it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::shutdown::{EndSent, exit_deadline_after};
use super::*;
use crate::config::ConfigBuilder;
use crate::transport::Answer;
use crate::wire::Post;

/// What the fake server does with a request to a path.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    /// Takes the request and does not answer within its timeout (a blackholed server, and a
    /// client whose timer fires late).
    Hang,
    /// Takes the request and accepts it after [`DEADLINE`] (a slow server).
    Slow,
}

/// An HTTP backend that records what it is sent and answers as told per path.
#[derive(Clone, Default)]
struct Fake {
    sent: Arc<Mutex<Vec<(String, Value)>>>,
    hang: Arc<Mutex<Vec<&'static str>>>,
    slow: Arc<Mutex<Vec<&'static str>>>,
}

impl Fake {
    fn hang_on(self, path: &'static str) -> Self {
        self.hang.lock().expect("lock").push(path);
        self
    }

    fn slow_on(self, path: &'static str) -> Self {
        self.slow.lock().expect("lock").push(path);
        self
    }

    fn sent(&self) -> Vec<(String, Value)> {
        self.sent.lock().expect("lock").clone()
    }

    fn paths(&self) -> Vec<String> {
        self.sent().into_iter().map(|(path, _)| path).collect()
    }

    fn behaviour(&self, path: &str) -> Behaviour {
        if self.hang.lock().expect("lock").contains(&path) {
            Behaviour::Hang
        } else if self.slow.lock().expect("lock").contains(&path) {
            Behaviour::Slow
        } else {
            Behaviour::Accept
        }
    }
}

impl Backend for Fake {
    fn post(&mut self, _: &Endpoint, request: &Post, timeout: Duration) -> Answer {
        let json = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        self.sent
            .lock()
            .expect("lock")
            .push((request.path.to_owned(), json));
        match self.behaviour(request.path) {
            Behaviour::Accept => Answer::Status {
                status: 202,
                retry_after: None,
            },
            Behaviour::Slow => {
                std::thread::sleep(DEADLINE);
                Answer::Status {
                    status: 202,
                    retry_after: None,
                }
            }
            Behaviour::Hang => {
                std::thread::sleep(timeout + DEADLINE);
                Answer::Unreachable("timed out".to_owned())
            }
        }
    }
}

const START: &str = "/ingest/v1/sessions/start";
const END: &str = "/ingest/v1/sessions/end";
const ERRORS: &str = "/ingest/v1/errors";
/// Long enough never to be reached by a server that answers; short enough for one that hangs.
const DEADLINE: Duration = Duration::from_millis(400);

/// A client of its own (leaked, as the process's lives for good), sending to `fake`, with a
/// state dir of its own; its session started at `at`.
fn client(fake: &Fake, at: Instant) -> &'static Client {
    client_in(fake, &fresh_state_dir(), DEADLINE, at)
}

/// A state dir of its own, in this test process's dir (`allstak-client-tests-<pid>` in the
/// temp dir). The clients are leaked, so the dirs outlive the tests: the first call removes
/// those of earlier test processes that are gone (where the platform tells).
fn fresh_state_dir() -> std::path::PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    const PREFIX: &str = "allstak-client-tests-";
    let temp = std::env::temp_dir();
    SWEPT.call_once(|| {
        for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|name| name.strip_prefix(PREFIX));
            let gone = pid
                .and_then(|pid| pid.parse().ok())
                .is_some_and(|pid| crate::state::process_alive(pid, None) == Some(false));
            if gone {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
    temp.join(format!("{PREFIX}{}", std::process::id()))
        .join(SessionId::random().to_string())
}

/// [`client`] with the state dir `dir` (a later run's, when given again) and `deadline`.
fn client_in(
    fake: &Fake,
    dir: &std::path::Path,
    deadline: Duration,
    at: Instant,
) -> &'static Client {
    let config = Config::builder()
        .api_key("ask_test")
        .host("http://127.0.0.1:9")
        .release("app@1")
        .exit_deadline(deadline)
        .state_dir(dir)
        .track_test_runs(true)
        .build();
    let client: &'static Client = Box::leak(Box::new(Client::new(
        config,
        false,
        Some(Box::new(fake.clone())),
    )));
    client.start_session_at(at);
    client
}

fn status_of_end(fake: &Fake) -> Option<String> {
    fake.sent()
        .into_iter()
        .find(|(path, _)| path == END)
        .and_then(|(_, json)| json["status"].as_str().map(str::to_owned))
}

fn messages(fake: &Fake) -> Vec<String> {
    fake.sent()
        .into_iter()
        .filter(|(path, _)| path == ERRORS)
        .filter_map(|(_, json)| json["message"].as_str().map(str::to_owned))
        .collect()
}

fn event(message: &str) -> ErrorEvent {
    ErrorEvent::new("app::Oops", message.to_owned(), "capture")
}

#[test]
fn the_end_is_sent_after_the_start_with_the_duration_from_the_times_passed_in() {
    let fake = Fake::default();
    let started = Instant::now();
    let client = client(&fake, started);
    assert!(client.end_at(None, started + Duration::from_millis(1234)));
    assert_eq!(fake.paths(), [START, END]);
    let end = &fake.sent()[1].1;
    assert_eq!(end["durationMs"], 1234);
    assert_eq!(end["status"], "ok");
    assert_eq!(end["sessionId"], fake.sent()[0].1["sessionId"]);
}

#[test]
fn an_error_before_the_end_is_sent_between_start_and_end_and_makes_it_errored() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.capture(|| event("boom"));
    client.end(None);
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("errored"));
}

#[test]
fn the_exit_without_an_end_ends_the_session_with_the_status_reached() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.capture(|| event("boom"));
    client.exit();
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("errored"));
}

#[test]
fn an_exit_after_the_end_sends_no_second_end() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.end(None);
    client.exit();
    assert_eq!(fake.paths(), [START, END]);
}

#[test]
fn errors_reported_after_an_end_by_the_program_are_sent_at_exit() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.end(Some(SessionStatus::Ok));
    client.capture(|| event("after the end"));
    client.exit();
    assert_eq!(fake.paths(), [START, END, ERRORS]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("ok"));
    // After the end, events carry no session.
    assert!(fake.sent()[2].1.get("sessionId").is_none());
}

#[test]
fn an_exit_after_an_end_the_server_never_answered_does_not_wait_again() {
    let fake = Fake::default().hang_on(END);
    let client = client(&fake, Instant::now());
    assert!(!client.end(None), "the end was not taken in time");
    client.capture(|| event("after the end"));
    let exiting = Instant::now();
    client.exit();
    assert!(exiting.elapsed() < DEADLINE / 2, "{:?}", exiting.elapsed());
}

#[test]
fn events_an_exit_with_deadline_zero_leaves_are_kept_once_each_and_sent_by_the_next_run() {
    let dir = fresh_state_dir();
    let hanging = Fake::default().hang_on(ERRORS);
    let first = client_in(&hanging, &dir, Duration::ZERO, Instant::now());
    for n in 0..3 {
        first.capture(|| event(&format!("kept {n}")));
    }
    // The first is in flight (the server took it and does not answer), the others queued.
    let since = Instant::now();
    while !hanging.paths().iter().any(|path| path == ERRORS) {
        assert!(since.elapsed() < Duration::from_secs(5), "never sent");
        std::thread::yield_now();
    }
    let exiting = Instant::now();
    first.exit();
    assert!(exiting.elapsed() < DEADLINE / 2, "{:?}", exiting.elapsed());
    assert_eq!(first.dropped_event_count(), 0, "kept, not dropped");

    let fake = Fake::default();
    let next = client_in(&fake, &dir, DEADLINE, Instant::now());
    assert!(next.end(None));
    // Its own start held back, then sent with its end (ended at once); the earlier run's
    // events after them.
    assert_eq!(fake.paths(), [START, END, ERRORS, ERRORS, ERRORS]);
    assert_eq!(messages(&fake), ["kept 0", "kept 1", "kept 2"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_event_kept_at_exit_while_in_flight_and_then_delivered_is_not_sent_again() {
    let dir = fresh_state_dir();
    let slow = Fake::default().slow_on(ERRORS);
    let first = client_in(&slow, &dir, Duration::ZERO, Instant::now());
    first.capture(|| event("once"));
    let since = Instant::now();
    while !slow.paths().iter().any(|path| path == ERRORS) {
        assert!(since.elapsed() < Duration::from_secs(5), "never sent");
        std::thread::yield_now();
    }
    // Kept while in flight; the worker goes on, and the server takes it.
    first.exit();
    // Waits for the worker (false all the same: it was kept, which counts as not sent).
    let _ = first
        .transport()
        .expect("transport")
        .flush(Instant::now() + Duration::from_secs(5));
    assert!(slow.paths().iter().filter(|path| *path == ERRORS).count() == 1);

    let fake = Fake::default();
    let next = client_in(&fake, &dir, DEADLINE, Instant::now());
    assert!(next.end(None));
    assert_eq!(fake.paths(), [START, END], "sent once, by the first run");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_without_a_session_still_delivers_the_events_earlier_runs_kept() {
    let dir = fresh_state_dir();
    let hanging = Fake::default().hang_on(ERRORS);
    let first = client_in(&hanging, &dir, Duration::ZERO, Instant::now());
    first.capture(|| event("kept"));
    let since = Instant::now();
    while !hanging.paths().iter().any(|path| path == ERRORS) {
        assert!(since.elapsed() < Duration::from_secs(5), "never sent");
        std::thread::yield_now();
    }
    first.exit();

    // Session tracking off: no session is started, the spool is delivered all the same.
    let fake = Fake::default();
    let config = Config::builder()
        .api_key("ask_test")
        .host("http://127.0.0.1:9")
        .state_dir(&dir)
        .auto_session_tracking(false)
        .track_test_runs(true)
        .build();
    let next: &'static Client = Box::leak(Box::new(Client::new(
        config,
        false,
        Some(Box::new(fake.clone())),
    )));
    next.deliver_what_earlier_runs_left();
    assert!(
        next.transport()
            .expect("transport")
            .flush(Instant::now() + DEADLINE)
    );
    // (The first run's session is this live process's: not recovered.)
    assert_eq!(fake.paths(), [ERRORS]);
    assert_eq!(messages(&fake), ["kept"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// [`Fake`] where a backend pipelines: requests written together are each recorded, then the
/// work given meanwhile is done (recorded as [`LOOKED`]), then every one is answered.
struct Pipelining {
    fake: Fake,
    meanwhile: Option<crate::transport::Meanwhile>,
}

/// Where [`Pipelining`] did the work given meanwhile, among the paths sent.
const LOOKED: &str = "(looked meanwhile)";

impl Backend for Pipelining {
    fn post(&mut self, endpoint: &Endpoint, request: &Post, timeout: Duration) -> Answer {
        self.fake.post(endpoint, request, timeout)
    }

    fn post_all(
        &mut self,
        endpoint: &Endpoint,
        requests: &[&Post],
        timeout: Duration,
    ) -> Option<Vec<Answer>> {
        let answers = requests
            .iter()
            .map(|request| self.fake.post(endpoint, request, timeout))
            .collect();
        if let Some(work) = self.meanwhile.take() {
            let looked = (LOOKED.to_owned(), Value::Null);
            self.fake.sent.lock().expect("lock").push(looked);
            work();
        }
        Some(answers)
    }

    fn meanwhile(&mut self, work: Option<crate::transport::Meanwhile>) {
        self.meanwhile = work;
    }
}

/// A task queued for `client`'s worker that waits there until opened: the sender opens it,
/// the receiver hears once the worker got to it.
fn gate(client: &Client) -> (std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>) {
    let (open, opened) = std::sync::mpsc::channel::<()>();
    let (reach, reached) = std::sync::mpsc::channel::<()>();
    client
        .transport()
        .expect("transport")
        .run(Box::new(move |_| {
            let _ = reach.send(());
            let _ = opened.recv_timeout(Duration::from_secs(5));
        }));
    (open, reached)
}

/// A run in `dir` whose program ended before the SDK's thread got to its start, once the
/// server took a start of this key and host (an earlier run's): its start is held back for its
/// end. `meanwhile` runs once the SDK's thread is through with the start, before the end is
/// queued. What the pipelining backend was sent.
fn a_program_that_ended_at_once(
    dir: &std::path::Path,
    meanwhile: impl FnOnce(&'static Client),
) -> Fake {
    let earlier = Fake::default();
    assert!(client_in(&earlier, dir, DEADLINE, Instant::now()).end(None));
    assert_eq!(earlier.paths(), [START, END]);

    let fake = Fake::default();
    let config = Config::builder()
        .api_key("ask_test")
        .host("http://127.0.0.1:9")
        .release("app@1")
        .exit_deadline(DEADLINE)
        .state_dir(dir)
        .track_test_runs(true)
        .build();
    let pipelining = Pipelining {
        fake: fake.clone(),
        meanwhile: None,
    };
    let client: &'static Client = Box::leak(Box::new(Client::new(
        config,
        false,
        Some(Box::new(pipelining)),
    )));
    let (open_before, _) = gate(client);
    client.start_session_at(Instant::now());
    let (open_after, start_done) = gate(client);
    let ended = client
        .tracker
        .end(None, Instant::now())
        .expect("ended here");
    open_before.send(()).expect("the worker waits");
    start_done
        .recv_timeout(Duration::from_secs(5))
        .expect("the start task is through");
    meanwhile(client);
    open_after.send(()).expect("the worker waits");
    assert!(client.send_end(ended, Instant::now() + DEADLINE));
    fake
}

#[test]
fn a_program_that_ended_at_once_sends_start_and_end_together_and_looks_for_more_meanwhile() {
    let dir = fresh_state_dir();
    let fake = a_program_that_ended_at_once(&dir, |_| {});
    // Nothing left: nothing after the look.
    assert_eq!(fake.paths(), [START, END, LOOKED]);
    assert_eq!(fake.sent()[1].1["sessionId"], fake.sent()[0].1["sessionId"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_the_look_finds_an_earlier_run_left_goes_right_after_the_start_and_end() {
    let dir = fresh_state_dir();
    let spool = crate::state::Spool::new(crate::state::StateDir::locate(
        Some(dir.clone()),
        "ask_test",
        "http://127.0.0.1:9",
    ));
    let left = Post {
        path: ERRORS,
        body: br#"{"message":"left by an earlier run"}"#.to_vec(),
    };
    // Kept after the earlier run in `a_program_that_ended_at_once`, as one that went offline.
    let fake = a_program_that_ended_at_once(&dir, move |_| {
        assert_eq!(spool.keep(&[left]), 1);
    });
    assert_eq!(fake.paths(), [START, END, LOOKED, ERRORS]);
    assert_eq!(messages(&fake), ["left by an earlier run"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_event_queued_while_the_start_is_held_for_the_end_goes_after_the_start() {
    let dir = fresh_state_dir();
    let fake = a_program_that_ended_at_once(&dir, |client| {
        client.capture(|| event("from another thread, as the program ended"));
    });
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_deadline_zero_an_end_by_the_program_returns_at_once_and_is_still_sent() {
    let fake = Fake::default();
    let client = client_in(&fake, &fresh_state_dir(), Duration::ZERO, Instant::now());
    client.capture(|| event("before the end"));
    let ending = Instant::now();
    client.end(Some(SessionStatus::Ok));
    assert!(ending.elapsed() < DEADLINE / 2, "{:?}", ending.elapsed());
    // The program runs on: the worker sends what it has, the end after the start.
    assert!(
        client
            .transport()
            .expect("transport")
            .flush(Instant::now() + DEADLINE)
    );
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("ok"));
}

#[test]
fn a_hanging_server_holds_the_end_no_longer_than_the_exit_deadline() {
    let fake = Fake::default().hang_on(END);
    let client = client(&fake, Instant::now());
    let ending = Instant::now();
    assert!(!client.end(None));
    let held = ending.elapsed();
    assert!(held >= DEADLINE / 2 && held < DEADLINE * 3, "{held:?}");
}

#[test]
fn a_flush_before_the_end_sends_what_was_queued_and_the_end_follows() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.capture(|| event("one"));
    assert!(client.flush(client.config.exit_deadline));
    assert_eq!(fake.paths(), [START, ERRORS]);
    client.end(None);
    assert_eq!(fake.paths(), [START, ERRORS, END]);
}

#[test]
fn a_flush_after_the_end_sends_what_was_reported_since() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.end(Some(SessionStatus::Ok));
    client.capture(|| event("late"));
    assert!(client.flush(client.config.exit_deadline));
    assert_eq!(fake.paths(), [START, END, ERRORS]);
}

#[test]
fn a_panic_caught_on_the_session_thread_is_a_handled_event_before_the_end() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.record_panic(PanicRecord::with_message("caught"));
    client.end(None);
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    assert_eq!(fake.sent()[1].1["handled"], true);
    assert_eq!(status_of_end(&fake).as_deref(), Some("errored"));
}

#[test]
fn a_panic_unwinding_out_of_main_is_the_one_fatal_event_and_the_end_is_crashed() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.record_panic(PanicRecord::with_message("caught first"));
    client.record_panic(PanicRecord::with_message("out of main"));
    client.end_crashed(None);
    assert_eq!(fake.paths(), [START, ERRORS, ERRORS, END]);
    let sent = fake.sent();
    assert_eq!(
        (&sent[1].1["message"], &sent[1].1["level"]),
        (&Value::from("caught first"), &Value::from("error"))
    );
    assert_eq!(
        (
            &sent[2].1["message"],
            &sent[2].1["level"],
            &sent[2].1["handled"]
        ),
        (
            &Value::from("out of main"),
            &Value::from("fatal"),
            &Value::from(false)
        )
    );
    assert_eq!(status_of_end(&fake).as_deref(), Some("crashed"));
}

#[test]
fn main_returning_err_after_a_caught_panic_sends_both_then_the_crashed_end() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.record_panic(PanicRecord::with_message("caught"));
    client.end_crashed(Some(event("main failed")));
    assert_eq!(messages(&fake), ["caught", "main failed"]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("crashed"));
}

#[test]
fn a_caught_panic_is_sent_on_its_own_once_it_is_old_enough() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.record_panic(PanicRecord::with_message("caught by a runtime"));
    // The hooks may take long (a backtrace printed): the time counts from their end.
    std::thread::sleep(caught::CAUGHT_AFTER * 2);
    assert_eq!(
        messages(&fake),
        Vec::<String>::new(),
        "not while the hooks run"
    );
    client.panic_hook_done(Instant::now());
    // No report, no end: the worker sends it once `CAUGHT_AFTER` has passed.
    let waited = Instant::now();
    while messages(&fake).is_empty() && waited.elapsed() < Duration::from_secs(5) {
        std::thread::park_timeout(Duration::from_millis(10));
    }
    assert_eq!(messages(&fake), ["caught by a runtime"]);
    assert!(waited.elapsed() >= caught::CAUGHT_AFTER / 2);
}

#[test]
fn a_signal_ending_the_session_while_main_ends_it_sends_one_end_and_both_return() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    let signal = std::thread::spawn(move || client.end(None));
    client.end(None);
    assert!(signal.join().is_ok());
    assert_eq!(fake.paths(), [START, END]);
}

#[test]
fn an_end_with_an_explicit_status_wins_and_later_ends_are_no_ops() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    client.capture(|| event("boom"));
    client.end(Some(SessionStatus::Ok));
    client.end_crashed(None);
    client.exit();
    assert_eq!(fake.paths(), [START, ERRORS, END]);
    assert_eq!(status_of_end(&fake).as_deref(), Some("ok"));
}

#[test]
fn the_exit_flush_deadline_follows_who_ended_the_session() {
    let now = Instant::now();
    let exit_deadline = Duration::from_secs(2);
    let ended = |settled, by_the_program, deadline| EndSent {
        deadline,
        settled,
        by_the_program,
    };
    // Ended by main or a signal: what is left of the end's deadline.
    let left = now + Duration::from_millis(500);
    assert_eq!(
        exit_deadline_after(ended(true, false, left), now, exit_deadline),
        Some(left)
    );
    // ... and nothing once it has passed.
    assert_eq!(
        exit_deadline_after(ended(true, false, now), now, exit_deadline),
        None
    );
    // Ended by the program, which ran on: a fresh deadline.
    assert_eq!(
        exit_deadline_after(ended(true, true, now), now, exit_deadline),
        Some(now + exit_deadline)
    );
    // The server did not take the end in time: no second wait.
    assert_eq!(
        exit_deadline_after(ended(false, true, left), now, exit_deadline),
        None
    );
}

#[cfg(feature = "testing")]
#[test]
fn a_capturing_client_keeps_its_events_and_gives_the_thread_back() {
    let events = capture_events(Config::builder().build(), || {
        capture(|| event("kept"));
        add_breadcrumb(|| Breadcrumb::new("crumb"));
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].message(), "kept");
    let again = capture_events(Config::builder().build(), || {
        capture(|| event("again"));
    });
    assert_eq!(again.len(), 1, "each capture has a client of its own");
    // Outside a capture, the thread's client is the process's again.
    assert_eq!(
        current().map(std::ptr::from_ref),
        PROCESS.get().map(std::ptr::from_ref)
    );
}

/// A client that keeps its events in a list (as `testing::capture`'s), configured by `config`,
/// with its session started.
fn capturing(config: ConfigBuilder) -> &'static Client {
    let client: &'static Client = Box::leak(Box::new(Client::with_outbox(
        Arc::new(config.build()),
        Some(Outbox::Capture(Mutex::new(Vec::new()))),
    )));
    client.start_session();
    client
}

fn captured(client: &Client) -> Vec<Event> {
    match &client.outbox {
        Some(Outbox::Capture(events)) => events.lock().expect("lock").clone(),
        _ => Vec::new(),
    }
}

#[test]
fn a_capture_returns_the_id_its_event_is_sent_with_and_it_is_the_last_event_id() {
    let fake = Fake::default();
    let client = client(&fake, Instant::now());
    assert_eq!(*client.last_event_id.lock().expect("lock"), None);
    let id = client.capture(|| event("boom")).expect("sent");
    assert!(client.flush(DEADLINE));
    let sent = fake.sent();
    let (_, json) = sent
        .iter()
        .find(|(path, _)| path == ERRORS)
        .expect("the event");
    assert_eq!(json["eventId"], id.to_string());
    assert_eq!(*client.last_event_id.lock().expect("lock"), Some(id));
    let second = client.capture(|| event("again")).expect("sent");
    assert_ne!(second, id);
    assert_eq!(*client.last_event_id.lock().expect("lock"), Some(second));
}

#[test]
fn a_sampled_out_error_is_never_built_and_still_makes_the_session_errored() {
    let client = capturing(Config::builder().sample_rate(0.0));
    let built = std::cell::Cell::new(false);
    let id = client.capture(|| {
        built.set(true);
        event("sampled out")
    });
    assert_eq!(id, None);
    assert!(!built.get(), "the dice come before the event is built");
    assert_eq!(client.tracker.status(), SessionStatus::Errored);
    assert!(captured(client).is_empty());
    assert_eq!(*client.last_event_id.lock().expect("lock"), None);
}

#[test]
fn at_a_sample_rate_of_a_half_about_half_the_events_are_sent() {
    let client = capturing(Config::builder().sample_rate(0.5));
    let sent = (0..2000)
        .filter_map(|n| client.capture(|| event(&n.to_string())))
        .count();
    // Six standard deviations (22) either side.
    assert!((868..=1132).contains(&sent), "{sent}");
    assert_eq!(captured(client).len(), sent);
}

#[test]
fn only_error_and_fatal_events_make_the_session_errored() {
    let client = capturing(Config::builder());
    for level in [Level::Debug, Level::Info, Level::Warning] {
        let id = client.capture_at(level, || {
            let mut event = event("fine");
            event.level = level;
            event
        });
        assert!(id.is_some());
        assert_eq!(client.tracker.status(), SessionStatus::Ok, "{level}");
    }
    assert_eq!(client.tracker.error_count(), 0);
    let _ = client.capture_at(Level::Error, || event("bad"));
    assert_eq!(client.tracker.status(), SessionStatus::Errored);
    let levels: Vec<Level> = captured(client).iter().map(Event::level).collect();
    assert_eq!(
        levels,
        [Level::Debug, Level::Info, Level::Warning, Level::Error]
    );
}

#[test]
fn before_breadcrumb_changes_or_drops_a_breadcrumb_and_a_panic_in_it_drops_that_one() {
    let client =
        capturing(
            Config::builder().before_breadcrumb(|breadcrumb| match breadcrumb.message() {
                Some("health check") => None,
                Some("panics") => panic!("a bug in the hook"),
                _ => Some(breadcrumb.with_category("kept")),
            }),
        );
    for message in ["health check", "loaded", "panics", "saved"] {
        client.add_breadcrumb(None, || Breadcrumb::new(message));
    }
    let kept = client.trail.before(client.trail.mark());
    let kept: Vec<(Option<&str>, Option<&str>)> = kept
        .iter()
        .map(|breadcrumb| (breadcrumb.message(), breadcrumb.category()))
        .collect();
    assert_eq!(
        kept,
        [
            (Some("loaded"), Some("kept")),
            (Some("saved"), Some("kept"))
        ]
    );
}

#[test]
fn a_client_that_sends_nothing_says_why() {
    let reason = |builder: ConfigBuilder, test_run: bool| {
        let config = builder
            .state_dir(std::env::temp_dir().join("allstak-client-reasons"))
            .build();
        Client::new(config, test_run, Some(Box::new(Fake::default()))).disabled_reason()
    };
    let keyed = || {
        Config::builder()
            .api_key("ask_test")
            .host("http://127.0.0.1:9")
    };
    assert_eq!(
        reason(Config::builder().host("http://127.0.0.1:9"), false),
        Some(DisabledReason::NoApiKey)
    );
    assert_eq!(
        reason(keyed().api_key("ask\ntest"), false),
        Some(DisabledReason::UnusableApiKey)
    );
    assert_eq!(
        reason(keyed().host("ftp://nope"), false),
        Some(DisabledReason::UnusableHost)
    );
    assert_eq!(reason(keyed(), true), Some(DisabledReason::TestRun));
    assert_eq!(
        reason(keyed().auto_session_tracking(false), false),
        Some(DisabledReason::SessionTrackingOff)
    );
    assert_eq!(reason(keyed(), false), None);
}

#[cfg(feature = "tracing")]
#[test]
fn an_error_the_tracing_layer_just_sent_is_not_sent_again_and_the_call_returns_its_id() {
    note_tracing_layer();
    let client = capturing(Config::builder());
    let from_tracing = client
        .capture_from_tracing(Level::Error, fingerprint("disk full"), || {
            event("disk full")
        })
        .expect("sent");
    assert_eq!(client.capture(|| event("disk full")), Some(from_tracing));
    assert_eq!(captured(client).len(), 1);
    // The pair is consumed: the same error again is a new event.
    let again = client.capture(|| event("disk full")).expect("sent");
    assert_ne!(again, from_tracing);
    // An info message of the same text is never taken for the error.
    let info = client.capture_at(Level::Info, || event("disk full"));
    assert!(info.is_some());
    assert_eq!(captured(client).len(), 3);
}
