#[allstak::main(sample_rate = 1.5)]
fn main() {
    println!("still expands");
}
