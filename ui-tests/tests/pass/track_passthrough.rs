#![deny(warnings)]
#![deny(clippy::pedantic)]
//! Everything around the fn passes through: qualifiers, ABI, visibility, doc comments and
//! other attributes above and below, and the attribute's own arguments.

#[derive(Debug, PartialEq)]
struct Failed;

#[allstak::track]
/// # Safety
/// None needed: shows that `unsafe fn` passes through.
unsafe fn unsafe_fn() -> Result<u8, Failed> {
    Ok(1)
}

#[allstak::track]
#[allow(improper_ctypes_definitions)]
extern "C" fn extern_c() -> Result<u8, u8> {
    Ok(2)
}

#[allstak::track]
/// # Safety
/// None needed.
#[allow(improper_ctypes_definitions)]
unsafe extern "C" fn unsafe_extern_c() -> Result<u8, u8> {
    Ok(3)
}

mod inner {
    #[allstak::track]
    pub(crate) fn crate_visible() -> Result<u8, super::Failed> {
        Ok(4)
    }

    #[allstak::track]
    pub(super) fn parent_visible() -> Result<u8, super::Failed> {
        Ok(5)
    }
}

/// Doc comments, `#[must_use]`, `#[inline]` and `#[cfg]` above the attribute.
#[must_use = "check it"]
#[inline]
#[cfg(not(any()))]
#[allstak::track]
fn attributes_above() -> Result<u8, Failed> {
    Ok(inner::crate_visible()? + inner::parent_visible()?)
}

#[allow(clippy::unnecessary_wraps)]
#[allstak::track]
/// Doc comments, `#[doc(alias)]`, `#[inline(never)]` and `#[cfg]` below the attribute.
#[doc(alias = "below")]
#[inline(never)]
#[cfg(not(miri))]
#[allow(unused_variables)]
fn attributes_below(unused: u8) -> Result<u8, Failed> {
    Ok(6)
}

#[cfg(any())]
#[allstak::track]
fn compiled_out() -> Result<u8, Failed> {
    does_not_exist()
}

#[allstak::track(name = "settings::load")]
fn named() -> Result<u8, Failed> {
    Err(Failed)
}

#[allstak::track(report = false)]
fn quiet() -> Result<u8, Failed> {
    Err(Failed)
}

#[allstak::track(name = "settings::reload", report = true)]
fn named_and_reported() -> Result<u8, Failed> {
    Ok(7)
}

fn main() {
    // SAFETY: no requirements.
    assert_eq!(unsafe { unsafe_fn() }, Ok(1));
    assert_eq!(extern_c(), Ok(2));
    // SAFETY: no requirements.
    assert_eq!(unsafe { unsafe_extern_c() }, Ok(3));
    assert_eq!(attributes_above(), Ok(9));
    assert_eq!(attributes_below(0), Ok(6));
    assert_eq!(named(), Err(Failed));
    assert_eq!(quiet(), Err(Failed));
    assert_eq!(named_and_reported(), Ok(7));
}
