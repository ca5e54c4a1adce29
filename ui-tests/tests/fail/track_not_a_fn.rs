#[allstak::track]
struct Settings {
    port: u16,
}

// Items that start as a fn may: said as what they are.
#[allstak::track]
const LIMIT: u8 = 3;

struct Handle(*const u8);

#[allstak::track]
unsafe impl Send for Handle {}

fn main() {
    let settings = Settings { port: 80 };
    let _ = (settings.port, LIMIT, Handle(std::ptr::null()).0);
}
