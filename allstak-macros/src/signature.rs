//! What the annotated fn returns, read once from its signature: the one place the return type
//! is inspected. `validate` rejects the shapes an attribute cannot take, `body` names the type
//! the body must produce, and the `expand_*` files generate code for the shape they are given.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{
    GenericArgument, PathArguments, ReturnType, Signature, Token, Type, TypeNever, TypeParamBound,
    TypeTuple,
};

/// What a fn returns, as the attributes care about it.
pub(crate) struct Returns<'a> {
    /// The return type as a closure or turbofish may name it: each `impl Trait` an `_`, and
    /// `()` when there is no `->`.
    pub(crate) inferable: TokenStream,
    pub(crate) shape: ReturnShape<'a>,
}

/// The return type by what the attributes do with it.
pub(crate) enum ReturnShape<'a> {
    /// No `->`.
    Default,
    /// `-> ()`.
    Unit(&'a TypeTuple),
    /// `-> !`.
    Never(&'a TypeNever),
    /// A sync fn that returns a future by hand: its future's output is what is tracked.
    Future(ReturnedFuture<'a>),
    /// Any other type: a `Result`, an alias of one, or a type `TrackedResult` then rejects.
    Value(Tracked<'a>),
}

/// A fn returning a future by hand: what its future resolves to, and how it is returned.
pub(crate) enum ReturnedFuture<'a> {
    /// `impl Future<Output = T> (+ Send …)`.
    Impl { output: Tracked<'a> },
    /// `Pin<Box<dyn Future<Output = T> (+ Send …)>>`, the shape `#[async_trait]` (which always
    /// expands before us, from the `impl`) gives an `async fn`.
    Boxed { ty: &'a Type, output: Tracked<'a> },
}

/// A type whose `Err` `#[allstak::track]` records: the fn's return type, or its future's output.
pub(crate) struct Tracked<'a> {
    pub(crate) ty: &'a Type,
    /// `ty` as a closure or turbofish may name it: each `impl Trait` an `_`.
    pub(crate) inferable: TokenStream,
    /// Whether `ty` holds an `impl Trait` (then its error type cannot be named before the value
    /// is known).
    pub(crate) has_impl_trait: bool,
    /// `E` in `ty` written `Result<T, E>`, and the span of `Result`.
    pub(crate) written_error: Option<(&'a Type, Span)>,
}

impl<'a> Returns<'a> {
    pub(crate) fn of(sig: &'a Signature) -> Self {
        let ReturnType::Type(_, ty) = &sig.output else {
            return Self {
                inferable: quote!(()),
                shape: ReturnShape::Default,
            };
        };
        let shape = match &**ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => ReturnShape::Unit(tuple),
            Type::Never(never) => ReturnShape::Never(never),
            _ => match returned_future(sig, ty) {
                Some(future) => ReturnShape::Future(future),
                None => ReturnShape::Value(Tracked::new(ty)),
            },
        };
        let inferable = match &shape {
            ReturnShape::Value(tracked) => tracked.inferable.clone(),
            _ => inferable_type(ty).0,
        };
        Self { inferable, shape }
    }
}

impl<'a> Tracked<'a> {
    fn new(ty: &'a Type) -> Self {
        let (inferable, has_impl_trait) = inferable_type(ty);
        Self {
            ty,
            inferable,
            has_impl_trait,
            written_error: written_error(ty),
        }
    }
}

fn returned_future<'a>(sig: &Signature, ty: &'a Type) -> Option<ReturnedFuture<'a>> {
    if sig.asyncness.is_some() {
        return None;
    }
    if let Type::ImplTrait(impl_trait) = ty {
        let output = future_output(&impl_trait.bounds)?;
        return Some(ReturnedFuture::Impl {
            output: Tracked::new(output),
        });
    }
    let output =
        match single_type_argument(ty, "Pin").and_then(|pin| single_type_argument(pin, "Box")) {
            Some(Type::TraitObject(object)) => future_output(&object.bounds)?,
            Some(_) => return None,
            None => box_future_output(ty)?,
        };
    Some(ReturnedFuture::Boxed {
        ty,
        output: Tracked::new(output),
    })
}

