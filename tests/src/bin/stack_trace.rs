//! Stacks in events: a panic three calls deep and a tracked `Err` two calls deep, driven by the
//! first argument (in a thread and in a tokio task too). The tests build it in debug, release
//! and `panic = "abort"` too.
//!
//! Each fn is `#[inline(never)]` and does something after its call, so that it stays a frame of
//! its own (no inlining, no tail call) in a release build without debug info.

use std::hint::black_box;

use allstak_tests::{Scenario as _, StackTrace};

#[inline(never)]
fn first(depth: u32) -> u32 {
    black_box(second(black_box(depth + 1)) + 1)
}

#[inline(never)]
fn second(depth: u32) -> u32 {
    black_box(third(black_box(depth + 1)) + 1)
}

#[inline(never)]
fn third(depth: u32) -> u32 {
    if black_box(depth) > 0 {
        panic!("three calls deep"); // the panicking line
    }
    depth
}

#[allstak::track]
#[inline(never)]
fn parse_count(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[inline(never)]
fn load(text: &str) -> u32 {
    black_box(parse_count(black_box(text)).unwrap_or(0) + 1)
}

#[allstak::main]
fn main() {
    match StackTrace::of_this_process() {
        StackTrace::Panic => println!("{}", first(1)),
        StackTrace::ThreadPanic => {
            let joined = std::thread::spawn(|| first(1)).join();
            println!("worker panicked: {}", joined.is_err());
        }
        StackTrace::TaskPanic => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .expect("a tokio runtime");
            let joined = runtime.block_on(runtime.spawn(async { first(1) }));
            println!("task panicked: {}", joined.is_err());
        }
        StackTrace::Tracked => println!("count {}", load("many")),
    }
}
