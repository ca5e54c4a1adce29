#![deny(warnings)]
#![deny(clippy::pedantic)]

extern crate allstak as renamed;

#[renamed::track(crate = "renamed")]
fn parse(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

#[renamed::main(crate = "renamed", release = "app@1.0.0", environment = "staging", exit_deadline_ms = 500)]
fn main() {
    assert!(parse("x").is_err());
}
