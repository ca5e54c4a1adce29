#[allstak::main]
async fn main() {}
