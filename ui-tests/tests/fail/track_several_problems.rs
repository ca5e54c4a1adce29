#[allstak::track(colour = "blue")]
#[track_caller]
const fn parse(n: u8) {
    let _ = n;
}

fn main() {
    parse(1);
}
