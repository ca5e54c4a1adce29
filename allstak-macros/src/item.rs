//! The annotated item: attributes, visibility and signature parsed; the body kept as tokens
//! (faster, and a body that does not type-check yet still gets the attribute's errors).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser as _};
use syn::{AttrStyle, Attribute, Signature, Token, Visibility};

pub(crate) struct Function {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Block {
        /// The body as written, braces included.
        group: Group,
        /// `#![..]` at the top of the body: they move to the fn, where they mean the same.
        inner_attrs: Vec<Attribute>,
        /// What follows them.
        statements: TokenStream,
    },
    /// `fn f();` — a trait method without a default body.
    Missing(Token![;]),
}

impl Function {
    /// Splits the item at its body first: only the attributes, visibility and signature go
    /// through `syn` (the body, most of the tokens, is never copied or buffered).
    pub(crate) fn parse(item: TokenStream) -> syn::Result<Self> {
        let mut head: Vec<TokenTree> = item.into_iter().collect();
        let body = match head.pop().map(without_invisible_group) {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                Body::block(group)?
            }
            Some(TokenTree::Punct(semi)) if semi.as_char() == ';' => {
                Body::Missing(Token![;](semi.span()))
            }
            last => {
                let span = last.map_or_else(Span::call_site, |token| token.span());
                return Err(syn::Error::new(span, "expected a function body"));
            }
        };
        let head = (|input: ParseStream<'_>| {
            Ok((
                input.call(Attribute::parse_outer)?,
                input.parse::<Visibility>()?,
                input.parse::<Signature>()?,
            ))
        })
        .parse2(head.into_iter().collect());
        let (attrs, vis, sig) = head?;
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// A token a `macro_rules!` macro passed on as a fragment (`$body:block`) comes wrapped in an
/// invisible group: the token inside it.
fn without_invisible_group(token: TokenTree) -> TokenTree {
    match token {
        TokenTree::Group(group) if group.delimiter() == Delimiter::None => {
            let mut inside = group.stream().into_iter();
            match (inside.next(), inside.next()) {
                (Some(only), None) => without_invisible_group(only),
                _ => TokenTree::Group(group),
            }
        }
        token => token,
    }
}

impl Body {
    fn block(group: Group) -> syn::Result<Self> {
        let mut tokens = group.stream().into_iter();
        let inner_attribute = matches!(
            (tokens.next(), tokens.next()),
            (Some(TokenTree::Punct(hash)), Some(TokenTree::Punct(bang)))
                if hash.as_char() == '#' && bang.as_char() == '!'
        );
        let (inner_attrs, statements) = if inner_attribute {
            (|input: ParseStream<'_>| Ok((input.call(Attribute::parse_inner)?, input.parse()?)))
                .parse2(group.stream())?
        } else {
            (Vec::new(), group.stream())
        };
        Ok(Self::Block {
            group,
            inner_attrs,
            statements,
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
        match &self.body {
            Body::Block {
                group, inner_attrs, ..
            } if inner_attrs.is_empty() => TokenTree::Group(group.clone()).into(),
            _ => self.braces(self.statements()),
        }
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

    /// The block of `async move { .. }` if the body is just `Box::pin(async move { .. })`
    /// (`std::boxed::Box::pin`, `::std::boxed::Box::pin` too), as `#[async_trait]` writes a
    /// method's: the check can then go inside that box, not in a second one.
    pub(crate) fn boxed_async_block(&self) -> Option<Group> {
        let tokens: Vec<TokenTree> = self.statements().into_iter().collect();
        let (arguments, path) = tokens.split_last()?;
        let TokenTree::Group(arguments) = arguments else {
            return None;
        };
        if arguments.delimiter() != Delimiter::Parenthesis || !ends_with_box_pin(path) {
            return None;
        }
        match arguments
            .stream()
            .into_iter()
            .collect::<Vec<_>>()
            .as_slice()
        {
            [
                TokenTree::Ident(r#async),
                TokenTree::Ident(r#move),
                TokenTree::Group(block),
            ] if r#async == "async"
                && r#move == "move"
                && block.delimiter() == Delimiter::Brace =>
            {
                Some(block.clone())
            }
            _ => None,
        }
    }

    fn statements(&self) -> TokenStream {
        match &self.body {
            Body::Block { statements, .. } => statements.clone(),
            Body::Missing(_) => TokenStream::new(),
        }
    }

    fn braces(&self, inside: TokenStream) -> TokenStream {
        let mut group = Group::new(Delimiter::Brace, inside);
        if let Body::Block { group: body, .. } = &self.body {
            group.set_span(body.span());
        }
        group.into_token_stream()
    }
}

/// Whether `path` is `Box::pin`, alone or after `std::boxed::` (with or without a leading `::`).
fn ends_with_box_pin(path: &[TokenTree]) -> bool {
    let words: Vec<String> = path
        .iter()
        .filter_map(|token| match token {
            TokenTree::Ident(ident) => Some(ident.to_string()),
            TokenTree::Punct(punct) if punct.as_char() == ':' => None,
            _ => Some(String::new()),
        })
        .collect();
    matches!(
        words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["Box", "pin"] | ["std", "boxed", "Box", "pin"] | ["alloc", "boxed", "Box", "pin"]
    )
}
