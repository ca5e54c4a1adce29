#[allstak::track(report)]
fn missing_value() -> Result<u8, ()> {
    Ok(1)
}

#[allstak::track(name = load)]
fn not_a_literal() -> Result<u8, ()> {
    Ok(1)
}

fn main() {
    let _ = (missing_value(), not_a_literal());
}
