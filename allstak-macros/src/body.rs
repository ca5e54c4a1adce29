//! The body inside the generated fn, run in place with the fn's return type as its expected
//! type: a sync body as a closure called once, an async body as an `async move` block awaited.
//! Both attributes call it here.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, ReturnType, Type};

use crate::args::RuntimePath;
use crate::item::Function;

/// The return type as a closure or turbofish may name it: each `impl Trait` becomes `_`.
pub(crate) fn inferable_return_type(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => inferable_type(ty).0,
    }
}

/// `ty` as a closure or turbofish may name it: each `impl Trait` becomes `_`; and whether there
/// was one.
pub(crate) fn inferable_type(ty: &Type) -> (TokenStream, bool) {
    let mut ty = ty.clone();
    let replaced = impl_to_infer(&mut ty);
    (quote!(#ty), replaced)
}

/// Replaces each `impl Trait` in `ty` with `_`, wherever a return type may hold one (generic
/// arguments, tuples, references, pointers, arrays, slices, groups); whether there was one.
fn impl_to_infer(ty: &mut Type) -> bool {
    match ty {
        Type::ImplTrait(impl_trait) => {
            let underscore_token = syn::token::Underscore(impl_trait.impl_token.span);
            *ty = Type::Infer(syn::TypeInfer {
                attrs: Vec::new(),
                underscore_token,
            });
            true
        }
        Type::Array(syn::TypeArray { elem, .. })
        | Type::Group(syn::TypeGroup { elem, .. })
        | Type::Paren(syn::TypeParen { elem, .. })
        | Type::Ptr(syn::TypePtr { elem, .. })
        | Type::Reference(syn::TypeReference { elem, .. })
        | Type::Slice(syn::TypeSlice { elem, .. }) => impl_to_infer(elem),
        Type::Tuple(tuple) => tuple
            .elems
            .iter_mut()
            .fold(false, |replaced, elem| impl_to_infer(elem) | replaced),
        Type::Path(path) => {
            let qself = path
                .qself
                .as_mut()
                .is_some_and(|qself| impl_to_infer(&mut qself.ty));
            in_path(&mut path.path) | qself
        }
        Type::TraitObject(object) => object.bounds.iter_mut().fold(false, |replaced, bound| {
            let here = match bound {
                syn::TypeParamBound::Trait(bound) => in_path(&mut bound.path),
                _ => false,
            };
            here | replaced
        }),
        _ => false,
    }
}

/// [`impl_to_infer`] over the type arguments of each segment of `path`.
fn in_path(path: &mut syn::Path) -> bool {
    let mut replaced = false;
    for segment in &mut path.segments {
        match &mut segment.arguments {
            syn::PathArguments::AngleBracketed(args) => {
                for arg in &mut args.args {
                    replaced |= match arg {
                        syn::GenericArgument::Type(ty) => impl_to_infer(ty),
                        syn::GenericArgument::AssocType(assoc) => impl_to_infer(&mut assoc.ty),
                        _ => false,
                    };
                }
            }
            // `Fn(A) -> B`.
            syn::PathArguments::Parenthesized(args) => {
                for input in &mut args.inputs {
                    replaced |= impl_to_infer(&mut input.ty);
                }
                if let ReturnType::Type(_, output) = &mut args.output {
                    replaced |= impl_to_infer(output);
                }
            }
            syn::PathArguments::None => {}
        }
    }
    replaced
}

/// A generated local: invisible to the user's code, and theirs to ours.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The body, called in place with the fn's return type as its expected type, so `?`,
/// `return` and coercions in the tail mean what they meant in the fn.
pub(crate) fn call_body(function: &Function, runtime: &RuntimePath) -> TokenStream {
    let ret = inferable_return_type(&function.sig.output);
    if function.sig.asyncness.is_some() {
        // An async block has no declared output type and its tail is no coercion site until
        // one is known: a first `return` of the type (never taken) fixes it before the body
        // is checked, as in an `async fn`.
        let out = local("__allstak_out");
        let body = function.body_block_with(quote! {
            if let ::core::option::Option::Some(#out) = ::core::option::Option::None::<#ret> {
                #[allow(unreachable_code)]
                return #out;
            }
        });
        quote!(async move #body.await)
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

#[cfg(test)]
mod tests {
    use super::inferable_type;

    fn inferable(ty: &str) -> (String, bool) {
        let ty: syn::Type = syn::parse_str(ty).unwrap();
        let (tokens, replaced) = inferable_type(&ty);
        (tokens.to_string(), replaced)
    }

    #[test]
    fn each_impl_trait_becomes_an_underscore_wherever_it_sits() {
        let cases = [
            ("Result<impl Iterator<Item = u8>, E>", "Result < _ , E >"),
            (
                "Result<(impl Display, Vec<impl Debug>), E>",
                "Result < (_ , Vec < _ >) , E >",
            ),
            ("Result<&'a mut impl Write, E>", "Result < & 'a mut _ , E >"),
            ("Result<[impl Copy; 2], E>", "Result < [_ ; 2] , E >"),
            ("Result<Box<[impl Copy]>, E>", "Result < Box < [_] > , E >"),
            (
                "Pin<Box<dyn Future<Output = impl Sized>>>",
                "Pin < Box < dyn Future < Output = _ > > >",
            ),
            ("<impl Tr as Tr>::Out", "< _ as Tr > :: Out"),
            (
                "Result<Box<dyn Fn() -> impl Sized>, E>",
                "Result < Box < dyn Fn () -> _ > , E >",
            ),
        ];
        for (ty, expected) in cases {
            assert_eq!(inferable(ty), (expected.to_owned(), true), "{ty}");
        }
    }

    #[test]
    fn a_type_without_impl_trait_is_kept_as_it_is() {
        for ty in [
            "io::Result<u8>",
            "Result<Box<dyn Fn() -> u8>, E>",
            "Result<(), E>",
        ] {
            let (tokens, replaced) = inferable(ty);
            assert!(!replaced, "{ty}");
            assert_eq!(
                tokens,
                syn::parse_str::<syn::Type>(ty)
                    .map(|t| quote::quote!(#t).to_string())
                    .unwrap()
            );
        }
    }
}
