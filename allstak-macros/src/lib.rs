//! The attributes of the `allstak` crate. Use them as `#[allstak::main]` and
//! `#[allstak::track]`: this crate is an implementation detail, and what the attributes expand to
//! calls `allstak`'s unstable `__private` module.
//!
//! One pass per file, both attributes through one driver (`expand.rs`): `args.rs` parses the
//! attribute's arguments, `item.rs` the annotated item (the signature only: the body stays
//! tokens), `signature.rs` reads what it returns, once, `validate.rs` collects every misuse into
//! `errors.rs`, `body.rs` runs the body inside the generated fn, the `expand_*` files generate
//! each attribute's code from a validated item, and `fallback.rs` keeps the item beside the
//! errors, so the rest of the crate still compiles.

mod args;
mod body;
mod errors;
mod expand;
mod expand_main;
mod expand_track;
mod fallback;
mod item;
mod signature;
mod validate;

use proc_macro::TokenStream;

use crate::args::Kind;

/// Tracks the process as an AllStak release-health session.
///
/// See the `allstak` crate for the full documentation.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Records the `Err` values a function returns on the session.
///
/// See the `allstak` crate for the full documentation.
#[proc_macro_attribute]
pub fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Track, args.into(), item.into()).into()
}
