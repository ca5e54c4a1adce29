#[allstak::track]
fn log_it(message: &str) -> () {
    println!("{message}");
}

fn main() {
    log_it("kept");
}
