//! What every error event says of where it ran, in its `metadata`: the OS and its version, the
//! architecture, the rustc that built the program, the thread that raised it, and the host
//! (`server_name`, off with `ALLSTAK_SEND_SERVER_NAME=0`); and the environment a build reports
//! when none is given: `development` with debug assertions, `production` without.

mod common;

use std::process::Command;

use allstak_tests::{AttrMain, ManualProgram, StackTrace};
use common::*;
use serde_json::Value;

/// What a command prints, trimmed.
fn output_of(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(output.status.success(), "{program} {args:?}");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// The version of the rustc beside the cargo running the tests (the one that built the
/// programs), as `rustc --version` says it, without `rustc `.
fn rustc_version() -> String {
    let rustc = std::env::var_os("CARGO")
        .map(std::path::PathBuf::from)
        .map(|cargo| cargo.with_file_name("rustc"))
        .filter(|rustc| rustc.exists())
        .map_or_else(|| "rustc".to_owned(), |rustc| rustc.display().to_string());
    output_of(&rustc, &["--version"])
        .trim_start_matches("rustc ")
        .to_owned()
}

/// The one error event of a run of `scenario` with `extra` env.
fn the_event<S: allstak_tests::Scenario>(scenario: S, extra: &[(&str, &str)]) -> Value {
    let collector = collector();
    let run = run(scenario, &env_for(collector.url(), extra));
    let requests = collector.requests();
    let events: Vec<&Value> = requests
        .iter()
        .filter(|r| r.path == ERRORS)
        .map(|r| &r.json)
        .collect();
    assert_eq!(events.len(), 1, "{}", run.stderr);
    events[0].clone()
}

#[cfg(unix)]
#[test]
fn an_event_carries_the_os_the_architecture_the_rustc_the_thread_and_the_host() {
    let event = the_event(ManualProgram::Capture, &[]);
    let metadata = &event["metadata"];
    assert_eq!(metadata["os.name"], output_of("uname", &["-s"]));
    assert_eq!(metadata["os.version"], output_of("uname", &["-r"]));
    assert_eq!(metadata["arch"], std::env::consts::ARCH);
    assert_eq!(metadata["rustc.version"], rustc_version());
    assert_eq!(metadata["thread.name"], "main");
    assert_eq!(metadata["server_name"], output_of("uname", &["-n"]));
    // Nothing else was added: the program's own fields are the type's only.
    let mut rest = metadata.as_object().expect("an object").clone();
    for key in RUNTIME_CONTEXT_KEYS {
        rest.remove(key);
    }
    assert_eq!(
        Value::Object(rest),
        serde_json::json!({"rust.type": "manual_program::SettingsError"})
    );
}

#[test]
fn send_server_name_off_leaves_the_host_out_and_the_rest_in() {
    let event = the_event(ManualProgram::Capture, &[("ALLSTAK_SEND_SERVER_NAME", "0")]);
    let metadata = event["metadata"].as_object().expect("an object");
    assert!(!metadata.contains_key("server_name"), "{event}");
    for key in ["os.name", "arch", "rustc.version", "thread.name"] {
        assert!(metadata[key].is_string(), "{key}: {event}");
    }
}

#[test]
fn the_thread_is_the_one_that_raised_the_event() {
    // A tokio task's panic: the runtime's worker thread.
    let event = the_event(StackTrace::TaskPanic, &[]);
    assert_eq!(event["metadata"]["thread.name"], "tokio-rt-worker");
    // A thread spawned without a name has none to send.
    let event = the_event(ManualProgram::ThreadPanic, &[]);
    assert!(event["metadata"].get("thread.name").is_none(), "{event}");
    assert!(event["metadata"]["os.name"].is_string());
}

#[test]
fn a_debug_build_reports_development_and_a_release_build_production() {
    let collector = collector();
    let env = env_for(collector.url(), &[]);
    let debug = run(AttrMain::Ok, &env);
    assert_eq!(debug.code(), Some(0), "{}", debug.stderr);
    let release = built_with_profile::<AttrMain>("release-lines").run(AttrMain::Ok, &env);
    assert_eq!(release.code(), Some(0), "{}", release.stderr);
    let starts: Vec<Value> = collector
        .requests()
        .iter()
        .filter(|r| r.path == START)
        .map(|r| r.json["environment"].clone())
        .collect();
    assert_eq!(starts, ["development", "production"]);
    // The variable still wins, in either build.
    let staging = env_for(collector.url(), &[("ALLSTAK_ENVIRONMENT", "staging")]);
    run(AttrMain::Ok, &staging);
    let last = collector.requests();
    let start = last
        .iter()
        .rev()
        .find(|r| r.path == START)
        .expect("a start");
    assert_eq!(start.json["environment"], "staging");
}
