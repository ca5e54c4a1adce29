//! The attributes' arguments: which attribute is expanding ([`Kind`]), its `key = literal` or
//! `key = [literal, …]` arguments, comma-separated, and the runtime crate's path they give the
//! generated code ([`RuntimePath`]). Every problem is collected; the arguments that were fine
//! are kept, so the item still expands with the rest defaulted.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, LitBool, LitInt, LitStr, Token};

use crate::errors::Errors;

/// Which of our attributes is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Track,
}

impl Kind {
    /// As written after the crate's path: `main` in `#[allstak::main]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Track => "track",
        }
    }
}

/// The arguments of either attribute.
pub(crate) enum Args {
    Main(MainArgs),
    Track(TrackArgs),
}

impl Args {
    /// Every problem goes to `errors`; what was fine is kept, the rest defaulted.
    pub(crate) fn parse(kind: Kind, args: TokenStream, errors: &mut Errors) -> Self {
        match kind {
            Kind::Main => Self::Main(parse_main(args, errors)),
            Kind::Track => Self::Track(parse_track(args, errors)),
        }
    }

    pub(crate) fn runtime(&self) -> RuntimePath {
        let krate = match self {
            Self::Main(args) => &args.krate,
            Self::Track(args) => &args.krate,
        };
        RuntimePath::new(krate.clone())
    }
}

/// The arguments of `#[allstak::main(..)]`.
#[derive(Default)]
pub(crate) struct MainArgs {
    pub(crate) release: Option<LitStr>,
    pub(crate) environment: Option<LitStr>,
    pub(crate) host: Option<LitStr>,
    pub(crate) exit_deadline_ms: Option<LitInt>,
    pub(crate) end_on_signals: Option<LitBool>,
    pub(crate) attach_stacktrace: Option<LitBool>,
    /// `sample_rate = 0.25`: checked to be from 0.0 to 1.0.
    pub(crate) sample_rate: Option<f32>,
    pub(crate) user_id: Option<LitStr>,
    /// `in_app_include = ["…", …]`: crate or module paths, each checked.
    pub(crate) in_app_include: Option<Vec<LitStr>>,
    /// `in_app_exclude = ["…", …]`, as `in_app_include`.
    pub(crate) in_app_exclude: Option<Vec<LitStr>>,
    pub(crate) krate: Option<syn::Path>,
}

/// The arguments of `#[allstak::track(..)]`.
#[derive(Default)]
pub(crate) struct TrackArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) report: Option<LitBool>,
    /// `describe = "display"`: the error is described through `Display`, not `Error`.
    pub(crate) describe_display: Option<LitStr>,
    pub(crate) krate: Option<syn::Path>,
}

const MAIN_KEYS: &str = "`release = \"…\"`, `environment = \"…\"`, `host = \"…\"`, \
                         `exit_deadline_ms = <integer>`, `end_on_signals = false`, \
                         `attach_stacktrace = true`, `sample_rate = <0.0 to 1.0>`, \
                         `user_id = \"…\"`, \
                         `in_app_include = [\"…\"]`, `in_app_exclude = [\"…\"]`, `crate = \"…\"`";
const TRACK_KEYS: &str =
    "`name = \"…\"`, `report = false`, `describe = \"display\"`, `crate = \"…\"`";

/// One `key = value` as written.
struct Pair {
    key: Ident,
    value: Value,
}

/// An argument's value: one literal, or a bracketed list of them.
enum Value {
    Lit(Lit),
    List { span: Span, items: Vec<Item> },
}

/// An item of a list: a literal, or a path written without quotes (`[my_crate]`), kept to say
/// how to write it.
enum Item {
    Lit(Lit),
    Path(syn::Path),
}

impl syn::parse::Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Lit) {
            input.parse().map(Self::Lit)
        } else {
            input.parse().map(Self::Path)
        }
    }
}

impl Value {
    fn span(&self) -> Span {
        match self {
            Self::Lit(lit) => lit.span(),
            Self::List { span, .. } => *span,
        }
    }
}

