/// A malformed list is its own error; the arguments after it still count (an unknown one is
/// said).
#[allstak::main(in_app_exclude = ["a" "b"], release = "app@1", colour = "red")]
fn main() {}
