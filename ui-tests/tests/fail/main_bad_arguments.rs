#[allstak::main(relase = "1.0", exit_deadline_ms = "soon", environment = "a", environment = "b", api_key = "secret")]
fn main() {
    println!("still expands");
}
