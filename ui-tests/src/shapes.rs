//! One function per case; each name says the case.

use std::fmt;
use std::io;
use std::num::ParseIntError;

#[derive(Debug)]
pub struct AppError(pub String);

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AppError {}

impl From<ParseIntError> for AppError {
    fn from(error: ParseIntError) -> Self {
        Self(error.to_string())
    }
}

/// A crate's own `Result` alias.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[allstak::track]
pub fn question_mark_with_from(text: &str) -> Result<u8> {
    let n: u8 = text.parse()?;
    Ok(n)
}

#[allstak::track]
pub fn early_return(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("{n} is negative"));
    }
    Ok(n * 2)
}

#[allstak::track]
pub fn coerced_tail() -> std::result::Result<Box<dyn Fn() -> u8>, AppError> {
    Ok(Box::new(|| 7))
}

#[allstak::track]
pub fn collected_tail(texts: &[&str]) -> std::result::Result<Vec<u8>, ParseIntError> {
    texts.iter().map(|t| t.parse::<u8>()).collect()
}

#[allstak::track]
pub fn impl_trait_in_return(n: u8) -> std::result::Result<impl Iterator<Item = u8>, AppError> {
    Ok(0..n)
}

#[allstak::track]
pub fn impl_trait_argument(items: impl IntoIterator<Item = u8>) -> Result<u32> {
    Ok(items.into_iter().map(u32::from).sum())
}

pub struct Store {
    items: Vec<u8>,
}

impl Store {
    #[must_use]
    pub fn new() -> Self {
        Self {
            items: vec![1, 2, 3],
        }
    }

    #[allstak::track]
    pub fn first_mut(&mut self) -> Result<&mut u8> {
        self.items
            .first_mut()
            .ok_or_else(|| AppError("empty".to_owned()))
    }

