#![deny(warnings)]
#![deny(clippy::pedantic)]

use std::process::ExitCode;

#[allstak::main]
fn main() -> ExitCode {
    ExitCode::SUCCESS
}
