//! The annotated item: attributes, visibility and signature parsed; the body kept as tokens
//! (faster, and a body that does not type-check yet still gets the attribute's errors).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{AttrStyle, Attribute, Signature, Token, Visibility, braced, token};

pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Block {
        brace: token::Brace,
        /// `#![..]` at the top of the body: they move to the fn, where they mean the same.
        inner_attrs: Vec<Attribute>,
        statements: TokenStream,
    },
    /// `fn f();` — a trait method without a default body.
    Missing(Token![;]),
}

impl Parse for Function {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            Body::Block {
                brace,
                inner_attrs,
                statements: content.parse()?,
            }
        };
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl Function {
    /// The fn's own attributes, then its body's inner attributes turned outer.
    pub(crate) fn outer_attrs(&self) -> TokenStream {
        let mut tokens = TokenStream::new();
        for attr in &self.attrs {
            attr.to_tokens(&mut tokens);
        }
        if let Body::Block { inner_attrs, .. } = &self.body {
            for attr in inner_attrs {
                let mut outer = attr.clone();
                outer.style = AttrStyle::Outer;
                outer.to_tokens(&mut tokens);
            }
        }
        tokens
    }

    /// The body as a block with the user's own braces (spans kept), minus inner attributes.
    pub(crate) fn body_block(&self) -> TokenStream {
        let mut tokens = TokenStream::new();
        if let Body::Block {
            brace, statements, ..
        } = &self.body
        {
            brace.surround(&mut tokens, |inside| inside.extend(statements.clone()));
        }
        tokens
    }
}
