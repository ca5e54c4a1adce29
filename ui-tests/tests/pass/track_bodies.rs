#![deny(warnings)]
#![deny(clippy::pedantic)]
//! Bodies the wrapper must not disturb: diverging bodies, recursion, inner attributes, `use`
//! and items inside the body, and user names that collide with the generated ones.

use std::fmt::Write as _;

#[derive(Debug, PartialEq)]
struct Failed;

#[::allstak::track]
fn diverges_with_loop() -> Result<u8, Failed> {
    loop {
        std::hint::spin_loop();
    }
}

#[::allstak::track]
fn diverges_with_todo(_n: u8) -> Result<u8, Failed> {
    todo!()
}

#[::allstak::track]
fn diverges_with_panic() -> Result<u8, Failed> {
    panic!("always")
}

#[::allstak::track]
async fn async_diverges() -> Result<u8, Failed> {
    unimplemented!()
}

#[::allstak::track]
fn recursion(n: u64) -> Result<u64, Failed> {
    if n == 0 {
        Ok(1)
    } else {
        Ok(n * recursion(n - 1)?)
    }
}

#[::allstak::track]
async fn async_recursion(n: u64) -> Result<u64, Failed> {
    if n == 0 {
        Ok(1)
    } else {
        Ok(n * Box::pin(async_recursion(n - 1)).await?)
    }
}

#[::allstak::track]
fn inner_attributes() -> Result<u8, Failed> {
    #![allow(clippy::let_and_return)]
    //! An inner doc comment moves with them.
    let n = 3;
    n.try_into().map_err(|_| Failed).map(|n: u8| n)
}

#[::allstak::track]
fn use_and_items_inside_the_body() -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    const SUFFIX: &str = "!";
    fn helper() -> &'static str {
        "x"
    }
    struct Result;
    assert_eq!(std::mem::size_of::<Result>(), 0);
    let mut s = String::new();
    s.write_str(helper())?;
    s.write_str(SUFFIX)?;
    Ok(s)
}

/// A user module named like the crate.
mod allstak {
    pub fn track() {}
}

mod core {}

#[::allstak::track]
fn names_like_ours() -> Result<u8, Failed> {
    static __ALLSTAK_SITE: u8 = 4;
    allstak::track();
    let __allstak_ret = 1u8;
    let __allstak_err = 2u8;
    let __allstak_out = 3u8;
    std::result::Result::Ok(__allstak_ret + __allstak_err + __allstak_out + __ALLSTAK_SITE)
}

#[::allstak::track]
fn shadowed_prelude() -> Result<u8, Failed> {
    #[allow(dead_code)]
    enum Option {
        Some,
        None,
    }
    #[allow(dead_code)]
    struct Some;
    Ok(1)
}

#[::allstak::track]
fn writes(out: &mut String) -> Result<(), std::fmt::Error> {
    write!(out, "written")
}

fn main() {
    let _ = (
        diverges_with_loop,
        diverges_with_todo,
        diverges_with_panic,
        async_diverges,
    );
    assert!(std::panic::catch_unwind(diverges_with_panic).is_err());
    assert_eq!(recursion(5), Ok(120));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(runtime.block_on(async_recursion(4)), Ok(24));
    assert_eq!(inner_attributes(), Ok(3));
    assert_eq!(use_and_items_inside_the_body().as_deref(), Ok("x!"));
    assert_eq!(names_like_ours(), Ok(10));
    assert_eq!(shadowed_prelude(), Ok(1));
    let mut out = String::new();
    assert_eq!(writes(&mut out), Ok(()));
    assert_eq!(out, "written");
}
