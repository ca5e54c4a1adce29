extern crate allstak as renamed;

#[renamed::main(crate = "renamed")]
#[renamed::main(crate = "renamed")]
fn main() {}