/// The `key = value` pairs, and an error for each that is not one: a malformed pair is skipped
/// to the next comma, so the others still count (`crate = ..` above all: without it, every
/// path the expansion writes would be wrong too).
fn pairs(input: ParseStream<'_>) -> syn::Result<(Vec<Pair>, Vec<syn::Error>)> {
    let (mut pairs, mut errors) = (Vec::new(), Vec::new());
    while !input.is_empty() {
        match pair(input) {
            Ok(pair) => pairs.push(pair),
            Err(error) => {
                errors.push(error);
                skip_to_comma(input)?;
            }
        }
        if input.is_empty() {
            break;
        }
        if let Err(error) = input.parse::<Token![,]>() {
            errors.push(error);
            skip_to_comma(input)?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
    }
    Ok((pairs, errors))
}

fn pair(input: ParseStream<'_>) -> syn::Result<Pair> {
    let key = Ident::parse_any(input)?;
    // At the key: after the last argument, syn's own error points at the whole attribute.
    input
        .parse::<Token![=]>()
        .map_err(|_| syn::Error::new(key.span(), format!("expected `{key} = <value>`")))?;
    let value = if input.peek(syn::token::Bracket) {
        // The list's tokens parsed on their own: a malformed one is this pair's error only
        // (parsed in place, what it leaves unread would fail the whole attribute's parse).
        let group: proc_macro2::Group = input.parse()?;
        let items = Punctuated::<Item, Token![,]>::parse_terminated.parse2(group.stream())?;
        Value::List {
            span: group.span(),
            items: items.into_iter().collect(),
        }
    } else {
        Value::Lit(input.parse()?)
    };
    Ok(Pair { key, value })
}

/// Past the rest of a malformed pair, up to the comma after it (a bracketed list is one tree).
fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

fn set<T>(slot: &mut Option<T>, value: T, key: &Ident, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(key.span(), format!("`{key}` is given twice; keep one"));
    } else {
        *slot = Some(value);
    }
}

fn string(pair: &Pair, errors: &mut Errors) -> Option<LitStr> {
    match &pair.value {
        Value::Lit(Lit::Str(value)) if value.value().trim().is_empty() => {
            let without = match pair.key.to_string().as_str() {
                "release" => "`ALLSTAK_RELEASE`, else the crate's `name@version`",
                "environment" => "`ALLSTAK_ENVIRONMENT`, else `development` or `production`",
                "host" => "`ALLSTAK_HOST`, else `https://api.allstak.sa`",
                "user_id" => "`ALLSTAK_USER_ID`, else none",
                "name" => "the fn's path",
                _ => "its default",
            };
            errors.at(
                value.span(),
                format!(
                    "`{}` is empty: give it a value, or leave it out for {without}",
                    pair.key
                ),
            );
            None
        }
        Value::Lit(Lit::Str(value)) => Some(value.clone()),
        other => {
            errors.at(
                other.span(),
                format!("`{}` takes a string: `{} = \"…\"`", pair.key, pair.key),
            );
            None
        }
    }
}

fn boolean(pair: &Pair, errors: &mut Errors) -> Option<LitBool> {
    match &pair.value {
        Value::Lit(Lit::Bool(value)) => Some(value.clone()),
        other => {
            errors.at(
                other.span(),
                format!("`{}` takes `true` or `false`", pair.key),
            );
            None
        }
    }
}

/// A share from 0.0 to 1.0 (`sample_rate`): a float literal, or `0` or `1`.
fn rate(pair: &Pair, errors: &mut Errors) -> Option<f32> {
    let parsed = match &pair.value {
        Value::Lit(Lit::Float(v)) => v.base10_parse::<f32>().ok(),
        Value::Lit(Lit::Int(v)) => v.base10_parse::<u8>().ok().map(f32::from),
        _ => None,
    };
    let rate = parsed.filter(|rate| (0.0..=1.0).contains(rate));
    if rate.is_none() {
        errors.at(
            pair.value.span(),
            format!(
                "`{}` takes a number from 0.0 (no error event sent) to 1.0 (all sent), e.g. `{} = 0.25`",
                pair.key, pair.key
            ),
        );
    }
    rate
}

