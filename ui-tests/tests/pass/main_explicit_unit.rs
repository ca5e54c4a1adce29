#![deny(warnings)]
#![deny(clippy::pedantic)]
//! `fn main() -> ()`, written out.

#[allow(clippy::unused_unit)]
#[allstak::main]
fn main() -> () {
    let _ = std::env::args();
}
