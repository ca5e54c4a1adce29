//! `#[allstak::track]`: the body runs as before (a closure forced to `FnOnce`, or an `async`
//! block, typed with the fn's return type); an `Err` takes one branch into a cold path.
//!
//! A fn that returns a future by hand (`impl Future<Output = Result<..>>`, or the
//! `Pin<Box<dyn Future<Output = Result<..>>>>` that `#[async_trait]` writes; `signature` tells
//! it) has its future's output tracked: the body builds the future as before, and a wrapper
//! awaits it.

use proc_macro2::{Delimiter, Group, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;
use syn::ext::IdentExt as _;

use crate::args::{RuntimePath, TrackArgs};
use crate::body::{call_body, local};
use crate::item::Function;
use crate::signature::{ReturnShape, ReturnedFuture, Returns, Tracked};

/// `value`, its `Err` recorded: `Describe::<<ty as TrackedResult>::Error>::NEW.allstak_check(site,
/// value)`, the probe run here, where the error type is known, with no call or borrow beyond the
/// check itself. When `ty` (the `tracked` type) is no `Result`, the projection is the one
/// error, over `ty`, with `TrackedResult`'s `on_unimplemented` message.
///
/// `via` is empty, or `.allstak_display()` (`describe = "display"`): the probe then starts at
/// `Display`, never asking for an `Error` impl that needs `'static` parameters (E0310).
fn check(
    runtime: &RuntimePath,
    tracked: &Tracked<'_>,
    value: &TokenStream,
    site: Option<&TokenStream>,
    via: &TokenStream,
) -> TokenStream {
    let inferable = tracked.inferable.clone();
    let has_impl_trait = tracked.has_impl_trait;
    let written = tracked
        .written_error
        .filter(|_| !has_impl_trait && !runtime.is_given());
    match (site, written) {
        // `Result<T, E>` as written: the probe is named by `E` itself, with no projection for
        // rustc to normalize. A two-argument `Result` that is not `core`'s (an alias in scope
        // as `Result` whose second argument is not its error would be one) is then reported by
        // `ErrorIn`.
        (Some(site), Some((error_type, name))) => {
            // The check is spanned by the type's name: "not `core`'s `Result`" points there.
            let method = Ident::new("allstak_check", Span::call_site().located_at(name));
            quote!(#runtime::__private::Describe::<#error_type>::NEW #via.#method(#site, #value))
        }
        (Some(site), None) if !has_impl_trait && !runtime.is_given() => {
            // Our tokens carry `ty`'s own spans (its first token before it, its last after),
            // hygiene included: an absolute path resolves the same under them, and when `ty` is
            // no `Result`, rustc reports the projection once, over `ty`.
            let mut spans = inferable.clone().into_iter().map(|token| token.span());
            let first = spans.next().unwrap_or_else(Span::call_site);
            let last = spans.last().unwrap_or(first);
            let mut describe = respan(runtime.to_token_stream(), first);
            describe.extend(respan(quote!(::__private::Describe::<<), first));
            describe.extend(inferable);
            describe.extend(respan(quote!(as), last));
            describe.extend(respan(runtime.to_token_stream(), last));
            describe.extend(respan(
                quote!(::__private::TrackedResult>::Error>::NEW),
                last,
            ));
            quote!(#describe #via.allstak_check(#site, #value))
        }
        // `Result<impl Trait, E>`, whose projection cannot be normalized before the value is
        // known, or a `crate = ".."` path, which keeps its own span: the probe's type comes from
        // the value, and `describe_tracked`'s bound reports "not a `Result`".
        (Some(site), None) => {
            let tracked_value = local("__allstak_value");
            let describe = describe_tracked(runtime, &tracked_value, tracked.ty);
            quote!({
                let #tracked_value = #value;
                #describe #via.allstak_check(#site, #tracked_value)
            })
        }
        (None, _) => {
            quote!(<#inferable as #runtime::__private::TrackedResult>::allstak_check_status(#value))
        }
    }
}

/// `describe_tracked(&value)`, reported over all of `ty`: its first token starts the call and
/// its last ends it (`Span::join` is not stable), so when `ty` is no `Result` the one error
/// covers it, with `TrackedResult`'s `on_unimplemented` message.
fn describe_tracked(runtime: &RuntimePath, value: &Ident, ty: impl ToTokens) -> TokenStream {
    let mut spans = ty.into_token_stream().into_iter().map(|token| token.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    let last = spans.last().unwrap_or(first);
    // One hygiene context for every token, so rustc can join their spans into one range.
    let first = Span::mixed_site().located_at(first);
    let last = Span::mixed_site().located_at(last);
    let callee = Ident::new("describe_tracked", last);
    let mut call = if runtime.is_given() {
        // A `crate = ".."` path keeps its span: if it does not resolve, the error is there. The
        // call is spanned by its parentheses, so that the error is still one range over `ty`.
        let mut path = runtime.to_token_stream();
        path.extend(respan(quote!(::__private::), first));
        path.extend([TokenTree::Ident(callee)]);
        let mut parenthesized = Group::new(Delimiter::Parenthesis, path);
        parenthesized.set_span(first);
        TokenStream::from(TokenTree::Group(parenthesized))
    } else {
        let mut path = respan(quote!(#runtime::__private::), first);
        path.extend([TokenTree::Ident(callee)]);
        path
    };
    let mut reference = Punct::new('&', Spacing::Alone);
    reference.set_span(first);
    let value = Ident::new(&value.to_string(), last);
    let mut argument = Group::new(Delimiter::Parenthesis, quote!(#reference #value));
    argument.set_span(last);
    call.extend([TokenTree::Group(argument)]);
    call
}

/// `tokens` with every span replaced by `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut token => {
                token.set_span(span);
                token
            }
        })
        .collect()
}

/// One string literal, `module::name\nfile\nline\ncolumn`: the runtime's
/// `Location::TrackSite` reads it.
fn site(function: &Function, args: &TrackArgs) -> TokenStream {
    let ident = &function.sig.ident;
    let function_name = match &args.name {
        Some(name) => quote!(#name, "\n"),
        None => {
            let suffix = Literal::string(&format!("::{}\n", ident.unraw()));
            quote!(::core::module_path!(), #suffix)
        }
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let column = quote_spanned!(ident.span()=> ::core::column!());
    quote!(::core::concat!(#function_name, ::core::file!(), "\n", #line, "\n", #column))
}

pub(crate) fn generate(
    function: &Function,
    returns: &Returns<'_>,
    args: &TrackArgs,
    runtime: &RuntimePath,
) -> TokenStream {
    let Function { vis, sig, .. } = function;
    let attrs = function.outer_attrs();
    let report = args.report.as_ref().is_none_or(|report| report.value);
    let site = report.then(|| site(function, args));
    let site = site.as_ref();
    let via = if args.describe_display.is_some() {
        quote!(.allstak_display())
    } else {
        TokenStream::new()
    };

    let body = match &returns.shape {
        // The body builds the future when the fn is called, as before (in place, so that an
        // early `return` of a future is the one awaited); the wrapper awaits it.
        ReturnShape::Future(future) => {
            let future_local = local("__allstak_future");
            let build = call_body(function, returns, runtime);
            let awaited = quote!(#future_local.await);
            match future {
                ReturnedFuture::Impl { output } => {
                    let check = check(runtime, output, &awaited, site, &via);
                    quote! {
                        let #future_local = #build;
                        async move { #check }
                    }
                }
                // `Box::pin(async move { .. })` (an `#[async_trait]` method): the check goes in
                // that box, around the block awaited in place, not in a second box.
                ReturnedFuture::Boxed { output, .. }
                    if let Some(block) = function.boxed_async_block() =>
                {
                    let output_local = local("__allstak_output");
                    let check = check(runtime, output, &quote!(#output_local), site, &via);
                    let output = &output.inferable;
                    quote! {
                        ::std::boxed::Box::pin(async move {
                            let #output_local: #output = async move #block.await;
                            #check
                        })
                    }
                }
                ReturnedFuture::Boxed { ty, output } => {
                    let check = check(runtime, output, &awaited, site, &via);
                    quote! {
                        let #future_local: #ty = #build;
                        ::std::boxed::Box::pin(async move { #check })
                    }
                }
            }
        }
        ReturnShape::Value(tracked) => {
            let call = call_body(function, returns, runtime);
            check(runtime, tracked, &call, site, &via)
        }
        // Rejected by `validate`.
        ReturnShape::Default | ReturnShape::Unit(_) | ReturnShape::Never(_) => {
            call_body(function, returns, runtime)
        }
    };
    let body = function.outer_block(body);
    quote! {
        #attrs
        #vis #sig #body
    }
}