/// `T` in `…::BoxFuture<'a, T>` or `…::LocalBoxFuture<'a, T>`: the `futures` crate's names for
/// `Pin<Box<dyn Future<Output = T> (+ Send) + 'a>>`.
fn box_future_output(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path
        .path
        .segments
        .last()
        .filter(|s| s.ident == "BoxFuture" || s.ident == "LocalBoxFuture")?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (path.qself.as_ref(), args.args.first(), args.args.last()) {
        (None, Some(GenericArgument::Lifetime(_)), Some(GenericArgument::Type(output)))
            if args.args.len() == 2 =>
        {
            Some(output)
        }
        _ => None,
    }
}

/// `T` in bounds `Future<Output = T> + …` where every other bound is `Send`, `Sync` or a
/// lifetime: the `async` block that wraps the future keeps those, not e.g. `Unpin`.
fn future_output(bounds: &Punctuated<TypeParamBound, Token![+]>) -> Option<&Type> {
    let mut output = None;
    for bound in bounds {
        match bound {
            TypeParamBound::Trait(bound) => {
                let segment = bound.path.segments.last()?;
                if segment.ident == "Future" {
                    let PathArguments::AngleBracketed(args) = &segment.arguments else {
                        return None;
                    };
                    output = args.args.iter().find_map(|arg| match arg {
                        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                            Some(&assoc.ty)
                        }
                        _ => None,
                    });
                } else if segment.ident != "Send" && segment.ident != "Sync" {
                    return None;
                }
            }
            TypeParamBound::Lifetime(_) | TypeParamBound::PreciseCapture(_) => {}
            _ => return None,
        }
    }
    output
}

/// `T` in `…::Name<T>`.
fn single_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last().filter(|s| s.ident == name)?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (args.args.len(), args.args.first()) {
        (1, Some(GenericArgument::Type(ty))) => Some(ty),
        _ => None,
    }
}

/// `E` in a return type written `Result<T, E>` (or `std::result::Result<T, E>`, `core`'s), and
/// the span of `Result`. Another crate's `Result` with two arguments may not take its error
/// second (`error_stack::Result<T, C>` is `Result<T, Report<C>>`): its error is read through
/// the type, as for an alias of one argument.
fn written_error(ty: &Type) -> Option<(&Type, Span)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let names: Vec<&syn::Ident> = path.path.segments.iter().map(|s| &s.ident).collect();
    let core_result = match names.as_slice() {
        [name] => *name == "Result",
        [krate, module, name] => {
            (*krate == "std" || *krate == "core") && *module == "result" && *name == "Result"
        }
        _ => false,
    };
    if !core_result {
        return None;
    }
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    // Two type arguments: `Result<T, E>`, or an alias with a default for `E` given both. (An
    // alias whose arguments are a lifetime and a type, `Result<'a, T>`, names no `E`.)
    match (path.qself.as_ref(), args.args.first(), args.args.last()) {
        (None, Some(GenericArgument::Type(_)), Some(GenericArgument::Type(error)))
            if args.args.len() == 2 =>
        {
            Some((error, last.ident.span()))
        }
        _ => None,
    }
}

