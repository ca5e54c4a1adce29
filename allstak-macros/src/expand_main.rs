//! `#[allstak::main]`: start the session, run the body as before, end the session with the
//! status of what `main` returned. A panic unwinding out of `main` drops the session guard,
//! which ends it `crashed`; `std::process::exit` is handled by the runtime's exit hook.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitStr, ReturnType, Type};

use crate::args::{self, Errors, MainArgs};
use crate::expand_track::{call_body, local};
use crate::fallback::item_with_errors;
use crate::item::{Function, not_a_function};
use crate::validate;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut arg_errors = Errors::default();
    let args = args::parse_main(args, &mut arg_errors);
    let mut item_errors = Errors::default();
    let Ok(function) = Function::parse(item.clone()) else {
        item_errors.push(not_a_function(&item, "main", "`fn main`"));
        item_errors.push_all(arg_errors);
        return item_with_errors(item, item_errors);
    };
    validate::main(&function, &mut item_errors);
    if !item_errors.is_empty() {
        item_errors.push_all(arg_errors);
        if function.sig.ident == "main" {
            return main_as_written(function, item_errors);
        }
        return item_with_errors(item, item_errors);
    }
    let mut tokens = generate(&function, &args);
    tokens.extend(arg_errors.into_tokens());
    tokens
}

/// A `main` we cannot expand: kept (so its body is still checked and the crate still builds)
/// under another name, beside an empty `fn main`, so that only our error is reported, not
/// rustc's own complaints about the same signature.
fn main_as_written(mut function: Function, errors: Errors) -> TokenStream {
    function.sig.ident = syn::Ident::new("__allstak_main_as_written", function.sig.ident.span());
    function
        .attrs
        .retain(|attr| !validate::is_ours(attr, "main"));
    let Function { vis, sig, .. } = &function;
    let attrs = function.outer_attrs();
    let body = function.body_block();
    let mut tokens = quote! {
        #[allow(dead_code)]
        #attrs
        #vis #sig #body
        fn main() {}
    };
    tokens.extend(errors.into_tokens());
    tokens
}

fn some_str(value: Option<&LitStr>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

fn generate(function: &Function, args: &MainArgs) -> TokenStream {
    let rt = args::runtime_path(args.krate.as_ref());
    let Function { vis, sig, .. } = function;
    let attrs = function.outer_attrs();
    let release = some_str(args.release.as_ref());
    let environment = some_str(args.environment.as_ref());
    let host = some_str(args.host.as_ref());
    let exit_deadline_ms = match args
        .exit_deadline_ms
        .as_ref()
        .and_then(|ms| ms.base10_parse::<u64>().ok())
    {
        Some(ms) => quote!(::core::option::Option::Some(#ms)),
        None => quote!(::core::option::Option::None),
    };
    let end_on_signals = match &args.end_on_signals {
        Some(on) => quote!(::core::option::Option::Some(#on)),
        None => quote!(::core::option::Option::None),
    };
    let session = local("__allstak_session");
    let start = quote! {
        let #session = #rt::__private::main_start(#rt::__private::MainArgs {
            release: #release,
            environment: #environment,
            host: #host,
            exit_deadline_ms: #exit_deadline_ms,
            end_on_signals: #end_on_signals,
            crate_release: ::core::concat!(::core::env!("CARGO_PKG_NAME"), "@", ::core::env!("CARGO_PKG_VERSION")),
            cfg_test: ::core::cfg!(test),
        });
    };

    if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) {
        // Never returns: the guard ends the session if a panic unwinds, the exit hook otherwise.
        let body = function.body_block();
        return quote! {
            #attrs
            #vis #sig {
                #start
                #body
            }
        };
    }

    let value = local("__allstak_value");
    let error = local("__allstak_error");
    let status = local("__allstak_status");
    let returned = local("__allstak_returned");
    let call = call_body(function, &rt);
    quote! {
        #attrs
        #vis #sig {
            #start
            let #value = #call;
            {
                let #returned = #rt::__private::ReturnValue::new(&#value);
                let #error = #rt::__private::Describe::new(#returned.allstak_error()).allstak_describe();
                let #status = #returned.allstak_main_status();
                #session.end(#rt::__private::MainOutcome::new(#status, #error));
            }
            #value
        }
    }
}
