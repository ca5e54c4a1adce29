//! Where the settings come from and which wins, end to end (contract: Environment variables,
//! Release): the `ALLSTAK_*` variables over the crate's own `name@version`, and the arguments of
//! `#[allstak::main]` over the variables.

mod common;

use std::time::Duration;

use allstak_tests::{AttrArgs, ManualProgram};
use common::*;

#[test]
fn release_and_environment_come_from_the_environment() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_RELEASE", "shop@9.9.9"),
            ("ALLSTAK_ENVIRONMENT", "staging"),
        ],
    );
    run(ManualProgram::Ok, &env);
    let requests = collector.requests();
    assert_start(&requests[0], "shop@9.9.9", "staging");
}

#[test]
fn attribute_arguments_win_over_the_environment() {
    let collector = collector();
    // The end is never answered: the exit is held for the deadline the attribute gives.
    collector.then_reply(allstak::testing::Reply::accepted());
    collector.set_reply(allstak::testing::Reply::never());
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_RELEASE", "env-release@9.9.9"),
            ("ALLSTAK_ENVIRONMENT", "env-environment"),
            ("ALLSTAK_EXIT_DEADLINE_MS", "10000"),
            ("ALLSTAK_USER_ID", "env-user"),
        ],
    );
    let run = run(AttrArgs::Ok, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\n");
    assert_eq!(run.stderr, "");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, END]);
    let mut start = requests[0].clone();
    let user = start
        .json
        .as_object_mut()
        .and_then(|json| json.remove("userId"));
    assert_eq!(user, Some(serde_json::json!("attr-user")));
    assert_start(&start, "attr-release@1.2.3", "attr-environment");
    // 1 s from the attribute, not the variable's 10 s (nor the default 2 s).
    assert!(
        run.elapsed >= Duration::from_millis(950) && run.elapsed < Duration::from_millis(1900),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn in_app_arguments_win_over_the_environment() {
    let collector = collector();
    let env = env_for(
        collector.url(),
        &[
            ("ALLSTAK_IN_APP_INCLUDE", "attr_args::generated"),
            ("ALLSTAK_IN_APP_EXCLUDE", "attr_args::main"),
        ],
    );
    let run = run(AttrArgs::ThreadPanic, &env);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.stdout, "session active: true\nworker panicked: true\n");
    let requests = collector.requests();
    assert_eq!(paths(&requests), [START, ERRORS, END]);
    let frames = requests[1].json["frames"].as_array().expect("frames");
    let marked: Vec<(&str, bool)> = frames
        .iter()
        .filter_map(|f| Some((f["function"].as_str()?, f["inApp"].as_bool()?)))
        .filter(|(function, _)| function.starts_with("attr_args::"))
        .collect();
    assert_eq!(marked.len(), 3, "{marked:?}");
    // The thread's closure is the program's (the variable's exclude is not read); the generated
    // module is not, but for its bindings (the longest path the attribute lists wins).
    assert!(
        marked[0].0.starts_with("attr_args::main::{{closure}}"),
        "{marked:?}"
    );
    assert!(marked[0].1, "{marked:?}");
    assert_eq!(
        marked[1..],
        [
            ("attr_args::generated::decode", false),
            ("attr_args::generated::bindings::read", true)
        ]
    );
}
