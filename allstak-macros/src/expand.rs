//! The one driver of both attributes (as thiserror's `expand`): the arguments, then the item,
//! validated, then the attribute's code; when the item cannot expand, [`fallback`] keeps it
//! beside the errors.

use proc_macro2::TokenStream;

use crate::args::{Args, Kind};
use crate::errors::Errors;
use crate::item::Function;
use crate::signature::Returns;
use crate::{expand_main, expand_track, fallback, validate};

pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    // Bad arguments are reported and do not stop the expansion: the rest are defaulted.
    let mut arg_errors = Errors::default();
    let args = Args::parse(kind, args, &mut arg_errors);
    let mut tokens = match try_expand(kind, &args, &item) {
        Ok(tokens) => tokens,
        Err(errors) => fallback::expand(&args, item, errors),
    };
    tokens.extend(arg_errors.into_compile_errors());
    tokens
}

fn try_expand(kind: Kind, args: &Args, item: &TokenStream) -> Result<TokenStream, Errors> {
    let runtime = args.runtime();
    let function = Function::parse(item.clone())
        .map_err(|error| validate::not_a_function(kind, item, error))?;
    let returns = Returns::of(&function.sig);
    validate::function(kind, &runtime, &function, &returns)?;
    Ok(match args {
        Args::Main(args) => expand_main::generate(&function, &returns, args, &runtime),
        Args::Track(args) => expand_track::generate(&function, &returns, args, &runtime),
    })
}
