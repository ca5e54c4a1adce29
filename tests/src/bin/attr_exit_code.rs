//! `main` returning an `ExitCode`: the code given as the first argument.

use std::process::ExitCode;

#[allstak::main]
fn main() -> ExitCode {
    let code: u8 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    println!("exiting with {code}");
    ExitCode::from(code)
}
