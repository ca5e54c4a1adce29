//! The client as a value, around a fake HTTP backend: every order in which a session can end
//! (its end, a flush, the process's exit, a panic, a signal from another thread), without
//! spawning a process. Time is passed in where the session's duration depends on it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::shutdown::{EndSent, exit_deadline_after};
use super::*;
use crate::transport::Answer;
use crate::wire::Post;

/// What the fake server does with a request to a path.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    /// Takes the request and does not answer within its timeout (a blackholed server, and a
    /// client whose timer fires late).
    Hang,
}

/// An HTTP backend that records what it is sent and answers as told per path.
#[derive(Clone, Default)]
struct Fake {
    sent: Arc<Mutex<Vec<(String, Value)>>>,
    hang: Arc<Mutex<Vec<&'static str>>>,
}

impl Fake {
    fn hang_on(self, path: &'static str) -> Self {
        self.hang.lock().expect("lock").push(path);
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

fn fresh_state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "allstak-client-{}-{}",
        std::process::id(),
        SessionId::random()
    ))
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
    assert_eq!(fake.paths(), [START, ERRORS, ERRORS, ERRORS, END]);
    assert_eq!(messages(&fake), ["kept 0", "kept 1", "kept 2"]);
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
    assert!(client.flush());
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
    assert!(client.flush());
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
    let again = capture_events(Config::builder().build(), || capture(|| event("again")));
    assert_eq!(again.len(), 1, "each capture has a client of its own");
    // Outside a capture, the thread's client is the process's again.
    assert_eq!(
        current().map(std::ptr::from_ref),
        PROCESS.get().map(std::ptr::from_ref)
    );
}
