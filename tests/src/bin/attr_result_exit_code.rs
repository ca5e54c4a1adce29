//! `main` returning `Result<ExitCode, E>`: `Ok` with the code given as the first argument, or
//! `Err` when it is `err`.

use std::process::ExitCode;

#[allstak::main]
fn main() -> Result<ExitCode, String> {
    match std::env::args().nth(1).as_deref() {
        Some("err") => Err("no code".to_owned()),
        code => Ok(ExitCode::from(
            code.and_then(|c| c.parse().ok()).unwrap_or(0u8),
        )),
    }
}