    #[allstak::track]
    pub fn get<'a>(&'a self, index: usize) -> std::result::Result<&'a u8, AppError> {
        self.items
            .get(index)
            .ok_or_else(|| AppError(format!("no item {index}")))
    }

    #[allstak::track]
    pub fn new_checked(items: Vec<u8>) -> Result<Self> {
        if items.is_empty() {
            Err(AppError("empty".to_owned()))
        } else {
            Ok(Self { items })
        }
    }

    #[allstak::track]
    pub fn into_items(self) -> Result<Vec<u8>> {
        Ok(self.items)
    }

    #[allstak::track]
    pub async fn total(&self) -> Result<u32> {
        Ok(self.items.iter().map(|&i| u32::from(i)).sum())
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

#[allstak::track]
pub fn mutable_parameter(mut n: u32) -> Result<u32> {
    n += 1;
    Ok(n)
}

#[allstak::track]
pub async fn async_fn(n: u8) -> io::Result<u8> {
    Ok(n)
}

#[allstak::track]
/// # Safety
/// Reads through `p`.
pub async unsafe fn async_unsafe_fn(p: *const u8) -> io::Result<u8> {
    // SAFETY: the caller promises `p` is valid.
    Ok(unsafe { *p })
}

pub trait Loader {
    fn load(&self, key: &str) -> std::result::Result<String, AppError>;
    fn load_async(&self, key: &str) -> impl Future<Output = std::result::Result<String, AppError>>;
}

pub struct Files;

impl Loader for Files {
    #[allstak::track]
    fn load(&self, key: &str) -> std::result::Result<String, AppError> {
        Err(AppError(format!("no {key}")))
    }

    #[allstak::track]
    async fn load_async(&self, key: &str) -> std::result::Result<String, AppError> {
        Ok(key.to_owned())
    }
}

#[async_trait::async_trait]
pub trait Fetch {
    async fn fetch(&self, n: u8) -> std::result::Result<u8, AppError>;
}

pub struct TrackedAbove;

#[async_trait::async_trait]
impl Fetch for TrackedAbove {
    #[allstak::track]
    async fn fetch(&self, n: u8) -> std::result::Result<u8, AppError> {
        Ok(n)
    }
}

#[allstak::track]
pub fn generic<T>(text: &str) -> std::result::Result<T, T::Err>
where
    T: std::str::FromStr,
{
    text.parse()
}

#[allstak::track]
pub fn io_alias(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

#[allstak::track]
pub fn anyhow_alias(text: &str) -> anyhow::Result<u8> {
    Ok(text.parse()?)
}

pub struct Celsius(pub f64);

impl Celsius {
    #[allstak::track]
    fn write_to(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} °C", self.0)
    }
}

impl fmt::Display for Celsius {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[allstak::track]
pub fn diverges_with_loop() -> Result<u8> {
    loop {
        std::hint::spin_loop();
    }
}

#[allstak::track]
#[allow(unreachable_code)]
pub fn diverges_with_todo() -> Result<u8> {
    todo!()
}

#[allstak::track]
pub fn recursion(n: u64) -> Result<u64> {
    if n == 0 {
        Ok(1)
    } else {
        Ok(n * recursion(n - 1)?)
    }
}

#[allstak::track]
pub fn inner_attribute() -> Result<u8> {
    #![allow(clippy::let_and_return)]
    let n = 3;
    n.try_into().map_err(|_| AppError("too big".to_owned()))
}

#[allstak::track]
pub fn use_inside_the_body() -> Result<String> {
    use std::fmt::Write as _;
    let mut s = String::new();
    write!(s, "x").map_err(|e| AppError(e.to_string()))?;
    Ok(s)
}

/// A user module named like ours, and locals named like the generated ones: the generated
/// code names everything by absolute path and its locals are hygienic.
pub mod shadowing {
    use super::Result;

    pub mod allstak {}

    #[::allstak::track]
    pub fn names_like_ours() -> Result<u8> {
        let __allstak_ret = 1u8;
        let __allstak_err = 2u8;
        Ok(__allstak_ret + __allstak_err)
    }
}

#[allstak::track]
/// # Safety
/// None needed; shows that `unsafe fn` passes through.
pub unsafe fn unsafe_fn() -> Result<u8> {
    Ok(1)
}

#[allstak::track]
#[allow(improper_ctypes_definitions)] // the user's own lints still fire on the user's code
pub extern "C" fn extern_c_fn() -> std::result::Result<u8, u8> {
    Ok(1)
}

#[allstak::track]
pub(crate) fn crate_visible() -> Result<u8> {
    Ok(1)
}

/// Doc comments, `#[must_use]`, `#[inline]` and `#[cfg]` pass through.
#[must_use = "check it"]
#[inline]
#[cfg(not(any()))]
#[allstak::track]
pub fn other_attributes() -> Result<u8> {
    Ok(crate_visible()? + 1)
}

#[allstak::track(name = "settings::load", report = false)]
pub fn with_arguments() -> Result<u8> {
    Err(AppError("quiet".to_owned()))
}

#[allstak::track]
pub fn only_debug_error() -> std::result::Result<(), Vec<u8>> {
    Err(vec![1, 2])
}

#[allstak::track]
pub fn boxed_dyn_error() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("boxed".into())
}

/// A tracked fn written by a `macro_rules!` macro: its fragments (`$body:block`, `$ret:ty`)
/// reach the attribute wrapped in invisible groups.
macro_rules! tracked_by_a_macro {
    ($(#[$attr:meta])* $name:ident -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[allstak::track]
        pub fn $name() -> $ret $body
    };
}

tracked_by_a_macro! {
    /// Written by `tracked_by_a_macro!`.
    ///
    /// # Errors
    /// Never.
    written_by_a_macro -> Result<u8> { Ok(7) }
}

/// A future written by hand that returns another early: both are tracked.
#[allstak::track]
#[must_use]
pub fn early_boxed_future(
    n: u8,
) -> std::pin::Pin<Box<dyn Future<Output = std::result::Result<u8, AppError>> + Send>> {
    if n == 0 {
        return Box::pin(async { Err(AppError("zero".to_owned())) });
    }
    Box::pin(async move {
        if n > 9 {
            Err(AppError("big".to_owned()))
        } else {
            Ok(n)
        }
    })
}

/// The same behind `impl Future`: the early one is the same type as the tail.
#[allstak::track]
pub fn early_impl_future(n: u8) -> impl Future<Output = std::result::Result<u8, AppError>> {
    if n == 0 {
        return std::future::ready(Err(AppError("zero".to_owned())));
    }
    std::future::ready(Ok(n))
}

/// A crate whose `Result<T, C>` is not `core`'s with `C` for the error, as `error_stack`'s.
pub mod report {
    /// The error such a crate's `Result` carries: a context `C`, reported.
    #[derive(Debug)]
    pub struct Report<C>(pub C);

    impl<C: std::fmt::Display> std::fmt::Display for Report<C> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "report: {}", self.0)
        }
    }

    impl<C: std::fmt::Debug + std::fmt::Display> std::error::Error for Report<C> {}

    pub type Result<T, C> = std::result::Result<T, Report<C>>;
}

#[allstak::track]
pub fn context_result(n: u8) -> report::Result<u8, String> {
    if n == 0 {
        return Err(report::Report("zero".to_owned()));
    }
    Ok(n)
}

/// A boxed error that borrows: described through `dyn Error` of its own lifetime.
#[allstak::track]
pub fn borrowed_dyn_error<'a>(
    text: &'a str,
) -> std::result::Result<usize, Box<dyn std::error::Error + 'a>> {
    if text.is_empty() {
        return Err(Box::new(AppError("empty".to_owned())));
    }
    Ok(text.len())
}