/// `ty` as a closure or turbofish may name it: each `impl Trait` becomes `_`; and whether there
/// was one.
fn inferable_type(ty: &Type) -> (TokenStream, bool) {
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

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    use super::*;

    fn inferable(ty: &str) -> (String, bool) {
        let ty: Type = syn::parse_str(ty).unwrap();
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
                syn::parse_str::<Type>(ty)
                    .map(|t| t.to_token_stream().to_string())
                    .unwrap()
            );
        }
    }

    #[test]
    fn the_error_type_is_read_from_a_written_two_type_result_only() {
        let error_of = |ty: &str| {
            let ty: Type = syn::parse_str(ty).expect("a type");
            written_error(&ty).map(|(error, _)| error.to_token_stream().to_string())
        };
        assert_eq!(
            error_of("Result<u8, io::Error>").as_deref(),
            Some("io :: Error")
        );
        assert_eq!(
            error_of("std::result::Result<(), Box<dyn Error>>").as_deref(),
            Some("Box < dyn Error >")
        );
        assert_eq!(
            error_of("::core::result::Result<(), E>").as_deref(),
            Some("E")
        );
        for ty in [
            "io::Result<u8>",
            "Result<'a, u8>",
            "Result<u8, E, X>",
            "<S as Tr>::Result<u8, E>",
            "error_stack::Result<u8, C>",
            "crate::Result<u8, E>",
            "Option<Result<u8, E>>",
            "u8",
        ] {
            assert_eq!(error_of(ty), None, "{ty}");
        }
    }

    /// The shape of `sig`'s return: `default`, `unit`, `never`, `impl <output>`,
    /// `boxed <output>` or `value <type>`.
    fn shape_of(sig: &str) -> String {
        let sig: Signature = syn::parse_str(sig).expect("a signature");
        match Returns::of(&sig).shape {
            ReturnShape::Default => "default".to_owned(),
            ReturnShape::Unit(_) => "unit".to_owned(),
            ReturnShape::Never(_) => "never".to_owned(),
            ReturnShape::Future(ReturnedFuture::Impl { output }) => {
                format!("impl {}", output.ty.to_token_stream())
            }
            ReturnShape::Future(ReturnedFuture::Boxed { output, .. }) => {
                format!("boxed {}", output.ty.to_token_stream())
            }
            ReturnShape::Value(tracked) => format!("value {}", tracked.ty.to_token_stream()),
        }
    }

    #[test]
    fn a_future_returned_by_hand_has_its_output_tracked() {
        assert_eq!(
            shape_of("fn f() -> impl Future<Output = Result<u8, E>> + Send + 'static"),
            "impl Result < u8 , E >"
        );
        assert_eq!(
            shape_of(
                "fn f<'a>(&'a self) -> ::core::pin::Pin<\
                 Box<dyn ::core::future::Future<Output = io::Result<()>> + Send + 'a>>"
            ),
            "boxed io :: Result < () >"
        );
        assert_eq!(
            shape_of("fn f<'a>(&'a self) -> futures::future::BoxFuture<'a, Result<u8, E>>"),
            "boxed Result < u8 , E >"
        );
        assert_eq!(
            shape_of("fn f() -> LocalBoxFuture<'static, Result<u8, E>>"),
            "boxed Result < u8 , E >"
        );
        // Not the `futures` crate's shape: tracked as it is.
        assert_eq!(
            shape_of("fn f() -> BoxFuture<Result<u8, E>>"),
            "value BoxFuture < Result < u8 , E > >"
        );
    }

    #[test]
    fn other_returns_are_tracked_as_they_are() {
        assert_eq!(
            shape_of("fn f() -> Result<u8, E>"),
            "value Result < u8 , E >"
        );
        assert_eq!(
            shape_of("async fn f() -> Pin<Box<dyn Future<Output = u8>>>"),
            "value Pin < Box < dyn Future < Output = u8 > > >"
        );
        // A wrapping `async` block is not `Unpin`: such a future is left alone.
        assert_eq!(
            shape_of("fn f() -> impl Future<Output = Result<u8, E>> + Unpin"),
            "value impl Future < Output = Result < u8 , E > > + Unpin"
        );
        assert_eq!(
            shape_of("fn f() -> Box<dyn Future<Output = Result<u8, E>>>"),
            "value Box < dyn Future < Output = Result < u8 , E > > >"
        );
    }

    #[test]
    fn no_return_unit_and_never_are_shapes_of_their_own() {
        assert_eq!(shape_of("fn f()"), "default");
        assert_eq!(shape_of("fn f() -> ()"), "unit");
        assert_eq!(shape_of("fn f() -> !"), "never");
        // Only the type as written: `(())` is some other type, left to `TrackedResult`.
        assert_eq!(shape_of("fn f() -> (())"), "value (())");
    }
}
