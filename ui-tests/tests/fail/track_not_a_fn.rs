#[allstak::track]
struct Settings {
    port: u16,
}

fn main() {
    let settings = Settings { port: 80 };
    let _ = settings.port;
}
