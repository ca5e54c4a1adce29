#[allstak::main(release = "", environment = " ", host = "", user_id = "")]
fn main() {
    println!("still expands: {:?} {:?}", step(), other());
}

#[allstak::track(name = "")]
fn step() -> Result<(), std::io::Error> {
    Ok(())
}

#[allstak::track(name = "two
lines")]
fn other() -> Result<(), std::io::Error> {
    step()
}
