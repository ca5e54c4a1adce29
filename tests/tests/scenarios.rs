//! The test programs themselves: each plays only the scenarios its enum in `tests/src/lib.rs`
//! names, so a misspelt or missing one can never pass as a normal run.

mod common;

use std::path::Path;

use common::*;

#[test]
fn every_program_refuses_a_scenario_it_does_not_play_and_a_missing_one() {
    // Each program in a thread of its own, all at once.
    std::thread::scope(|scope| {
        for (name, program) in PROGRAMS {
            scope.spawn(move || assert_refuses(name, Path::new(program)));
        }
    });
}

/// `program` (named `name`) stops with a panic that names it, before printing anything, when
/// given an unknown scenario or none.
fn assert_refuses(name: &str, program: &Path) {
    // No backtrace to symbolize: the message is what counts.
    let env = owned(&[("RUST_BACKTRACE", "0")]);
    for args in [&["no-such-scenario"][..], &[]] {
        let output = bare_command(program, &env)
            .args(args)
            .output()
            .expect("the test program runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(101), "{name} {args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{name}: ")),
            "{name} {args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{name} {args:?}");
    }
}
