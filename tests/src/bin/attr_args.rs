//! `#[allstak::main]` with arguments, which win over the `ALLSTAK_*` variables. With
//! `thread-panic`, a thread panics in code the attribute marks in-app or not.

use allstak_tests::{AttrArgs, Scenario as _};

/// Code the program does not write itself: out of in-app by the attribute, but for its
/// `bindings`, which the attribute puts back.
mod generated {
    #[inline(never)]
    pub fn decode(depth: u32) -> u32 {
        std::hint::black_box(bindings::read(std::hint::black_box(depth + 1)) + 1)
    }

    pub mod bindings {
        #[inline(never)]
        pub fn read(depth: u32) -> u32 {
            if std::hint::black_box(depth) > 0 {
                panic!("generated code gave up");
            }
            depth
        }
    }
}

#[allstak::main(
    release = "attr-release@1.2.3",
    environment = "attr-environment",
    exit_deadline_ms = 1000,
    user_id = "attr-user",
    in_app_exclude = ["attr_args::generated"],
    in_app_include = ["attr_args::generated::bindings"]
)]
fn main() {
    let scenario = AttrArgs::of_this_process();
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    match scenario {
        AttrArgs::Ok => {}
        AttrArgs::ThreadPanic => {
            let joined = std::thread::spawn(|| generated::decode(1)).join();
            println!("worker panicked: {}", joined.is_err());
        }
    }
}
