//! Every misuse of an attribute, collected: one error each, at the offending tokens, saying
//! what to write instead.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser as _};
use syn::{Attribute, Visibility};

use crate::args::{Kind, RuntimePath};
use crate::errors::Errors;
use crate::item::{Body, Function};
use crate::signature::{ReturnShape, Returns};

/// An async runtime's entry attribute below ours: `#[tokio::main]`, `#[async_std::main]`…
fn runtime_attribute<'a>(function: &'a Function, runtime: &RuntimePath) -> Option<&'a Attribute> {
    function.attrs.iter().find(|attr| {
        let segments = &attr.path().segments;
        segments.len() >= 2
            && segments.last().is_some_and(|s| s.ident == "main")
            && !runtime.is_ours(attr, Kind::Main)
    })
}

/// Every misuse of the `kind` attribute on `function`, or `Ok` if it can expand.
pub(crate) fn function(
    kind: Kind,
    runtime: &RuntimePath,
    function: &Function,
    returns: &Returns<'_>,
) -> Result<(), Errors> {
    let mut errors = Errors::default();
    match kind {
        Kind::Main => main(function, runtime, &mut errors),
        Kind::Track => track(function, returns, runtime, &mut errors),
    }
    errors.check()
}

fn track(function: &Function, returns: &Returns<'_>, runtime: &RuntimePath, errors: &mut Errors) {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.at(
            constness.span,
            "`#[allstak::track]` cannot go on a `const fn`: recording an error is not possible \
             at compile time; remove `const` or the attribute",
        );
    }
    if let Body::Missing(semi) = &function.body {
        errors.at(
            semi.span,
            "`#[allstak::track]` needs a function body; put it on the method in each `impl` instead",
        );
    }
    match &returns.shape {
        ReturnShape::Default => errors.at(
            sig.ident.span(),
            format!(
                "`#[allstak::track]` records the `Err` a function returns, and `{}` returns `()`; \
                 return a `Result` or remove the attribute",
                sig.ident
            ),
        ),
        ReturnShape::Unit(tuple) => errors.spanned(
            tuple,
            "`#[allstak::track]` records the `Err` a function returns, and this one returns \
             `()`; return a `Result` or remove the attribute",
        ),
        ReturnShape::Never(never) => errors.at(
            never.bang_token.span,
            "`#[allstak::track]` records the `Err` a function returns, and this one never \
             returns; remove the attribute",
        ),
        ReturnShape::Future(_) | ReturnShape::Value(_) => {}
    }
    for attr in &function.attrs {
        if names_track_caller(attr) {
            errors.spanned(
                attr,
                "`#[allstak::track]` cannot be combined with `#[track_caller]`: the wrapper would \
                 move the location callers see; keep one of them",
            );
        }
        if runtime.is_ours(attr, Kind::Track) {
            errors.spanned(
                attr,
                "`#[allstak::track]` is used twice on this function; keep one",
            );
        }
    }
}

fn main(function: &Function, runtime: &RuntimePath, errors: &mut Errors) {
    let sig = &function.sig;
    if sig.ident != "main" {
        errors.at(
            sig.ident.span(),
            format!(
                "`#[allstak::main]` goes on `fn main`, not on `{}`; for other functions use \
                 `#[allstak::track]`",
                sig.ident
            ),
        );
    }
    if !sig.inputs.is_empty() {
        errors.spanned(
            &sig.inputs,
            "`fn main` takes no arguments; read them with `std::env::args()`",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "`fn main` cannot be generic; remove the generics",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        // The generics print no `where` clause: point at the clause itself.
        errors.spanned(
            where_clause,
            "`fn main` cannot have a `where` clause; remove it",
        );
    }
    if let Some(asyncness) = &sig.asyncness
        && runtime_attribute(function, runtime).is_none()
    {
        errors.at(
            asyncness.span,
            "`async fn main` needs a runtime: put `#[tokio::main]` (or your runtime's attribute) \
             below `#[allstak::main]`",
        );
    }
    if let Body::Missing(semi) = &function.body {
        errors.at(semi.span, "`fn main` needs a body");
    }
    for attr in &function.attrs {
        if runtime.is_ours(attr, Kind::Main) {
            errors.spanned(
                attr,
                "`#[allstak::main]` is used twice on `fn main`; keep one",
            );
        }
    }
}

/// `#[track_caller]`, or `#[cfg_attr(.., track_caller)]` (nested too): it is there in some
/// builds.
fn names_track_caller(attr: &Attribute) -> bool {
    attr.path().is_ident("track_caller")
        || attr.path().is_ident("cfg_attr")
            && matches!(&attr.meta, syn::Meta::List(list) if cfg_attr_gives_track_caller(&list.tokens))
}

/// Whether the attributes a `cfg_attr(predicate, attr, …)` gives, after its predicate, include
/// `track_caller`.
fn cfg_attr_gives_track_caller(tokens: &TokenStream) -> bool {
    let mut parts = vec![Vec::new()];
    for token in tokens.clone() {
        match token {
            TokenTree::Punct(comma) if comma.as_char() == ',' => parts.push(Vec::new()),
            token => {
                if let Some(part) = parts.last_mut() {
                    part.push(token);
                }
            }
        }
    }
    parts.iter().skip(1).any(|part| match part.as_slice() {
        [TokenTree::Ident(name)] => name == "track_caller",
        [TokenTree::Ident(name), TokenTree::Group(inner)] if name == "cfg_attr" => {
            cfg_attr_gives_track_caller(&inner.stream())
        }
        _ => false,
    })
}

/// The error for an attribute on something that is not a `fn`, at the item's keyword (or, on
/// a `fn` that cannot be read, where it could not be).
pub(crate) fn not_a_function(kind: Kind, item: &TokenStream, error: syn::Error) -> Errors {
    let keyword = (|input: ParseStream<'_>| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let rest: TokenStream = input.parse()?;
        let mut words = rest.into_iter();
        // `unsafe impl`, `unsafe trait`: named by what they are.
        Ok(match words.next() {
            Some(TokenTree::Ident(ident)) if ident == "unsafe" => {
                words.next().or(Some(TokenTree::Ident(ident)))
            }
            first => first,
        })
    })
    .parse2(item.clone())
    .ok()
    .flatten();
    // A function all the same (`fn` among its words, not inside a block), which cannot be read
    // (rustc says why, on the item kept): where.
    let is_fn = item
        .clone()
        .into_iter()
        .any(|token| matches!(token, TokenTree::Ident(ident) if ident == "fn"));
    if is_fn {
        let mut errors = Errors::default();
        errors.at(
            error.span(),
            format!(
                "`#[allstak::{}]` cannot read this function from here on",
                kind.name()
            ),
        );
        return errors;
    }
    let (span, what) = match &keyword {
        Some(TokenTree::Ident(ident)) => (ident.span(), format!("this `{ident}`")),
        Some(token) => (token.span(), "this item".to_owned()),
        None => (Span::call_site(), "this item".to_owned()),
    };
    let hint = if matches!(&keyword, Some(TokenTree::Ident(i)) if i == "impl" || i == "trait") {
        "; put it on the methods inside"
    } else {
        ""
    };
    let expected = match kind {
        Kind::Main => "`fn main`",
        Kind::Track => "a function that returns a `Result`",
    };
    let mut errors = Errors::default();
    errors.at(
        span,
        format!(
            "`#[allstak::{}]` goes on {expected}, not on {what}{hint}",
            kind.name()
        ),
    );
    errors
}