/// A list of crate or module paths (`in_app_include`, `in_app_exclude`): `None` if any item is
/// not one, each such item an error of its own.
fn module_paths(pair: &Pair, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let key = &pair.key;
    let Value::List { items, .. } = &pair.value else {
        errors.at(
            pair.value.span(),
            format!("`{key}` takes a list of crate or module paths: `{key} = [\"my_crate\", \"other::module\"]`"),
        );
        return None;
    };
    let mut paths = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Lit(Lit::Str(path)) if is_module_path(&path.value().replace('-', "_")) => {
                paths.push(path.clone());
            }
            Item::Lit(Lit::Str(path)) => errors.at(
                path.span(),
                format!(
                    "`{key}` takes crate or module paths, such as `\"my_crate\"` or \
                     `\"my_crate::db\"`; {:?} is not one",
                    path.value()
                ),
            ),
            Item::Path(path) => errors.spanned(
                path,
                format!(
                    "`{key}` takes strings: write `\"{}\"`",
                    path.to_token_stream().to_string().replace(' ', "")
                ),
            ),
            Item::Lit(other) => errors.at(
                other.span(),
                format!("`{key}` takes strings: `{key} = [\"my_crate\", \"other::module\"]`"),
            ),
        }
    }
    (paths.len() == items.len()).then_some(paths)
}

/// `name` or `name::inner::…`, each segment an identifier (the runtime reads them the same way).
fn is_module_path(path: &str) -> bool {
    path.split("::").all(|segment| {
        let mut chars = segment.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    })
}

fn crate_path(pair: &Pair, errors: &mut Errors) -> Option<syn::Path> {
    let value = string(pair, errors)?;
    match value.parse::<syn::Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            errors.at(
                value.span(),
                "`crate` takes a path, e.g. `crate = \"my_allstak\"`",
            );
            None
        }
    }
}

fn parse_pairs(args: TokenStream, errors: &mut Errors) -> Vec<Pair> {
    match pairs.parse2(args) {
        Ok((pairs, malformed)) => {
            for error in malformed {
                errors.push(error);
            }
            pairs
        }
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    }
}

fn parse_main(args: TokenStream, errors: &mut Errors) -> MainArgs {
    let mut parsed = MainArgs::default();
    for pair in parse_pairs(args, errors) {
        let key = &pair.key;
        match key.to_string().as_str() {
            "release" => {
                if let Some(v) = string(&pair, errors) {
                    set(&mut parsed.release, v, key, errors);
                }
            }
            "environment" => {
                if let Some(v) = string(&pair, errors) {
                    set(&mut parsed.environment, v, key, errors);
                }
            }
            "host" => {
                if let Some(v) = string(&pair, errors) {
                    set(&mut parsed.host, v, key, errors);
                }
            }
            "exit_deadline_ms" => match &pair.value {
                Value::Lit(Lit::Int(v)) if v.base10_parse::<u64>().is_ok() => {
                    set(&mut parsed.exit_deadline_ms, v.clone(), key, errors);
                }
                other => errors.at(
                    other.span(),
                    "`exit_deadline_ms` takes a whole number of milliseconds, e.g. `exit_deadline_ms = 500`",
                ),
            },
            "end_on_signals" => {
                if let Some(v) = boolean(&pair, errors) {
                    set(&mut parsed.end_on_signals, v, key, errors);
                }
            }
            "attach_stacktrace" => {
                if let Some(v) = boolean(&pair, errors) {
                    set(&mut parsed.attach_stacktrace, v, key, errors);
                }
            }
            "sample_rate" => {
                if let Some(v) = rate(&pair, errors) {
                    set(&mut parsed.sample_rate, v, key, errors);
                }
            }
            "user_id" => {
                if let Some(v) = string(&pair, errors) {
                    set(&mut parsed.user_id, v, key, errors);
                }
            }
            "in_app_include" => {
                if let Some(v) = module_paths(&pair, errors) {
                    set(&mut parsed.in_app_include, v, key, errors);
                }
            }
            "in_app_exclude" => {
                if let Some(v) = module_paths(&pair, errors) {
                    set(&mut parsed.in_app_exclude, v, key, errors);
                }
            }
            "crate" => {
                if let Some(v) = crate_path(&pair, errors) {
                    set(&mut parsed.krate, v, key, errors);
                }
            }
            "api_key" | "key" => errors.at(
                key.span(),
                "the API key does not go in source: set `ALLSTAK_API_KEY` where the program runs",
            ),
            _ => errors.at(
                key.span(),
                format!("unknown argument `{key}`; `#[allstak::main]` takes {MAIN_KEYS}"),
            ),
        }
    }
    parsed
}

