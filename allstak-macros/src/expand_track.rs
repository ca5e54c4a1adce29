//! `#[allstak::track]`: the body runs as before (a closure forced to `FnOnce`, or an `async`
//! block, typed with the fn's return type); an `Err` takes one branch into a cold path.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{Ident, ReturnType, Type};

use crate::args::{self, Errors, TrackArgs};
use crate::fallback::item_with_errors;
use crate::item::Function;
use crate::validate;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut arg_errors = Errors::default();
    let args = args::parse_track(args, &mut arg_errors);
    let mut item_errors = Errors::default();
    let Ok(function) = syn::parse2::<Function>(item.clone()) else {
        item_errors.at(
            first_span(&item),
            "`#[allstak::track]` goes on a function with a body (`fn … -> Result<…> { … }`)",
        );
        return item_with_errors(item, item_errors);
    };
    validate::track(&function, &mut item_errors);
    if !item_errors.is_empty() {
        item_errors.push_all(arg_errors);
        return item_with_errors(item, item_errors);
    }
    let mut tokens = generate(&function, &args);
    tokens.extend(arg_errors.into_tokens());
    tokens
}

pub(crate) fn first_span(item: &TokenStream) -> Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}

/// The return type as a closure or turbofish may name it: each `impl Trait` becomes `_`.
pub(crate) fn inferable_return_type(output: &ReturnType) -> TokenStream {
    struct ImplToInfer;
    impl VisitMut for ImplToInfer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                let underscore = syn::token::Underscore(impl_trait.impl_token.span);
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: underscore,
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            ImplToInfer.visit_type_mut(&mut ty);
            quote!(#ty)
        }
    }
}

/// A generated local: invisible to the user's code, and theirs to ours.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The body, called in place with the fn's return type as its expected type.
pub(crate) fn call_body(function: &Function, rt: &TokenStream) -> TokenStream {
    let ret = inferable_return_type(&function.sig.output);
    let body = function.body_block();
    if function.sig.asyncness.is_some() {
        quote!(#rt::__private::typed_future::<#ret, _>(async move #body).await)
    } else {
        quote!(#rt::__private::call_once::<#ret, _>(move || #body))
    }
}

pub(crate) const DESCRIBE_TRAITS: &str = "DescribeError DescribeSendSyncDynError DescribeDynError \
                                          DescribeDisplay DescribeDebug DescribeAny";

pub(crate) fn describe_imports(rt: &TokenStream) -> TokenStream {
    let traits = DESCRIBE_TRAITS
        .split_whitespace()
        .map(|name| Ident::new(name, Span::call_site()));
    quote!(#[allow(unused_imports)] use #rt::__private::{#(#traits as _),*};)
}

/// `Pin<Box<dyn Future<Output = X> + …>>`, the shape `#[async_trait]` (which always expands
/// before us, from the `impl`) gives an `async fn`: returns `X`.
fn boxed_future_output(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let boxed = first_type_argument(ty, "Pin")?;
    let Type::TraitObject(object) = first_type_argument(boxed, "Box")? else {
        return None;
    };
    object.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let future = bound.path.segments.last().filter(|s| s.ident == "Future")?;
        let syn::PathArguments::AngleBracketed(args) = &future.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// `T` in `…::Name<T>`.
fn first_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last().filter(|s| s.ident == name)?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

fn generate(function: &Function, args: &TrackArgs) -> TokenStream {
    let rt = args::runtime_path(args.krate.as_ref());
    let Function { vis, sig, .. } = function;
    let attrs = function.outer_attrs();
    let boxed_output = boxed_future_output(&sig.output).filter(|_| sig.asyncness.is_none());
    let call = match boxed_output {
        Some(output) => {
            let output = inferable_return_type(&ReturnType::Type(
                Default::default(),
                Box::new(output.clone()),
            ));
            let body = function.body_block();
            quote!(#rt::__private::typed_future::<#output, _>(#body).await)
        }
        None => call_body(function, &rt),
    };
    let ident = &sig.ident;
    let ret_span = match (&sig.output, boxed_output) {
        (_, Some(output)) => output.span(),
        (ReturnType::Type(_, ty), None) => ty.span(),
        (ReturnType::Default, None) => ident.span(),
    };
    let ret = local("__allstak_ret");
    // Located at the return type, so "not a `Result`" points there.
    let ret_at_type = Ident::new("__allstak_ret", Span::mixed_site().located_at(ret_span));
    let err = local("__allstak_err");
    let assert_result = quote_spanned!(ret_span=> #rt::__private::assert_result(&#ret_at_type););

    let report = args.report.as_ref().is_none_or(|report| report.value);
    let record = if report {
        let function_name = match &args.name {
            Some(name) => quote!(#name),
            None => quote!(::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#ident)
            )),
        };
        let line = quote_spanned!(ident.span()=> ::core::line!());
        let column = quote_spanned!(ident.span()=> ::core::column!());
        let imports = describe_imports(&rt);
        quote! {
            #imports
            #rt::__private::record_tracked_error(
                {
                    static __ALLSTAK_SITE: #rt::__private::TrackSite = #rt::__private::TrackSite {
                        function: #function_name,
                        file: ::core::file!(),
                        line: #line,
                        column: #column,
                    };
                    &__ALLSTAK_SITE
                },
                (&&&&&&#rt::__private::Describe(#err)).allstak_describe(),
            );
        }
    } else {
        quote!(let _ = #err; #rt::__private::record_tracked_status();)
    };

    let instrumented = quote! {
        let #ret = #call;
        #assert_result
        #[allow(unused_imports)]
        use #rt::__private::{ReturnValueOther as _, ReturnValueResult as _};
        if let ::core::option::Option::Some(#err) = (&&#rt::__private::ReturnValue(&#ret)).allstak_error() {
            if #rt::__private::session_active() {
                #record
            }
        }
        #ret
    };
    let body = if boxed_output.is_some() {
        quote!(::std::boxed::Box::pin(async move { #instrumented }))
    } else {
        instrumented
    };
    quote! {
        #attrs
        #vis #sig {
            #body
        }
    }
}
