//! When the item cannot expand: it is kept beside the errors, so the rest of the crate (and
//! rust-analyzer) still sees the function. Every path that keeps the item is here.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{Args, Kind, RuntimePath};
use crate::errors::Errors;
use crate::item::Function;

pub(crate) fn expand(args: &Args, item: TokenStream, errors: Errors) -> TokenStream {
    if let Args::Main(_) = args
        && let Ok(function) = Function::parse(item.clone())
        && function.sig.ident == "main"
    {
        return main_as_written(function, &args.runtime(), errors);
    }
    let mut tokens = item;
    tokens.extend(errors.into_compile_errors());
    tokens
}

/// A `main` we cannot expand: kept (so its body is still checked and the crate still builds)
/// under another name, beside an empty `fn main`, so that only our error is reported, not
/// rustc's own complaints about the same signature.
fn main_as_written(mut function: Function, runtime: &RuntimePath, errors: Errors) -> TokenStream {
    function.sig.ident = syn::Ident::new("__allstak_main_as_written", function.sig.ident.span());
    // A second `#[allstak::main]` already has its error: it must not expand again.
    function
        .attrs
        .retain(|attr| !runtime.is_ours(attr, Kind::Main));
    let Function { vis, sig, .. } = &function;
    let attrs = function.outer_attrs();
    let body = function.body_block();
    let mut tokens = quote! {
        #[allow(dead_code)]
        #attrs
        #vis #sig #body
        fn main() {}
    };
    tokens.extend(errors.into_compile_errors());
    tokens
}
