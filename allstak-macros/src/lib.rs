//! The attributes of the `allstak` crate. Use them as `#[allstak::main]` and
//! `#[allstak::track]`: this crate is an implementation detail, and what the attributes expand to
//! calls `allstak`'s unstable `__private` module.
//!
//! One pass per file: [`args`] parses the attribute's arguments, [`item`] the annotated item (the
//! signature only: the body stays tokens), [`validate`] collects every misuse, the `expand_*`
//! files generate code from a validated item, and [`fallback`] re-emits the item untouched beside
//! the errors, so the rest of the crate still compiles.

mod args;
mod expand_main;
mod expand_track;
mod fallback;
mod item;
mod validate;

use proc_macro::TokenStream;

/// Tracks the process as an AllStak release-health session.
///
/// See the `allstak` crate for the full documentation.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_main::expand(args.into(), item.into()).into()
}

/// Records the `Err` values a function returns on the session.
///
/// See the `allstak` crate for the full documentation.
#[proc_macro_attribute]
pub fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_track::expand(args.into(), item.into()).into()
}
