#![deny(warnings)]
#![deny(clippy::pedantic)]
//! Names in scope where `#[allstak::main]` expands that its generated code must not pick up: a
//! constant and a unit struct named like the closure parameters and locals it writes.

#[allow(non_upper_case_globals)]
const ok: u8 = 0;
#[allow(non_camel_case_types)]
struct value;

#[derive(Debug)]
struct Failure;

#[allstak::main]
fn main() -> Result<(), Failure> {
    let _ = (ok, value);
    Ok(())
}
