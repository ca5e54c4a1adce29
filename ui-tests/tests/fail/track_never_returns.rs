#[allstak::track]
fn forever() -> ! {
    loop {}
}

fn main() {
    if std::env::args().count() > 99 {
        forever();
    }
}
