#[allstak::track(report)]
fn missing_value() -> Result<u8, ()> {
    Ok(1)
}

#[allstak::track(name = load)]
fn not_a_literal() -> Result<u8, ()> {
    Ok(1)
}

/// Each malformed pair is an error of its own; those after it still count (`report = false`
/// is taken, and an unknown one is said).
#[allstak::track(name = load, report = maybe, report = false, color = "red")]
fn several() -> Result<u8, ()> {
    Ok(1)
}

fn main() {
    let _ = (missing_value(), not_a_literal(), several());
}
