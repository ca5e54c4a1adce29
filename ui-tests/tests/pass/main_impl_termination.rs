#![deny(warnings)]
#![deny(clippy::pedantic)]

use std::process::Termination;

#[allstak::main]
fn main() -> impl Termination {
    Ok::<(), std::fmt::Error>(())
}
