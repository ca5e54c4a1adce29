#[allstak::track(crate = "telemetry")]
fn parse(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

fn main() {
    let _ = parse("1");
}
