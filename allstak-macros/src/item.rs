//! The annotated item: attributes, visibility and signature parsed; the body kept as tokens
//! (faster, and a body that does not type-check yet still gets the attribute's errors).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser as _};
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
        self.body_block_with(TokenStream::new())
    }

    /// The body's statements after `prefix`, in the user's own braces.
    pub(crate) fn body_block_with(&self, prefix: TokenStream) -> TokenStream {
        let mut statements = prefix;
        statements.extend(self.statements());
        self.braces(statements)
    }

    /// The body in braces of our own: where our block wraps a lone expression, rustc's
    /// `unused_braces` lint must not take them for the user's.
    pub(crate) fn body_block_at_call_site(&self) -> TokenStream {
        Group::new(Delimiter::Brace, self.statements()).into_token_stream()
    }

    /// The generated body of the fn, in the user's own braces.
    pub(crate) fn outer_block(&self, body: TokenStream) -> TokenStream {
        self.braces(body)
    }

    fn statements(&self) -> TokenStream {
        match &self.body {
            Body::Block { statements, .. } => statements.clone(),
            Body::Missing(_) => TokenStream::new(),
        }
    }

    fn braces(&self, inside: TokenStream) -> TokenStream {
        let mut group = Group::new(Delimiter::Brace, inside);
        if let Body::Block { brace, .. } = &self.body {
            group.set_span(brace.span.join());
        }
        group.into_token_stream()
    }
}

/// The error for an attribute on something that is not a `fn`, at the item's keyword.
pub(crate) fn not_a_function(item: &TokenStream, attribute: &str, expected: &str) -> syn::Error {
    let keyword = (|input: ParseStream<'_>| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let rest: TokenStream = input.parse()?;
        Ok(rest.into_iter().next())
    })
    .parse2(item.clone())
    .ok()
    .flatten();
    let (span, what) = match &keyword {
        Some(TokenTree::Ident(ident)) => (ident.span(), format!("this `{ident}`")),
        Some(token) => (token.span(), "this item".to_owned()),
        None => (Span::call_site(), "this item".to_owned()),
    };
    let hint = if matches!(&keyword, Some(TokenTree::Ident(i)) if i == "impl" || i == "trait") {
        "; put it on the methods inside"
    } else {
        ""
    };
    syn::Error::new(
        span,
        format!("`#[allstak::{attribute}]` goes on {expected}, not on {what}{hint}"),
    )
}
