//! When the attribute cannot expand: the item exactly as written, plus the errors. The rest of
//! the crate (and rust-analyzer) still sees the function.

use proc_macro2::TokenStream;

use crate::args::Errors;

pub(crate) fn item_with_errors(item: TokenStream, errors: Errors) -> TokenStream {
    let mut tokens = item;
    tokens.extend(errors.into_tokens());
    tokens
}
