//! `main` returning `Result<ExitCode, E>`: `Ok` with the code given as the first argument, or
//! `Err` when it is `err`.

use std::process::ExitCode;

use allstak_tests::{AttrResultExitCode, Scenario as _};

#[allstak::main]
fn main() -> Result<ExitCode, String> {
    match AttrResultExitCode::of_this_process() {
        AttrResultExitCode::ReturnsErr => Err("no code".to_owned()),
        AttrResultExitCode::ReturnsOk(code) => Ok(ExitCode::from(code)),
    }
}
