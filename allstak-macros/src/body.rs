//! The body inside the generated fn, run in place with the fn's return type (as `signature`
//! names it) as its expected type: a sync body as a closure called once, an async body as an
//! `async move` block awaited. Both attributes call it here, and name their locals here.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::args::RuntimePath;
use crate::item::Function;
use crate::signature::Returns;

/// A generated local: invisible to the user's code, and theirs to ours.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The body, called in place with the fn's return type as its expected type, so `?`,
/// `return` and coercions in the tail mean what they meant in the fn.
pub(crate) fn call_body(
    function: &Function,
    returns: &Returns<'_>,
    runtime: &RuntimePath,
) -> TokenStream {
    let ret = &returns.inferable;
    if function.sig.asyncness.is_some() {
        // An async block has no declared output type and its tail is no coercion site until
        // one is known: a first `return` of the type (never taken) fixes it before the body
        // is checked, as in an `async fn`.
        // The body stays a block of its own inside ours: its `use` lines and items (a glob
        // import bringing an `io::Result`) do not reach the type named here, and its items are
        // still at its start.
        let out = local("__allstak_out");
        let body = function.body_block_at_call_site();
        quote!(async move {
            if let ::core::option::Option::Some(#out) = ::core::option::Option::None::<#ret> {
                #[allow(unreachable_code)]
                return #out;
            }
            #body
        }
        .await)
    } else {
        // A closure called in place, typed with the fn's return type. Moving `Once` in makes it
        // `FnOnce`, so it may move out of and return borrows of its captures (a closure
        // inferred `Fn` cannot return `&mut self.field`), with no generic helper to instantiate
        // for each fn.
        let once = local("__allstak_once");
        let moved = local("__allstak_moved");
        // The body stays a block of its own, so its items are still at its start; in braces
        // of ours, which rustc's `unused_braces` does not take for the user's.
        let body = function.body_block_at_call_site();
        quote!({
            let #once = #runtime::__private::Once;
            (move || -> #ret {
                let #moved = #once;
                #body
            })()
        })
    }
}
