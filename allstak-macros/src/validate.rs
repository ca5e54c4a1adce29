//! Every misuse of an attribute, collected: one error each, at the offending tokens, saying
//! what to write instead.

use syn::{Attribute, ReturnType, Type};

use crate::args::Errors;
use crate::item::{Body, Function};

/// Whether `attr` is one of ours: `#[allstak::<name>]` or `#[<crate>::<name>]`.
pub(crate) fn is_ours(attr: &Attribute, name: &str) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.len() >= 2
        && segments.last().is_some_and(|last| last == name)
        && segments[0] == "allstak"
}

/// An async runtime's entry attribute below ours: `#[tokio::main]`, `#[async_std::main]`…
pub(crate) fn runtime_attribute(function: &Function) -> Option<&Attribute> {
    function.attrs.iter().find(|attr| {
        let segments = &attr.path().segments;
        segments.len() >= 2
            && segments.last().is_some_and(|s| s.ident == "main")
            && !is_ours(attr, "main")
    })
}

pub(crate) fn track(function: &Function, errors: &mut Errors) {
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
    match &sig.output {
        ReturnType::Default => errors.at(
            sig.ident.span(),
            format!(
                "`#[allstak::track]` records the `Err` a function returns, and `{}` returns `()`; \
                 return a `Result` or remove the attribute",
                sig.ident
            ),
        ),
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => errors.spanned(
                tuple,
                "`#[allstak::track]` records the `Err` a function returns, and this one returns \
                 `()`; return a `Result` or remove the attribute",
            ),
            Type::Never(never) => errors.at(
                never.bang_token.span,
                "`#[allstak::track]` records the `Err` a function returns, and this one never \
                 returns; remove the attribute",
            ),
            _ => {}
        },
    }
    for attr in &function.attrs {
        if attr.path().is_ident("track_caller") {
            errors.spanned(
                attr,
                "`#[allstak::track]` cannot be combined with `#[track_caller]`: the wrapper would \
                 move the location callers see; keep one of them",
            );
        }
        if is_ours(attr, "track") {
            errors.spanned(
                attr,
                "`#[allstak::track]` is used twice on this function; keep one",
            );
        }
    }
}

pub(crate) fn main(function: &Function, errors: &mut Errors) {
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
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            "`fn main` cannot be generic; remove the generics",
        );
    }
    if let Some(asyncness) = &sig.asyncness
        && runtime_attribute(function).is_none()
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
        if is_ours(attr, "main") {
            errors.spanned(
                attr,
                "`#[allstak::main]` is used twice on `fn main`; keep one",
            );
        }
    }
}
