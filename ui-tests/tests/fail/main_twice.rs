#[allstak::main]
#[allstak::main]
fn main() {}
