#![deny(warnings)]
#![deny(clippy::pedantic)]

#[allstak::main]
fn main() {
    println!("plain main");
}