fn parse_track(args: TokenStream, errors: &mut Errors) -> TrackArgs {
    let mut parsed = TrackArgs::default();
    for pair in parse_pairs(args, errors) {
        let key = &pair.key;
        match key.to_string().as_str() {
            "name" => match string(&pair, errors) {
                Some(v) if v.value().contains(['\n', '\r']) => errors.at(
                    v.span(),
                    "`name` is one line, e.g. `name = \"settings::load\"`",
                ),
                Some(v) => set(&mut parsed.name, v, key, errors),
                None => {}
            },
            "report" => {
                if let Some(v) = boolean(&pair, errors) {
                    set(&mut parsed.report, v, key, errors);
                }
            }
            "describe" => match &pair.value {
                Value::Lit(Lit::Str(v)) if v.value() == "display" => {
                    set(&mut parsed.describe_display, v.clone(), key, errors);
                }
                other => errors.at(
                    other.span(),
                    "`describe` takes `\"display\"`: the error is then described through its \
                     `Display`, for an error type whose `Error` impl needs `'static` parameters",
                ),
            },
            "crate" => {
                if let Some(v) = crate_path(&pair, errors) {
                    set(&mut parsed.krate, v, key, errors);
                }
            }
            _ => errors.at(
                key.span(),
                format!("unknown argument `{key}`; `#[allstak::track]` takes {TRACK_KEYS}"),
            ),
        }
    }
    parsed
}

/// The runtime crate, as generated code names it: `::allstak`, or the path given as
/// `crate = ".."` (for `extern crate allstak as renamed;` or a re-export).
pub(crate) enum RuntimePath {
    Allstak,
    Given(syn::Path),
}

impl RuntimePath {
    pub(crate) fn new(krate: Option<syn::Path>) -> Self {
        krate.map_or(Self::Allstak, Self::Given)
    }

    /// Whether the user wrote the path: then it keeps its span, so that if it does not
    /// resolve, the error is there.
    pub(crate) fn is_given(&self) -> bool {
        matches!(self, Self::Given(_))
    }

    /// Whether `attr` is one of ours: `#[allstak::<kind>]`, or `#[<crate>::<kind>]` with the
    /// `crate = ".."` path given.
    pub(crate) fn is_ours(&self, attr: &syn::Attribute, kind: Kind) -> bool {
        self.names_attribute(attr.path(), kind.name())
    }

    /// Whether `path` names our attribute `name`: `allstak::<name>`, or `<given path>::<name>`.
    fn names_attribute(&self, path: &syn::Path, name: &str) -> bool {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some((last, prefix)) = segments.split_last() else {
            return false;
        };
        if last != name || prefix.is_empty() {
            return false;
        }
        prefix[0] == "allstak"
            || matches!(self, Self::Given(given)
                if given.segments.len() == prefix.len()
                    && given.segments.iter().zip(prefix).all(|(s, p)| s.ident == p))
    }
}

