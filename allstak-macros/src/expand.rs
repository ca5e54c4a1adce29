//! The one driver of both attributes (as thiserror's `expand`): the arguments, then the item,
//! validated, then the attribute's code; when the item cannot expand, [`fallback`] keeps it
//! beside the errors.

use proc_macro2::TokenStream;

use crate::args::Args;
use crate::errors::Errors;
use crate::item::Function;
use crate::{expand_main, expand_track, fallback, validate};

/// Which of our attributes is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    Main,
    Track,
}

impl Attribute {
    /// As written after the crate's path: `main` in `#[allstak::main]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Track => "track",
        }
    }
}

pub(crate) fn expand(attribute: Attribute, args: TokenStream, item: TokenStream) -> TokenStream {
    // Bad arguments are reported and do not stop the expansion: the rest are defaulted.
    let mut arg_errors = Errors::default();
    let args = Args::parse(attribute, args, &mut arg_errors);
    let mut tokens = match try_expand(attribute, &args, &item) {
        Ok(tokens) => tokens,
        Err(errors) => fallback::expand(&args, item, errors),
    };
    tokens.extend(arg_errors.into_compile_errors());
    tokens
}

fn try_expand(
    attribute: Attribute,
    args: &Args,
    item: &TokenStream,
) -> Result<TokenStream, Errors> {
    let runtime = args.runtime();
    let function =
        Function::parse(item.clone()).map_err(|_| validate::not_a_function(attribute, item))?;
    validate::function(attribute, &runtime, &function)?;
    Ok(match args {
        Args::Main(args) => expand_main::generate(&function, args, &runtime),
        Args::Track(args) => expand_track::generate(&function, args, &runtime),
    })
}
