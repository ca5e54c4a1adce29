// A type of the program's own named `Result`, with two arguments like `core`'s: one error, on
// the return type, saying it is not `core`'s `Result`.

pub enum Result<T, E> {
    Done(T),
    Failed(E),
}

#[allstak::track]
fn fetch() -> Result<u8, std::io::Error> {
    Result::Done(1)
}

fn main() {
    let _ = fetch();
    let _ = Result::<u8, u8>::Failed(1);
}
