#[allstak::main]
fn main(args: Vec<String>) {
    let _ = args;
}
