#![deny(warnings)]
#![deny(clippy::pedantic)]

#[derive(Debug)]
struct Failure;

#[allstak::main]
fn main() -> Result<(), Failure> {
    let ok: Result<u8, Failure> = Ok(1);
    let n = ok?;
    if n > 1 {
        return Err(Failure);
    }
    Ok(())
}