impl ToTokens for RuntimePath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Self::Allstak => tokens.extend(quote!(::allstak)),
            Self::Given(path) => {
                let first = path.segments.first().map(|s| s.ident.to_string());
                let relative = matches!(first.as_deref(), Some("crate" | "self" | "super"));
                if path.leading_colon.is_none() && !relative {
                    tokens.extend(quote!(::));
                }
                path.to_tokens(tokens);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_errors(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse_main(args, &mut errors);
        errors.messages()
    }

    #[test]
    fn every_main_argument_is_read() {
        let mut errors = Errors::default();
        let args = parse_main(
            quote!(
                release = "a@1",
                environment = "dev",
                host = "http://h",
                exit_deadline_ms = 500,
                end_on_signals = true,
                crate = "my_allstak"
            ),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(args.release.map(|l| l.value()).as_deref(), Some("a@1"));
        assert_eq!(args.environment.map(|l| l.value()).as_deref(), Some("dev"));
        assert_eq!(args.host.map(|l| l.value()).as_deref(), Some("http://h"));
        assert_eq!(
            args.exit_deadline_ms.map(|l| l.to_string()).as_deref(),
            Some("500")
        );
        assert!(args.end_on_signals.is_some_and(|b| b.value));
        assert_eq!(
            RuntimePath::new(args.krate).into_token_stream().to_string(),
            ":: my_allstak"
        );
    }

    #[test]
    fn unknown_repeated_and_mistyped_arguments_are_each_one_error() {
        assert_eq!(main_errors(quote!(relase = "x")).len(), 1);
        assert!(main_errors(quote!(relase = "x"))[0].contains("`release = \"…\"`"));
        assert_eq!(main_errors(quote!(release = "a", release = "b")).len(), 1);
        assert_eq!(main_errors(quote!(exit_deadline_ms = "soon")).len(), 1);
        assert_eq!(main_errors(quote!(release = 3, host = 4)).len(), 2);
        assert!(main_errors(quote!(api_key = "k"))[0].contains("ALLSTAK_API_KEY"));
    }

    #[test]
    fn a_sample_rate_is_a_number_from_zero_to_one() {
        let rate = |args: TokenStream| {
            let mut errors = Errors::default();
            let parsed = parse_main(args, &mut errors);
            (parsed.sample_rate, errors.messages().len())
        };
        assert_eq!(rate(quote!(sample_rate = 0.25)), (Some(0.25), 0));
        assert_eq!(rate(quote!(sample_rate = 0.0)), (Some(0.0), 0));
        assert_eq!(rate(quote!(sample_rate = 1)), (Some(1.0), 0));
        assert_eq!(rate(quote!(sample_rate = 1.5)), (None, 1));
        assert_eq!(rate(quote!(sample_rate = 2)), (None, 1));
        assert_eq!(rate(quote!(sample_rate = "0.5")), (None, 1));
        assert_eq!(
            rate(quote!(sample_rate = 0.5, sample_rate = 0.5)),
            (Some(0.5), 1)
        );
        assert!(main_errors(quote!(sample_rate = -1))[0].contains("from 0.0"));
    }

    #[test]
    fn in_app_lists_are_read_and_each_bad_path_is_one_error() {
        let mut errors = Errors::default();
        let args = parse_main(
            quote!(
                in_app_include = ["shop_core", "shop-db::pool",],
                in_app_exclude = []
            ),
            &mut errors,
        );
        assert!(errors.is_empty());
        let values = |paths: Option<Vec<LitStr>>| {
            paths.map(|paths| paths.iter().map(LitStr::value).collect::<Vec<_>>())
        };
        assert_eq!(
            values(args.in_app_include),
            Some(vec!["shop_core".to_owned(), "shop-db::pool".to_owned()])
        );
        assert_eq!(values(args.in_app_exclude), Some(Vec::new()));

        let messages = main_errors(quote!(in_app_include = "shop_core"));
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("in_app_include = [\"my_crate\""),
            "{}",
            messages[0]
        );
        let messages = main_errors(quote!(in_app_exclude = ["tokio::*", 3, "a b", "ok"]));
        assert_eq!(messages.len(), 3, "{messages:?}");
        let unquoted = main_errors(quote!(in_app_include = [shop_core, tokio::task]));
        assert_eq!(unquoted.len(), 2, "{unquoted:?}");
        assert!(
            unquoted[1].contains("write `\"tokio::task\"`"),
            "{}",
            unquoted[1]
        );
        assert!(
            messages[0].contains("\"tokio::*\" is not one"),
            "{}",
            messages[0]
        );
        assert!(messages[1].contains("takes strings"), "{}", messages[1]);
        assert_eq!(
            main_errors(quote!(in_app_include = ["a"], in_app_include = ["b"])).len(),
            1
        );
        assert_eq!(main_errors(quote!(release = ["a"])).len(), 1);
    }

    #[test]
    fn track_arguments_are_read() {
        let mut errors = Errors::default();
        let args = parse_track(quote!(name = "db::load", report = false), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(args.name.map(|l| l.value()).as_deref(), Some("db::load"));
        assert!(args.report.is_some_and(|b| !b.value));
        let mut errors = Errors::default();
        parse_track(quote!(report = "no"), &mut errors);
        assert!(!errors.is_empty());
    }

    #[test]
    fn our_attributes_are_recognized_under_the_given_crate_path_too() {
        let given = RuntimePath::new(Some(syn::parse_quote!(renamed)));
        assert!(given.names_attribute(&syn::parse_quote!(renamed::main), "main"));
        assert!(given.names_attribute(&syn::parse_quote!(allstak::main), "main"));
        assert!(!given.names_attribute(&syn::parse_quote!(tokio::main), "main"));
        assert!(!given.names_attribute(&syn::parse_quote!(renamed::track), "main"));
        assert!(!RuntimePath::Allstak.names_attribute(&syn::parse_quote!(renamed::main), "main"));
    }
}
