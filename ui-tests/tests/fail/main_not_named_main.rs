#[allstak::main]
fn run() {}

fn main() {
    run();
}
