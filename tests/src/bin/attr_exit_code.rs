//! `main` returning an `ExitCode`: the code given as the first argument.

use std::process::ExitCode;

use allstak_tests::{AttrExitCode, Scenario as _};

#[allstak::main]
fn main() -> ExitCode {
    let AttrExitCode::Returns(code) = AttrExitCode::of_this_process();
    println!("exiting with {code}");
    ExitCode::from(code)
}