/// The `futures` crate's name for a boxed future, as its users write it.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed future under that name.
#[allstak::track]
#[must_use]
pub fn box_future(text: &str) -> BoxFuture<'_, std::result::Result<usize, AppError>> {
    Box::pin(async move {
        if text.is_empty() {
            Err(AppError("empty".to_owned()))
        } else {
            Ok(text.len())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn annotated_fns_return_exactly_what_they_would_without_the_attribute() {
        assert_eq!(question_mark_with_from("7").ok().map(|n| n + 1), Some(8));
        assert_eq!(
            question_mark_with_from("x")
                .map_err(|e| e.0)
                .err()
                .as_deref(),
            Some("invalid digit found in string")
        );
        assert_eq!(early_return(-1).err().as_deref(), Some("-1 is negative"));
        assert_eq!(early_return(2), Ok(4));
        assert_eq!(coerced_tail().map(|f| f()).ok(), Some(7));
        assert_eq!(collected_tail(&["1", "2"]), Ok(vec![1, 2]));
        assert_eq!(impl_trait_in_return(3).map(Iterator::count).ok(), Some(3));
        assert_eq!(impl_trait_argument([1, 2]).ok(), Some(3));
        let mut store = Store::new();
        *store.first_mut().expect("first") = 9;
        assert_eq!(store.get(0).ok(), Some(&9));
        assert!(store.get(7).is_err());
        assert_eq!(block_on(store.total()).ok(), Some(14));
        assert_eq!(store.into_items().ok(), Some(vec![9, 2, 3]));
        assert!(Store::new_checked(Vec::new()).is_err());
        assert_eq!(mutable_parameter(1).ok(), Some(2));
        assert_eq!(block_on(async_fn(3)).ok(), Some(3));
        // SAFETY: a valid pointer.
        assert_eq!(block_on(unsafe { async_unsafe_fn(&5) }).ok(), Some(5));
        assert!(Files.load("k").is_err());
        assert_eq!(block_on(Files.load_async("k")).ok().as_deref(), Some("k"));
        assert_eq!(block_on(TrackedAbove.fetch(4)).ok(), Some(4));
        assert_eq!(generic::<u16>("300"), Ok(300));
        assert!(generic::<u8>("300").is_err());
        assert!(io_alias("/nonexistent").is_err());
        assert_eq!(anyhow_alias("5").ok(), Some(5));
        assert_eq!(Celsius(21.04).to_string(), "21.0 °C");
        assert_eq!(recursion(5).ok(), Some(120));
        assert_eq!(inner_attribute().ok(), Some(3));
        assert_eq!(use_inside_the_body().ok().as_deref(), Some("x"));
        assert_eq!(shadowing::names_like_ours().ok(), Some(3));
        // SAFETY: no requirements.
        assert_eq!(unsafe { unsafe_fn() }.ok(), Some(1));
        assert_eq!(extern_c_fn(), Ok(1));
        assert_eq!(other_attributes().ok(), Some(2));
        assert!(with_arguments().is_err());
        assert_eq!(only_debug_error(), Err(vec![1, 2]));
        assert!(boxed_dyn_error().is_err());
        assert_eq!(written_by_a_macro().ok(), Some(7));
    }

    #[test]
    fn a_future_written_by_hand_is_tracked_whichever_way_it_returns() {
        let events = allstak::testing::capture(|| {
            assert_eq!(block_on(early_boxed_future(2)).ok(), Some(2));
            assert!(block_on(early_boxed_future(0)).is_err());
            assert!(block_on(early_boxed_future(10)).is_err());
            assert_eq!(block_on(early_impl_future(3)).ok(), Some(3));
            assert!(block_on(early_impl_future(0)).is_err());
            assert_eq!(block_on(box_future("abc")).ok(), Some(3));
            assert!(block_on(box_future("")).is_err());
        });
        let messages: Vec<&str> = events.iter().map(allstak::Event::message).collect();
        assert_eq!(messages, ["zero", "big", "zero", "empty"]);
    }

    #[test]
    fn a_result_alias_whose_second_argument_is_not_the_error_is_tracked() {
        let events = allstak::testing::capture(|| {
            assert_eq!(context_result(1).ok(), Some(1));
            assert!(context_result(0).is_err());
        });
        let messages: Vec<&str> = events.iter().map(allstak::Event::message).collect();
        assert_eq!(messages, ["report: zero"]);
    }

    #[test]
    fn a_boxed_error_that_borrows_is_described_as_a_dyn_error() {
        let events = allstak::testing::capture(|| {
            assert_eq!(borrowed_dyn_error("ab").ok(), Some(2));
            assert!(borrowed_dyn_error("").is_err());
        });
        let described: Vec<(&str, &str)> = events
            .iter()
            .map(|event| (event.exception_class(), event.message()))
            .collect();
        assert_eq!(described, [("AppError", "empty")]);
    }
}
