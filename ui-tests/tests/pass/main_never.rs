#![deny(warnings)]
#![deny(clippy::pedantic)]

#[allstak::main]
fn main() -> ! {
    std::process::exit(0)
}
