//! `#[allstak::main]`: start the session, run the body as before, end the session with the
//! status of what `main` returned. A panic unwinding out of `main` drops the session guard,
//! which ends it `crashed`; `std::process::exit` is handled by the runtime's exit hook.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::args::{MainArgs, RuntimePath};
use crate::body::{call_body, local};
use crate::item::Function;
use crate::signature::{ReturnShape, Returns};

fn some_str(value: Option<&LitStr>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

pub(crate) fn generate(
    function: &Function,
    returns: &Returns<'_>,
    args: &MainArgs,
    runtime: &RuntimePath,
) -> TokenStream {
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
    let some_bool = |flag: Option<&syn::LitBool>| match flag {
        Some(on) => quote!(::core::option::Option::Some(#on)),
        None => quote!(::core::option::Option::None),
    };
    let end_on_signals = some_bool(args.end_on_signals.as_ref());
    let attach_stacktrace = some_bool(args.attach_stacktrace.as_ref());
    let sample_rate = match args.sample_rate {
        Some(rate) => quote!(::core::option::Option::Some(#rate)),
        None => quote!(::core::option::Option::None),
    };
    let user_id = some_str(args.user_id.as_ref());
    let some_list = |paths: Option<&Vec<LitStr>>| match paths {
        Some(paths) => quote!(::core::option::Option::Some(&[#(#paths),*])),
        None => quote!(::core::option::Option::None),
    };
    let in_app_include = some_list(args.in_app_include.as_ref());
    let in_app_exclude = some_list(args.in_app_exclude.as_ref());
    let session = local("__allstak_session");
    let start = quote! {
        let #session = #runtime::__private::main_start(#runtime::__private::MainArgs {
            release: #release,
            environment: #environment,
            host: #host,
            exit_deadline_ms: #exit_deadline_ms,
            end_on_signals: #end_on_signals,
            attach_stacktrace: #attach_stacktrace,
            sample_rate: #sample_rate,
            user_id: #user_id,
            in_app_include: #in_app_include,
            in_app_exclude: #in_app_exclude,
            module_path: ::core::module_path!(),
            package_name: ::core::option_env!("CARGO_PKG_NAME"),
            package_version: ::core::option_env!("CARGO_PKG_VERSION"),
            cfg_test: ::core::cfg!(test),
            cfg_debug_assertions: ::core::cfg!(debug_assertions),
        });
    };

    if let ReturnShape::Never(_) = returns.shape {
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
    let ok = local("__allstak_ok");
    let call = call_body(function, returns, runtime);
    quote! {
        #attrs
        #vis #sig {
            #start
            let #value = #call;
            {
                let #returned = #runtime::__private::ReturnValue::new(&#value);
                let #error = #returned.allstak_error();
                let #error = #runtime::__private::Describe::of(#error).allstak_describe(#error);
                // `Ok(ExitCode::FAILURE)` fails too: the `Ok` value is probed here as well, where
                // its type is concrete.
                let #status = #returned.allstak_main_status().or_else(|| {
                    #returned
                        .allstak_ok()
                        .and_then(|#ok| #runtime::__private::ReturnValue::new(#ok).allstak_main_status())
                });
                #session.end(#runtime::__private::MainOutcome::new(#status, #error));
            }
            #value
        }
    }
}
