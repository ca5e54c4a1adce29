extern crate allstak as telemetry;

#[telemetry::track(crate = "telemetry")]
fn count(text: &str) -> usize {
    text.len()
}

fn main() {
    let _ = count("");
}
