#![deny(warnings)]
#![deny(clippy::pedantic)]
//! Return types and tails: `?` with `From`, early returns, coercions and inference in the tail,
//! `impl Trait` in the return type, and `Result` through every kind of alias.

use std::fmt;
use std::io;
use std::num::ParseIntError;

#[derive(Debug, PartialEq)]
struct AppError(String);

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

/// A crate's own alias, with a default error type.
type Result<T, E = AppError> = std::result::Result<T, E>;

#[allstak::track]
fn question_mark_with_from(text: &str) -> Result<u8> {
    let n: u8 = text.parse()?;
    Ok(n)
}

#[allstak::track]
fn early_return(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("{n} is negative"));
    }
    Ok(n * 2)
}

#[allstak::track]
fn coerced_tail(n: u8) -> Result<Box<dyn Fn() -> u8>> {
    Ok(Box::new(move || n))
}

#[allstak::track]
fn coerced_early_return(n: u8) -> Result<Box<dyn Fn() -> u8>> {
    if n == 0 {
        return Ok(Box::new(|| 0));
    }
    Ok(Box::new(move || n))
}

#[allstak::track]
fn collected_tail(texts: &[&str]) -> Result<Vec<u8>, ParseIntError> {
    texts.iter().map(|t| t.parse::<u8>()).collect()
}

#[allstak::track]
fn impl_trait_in_return(n: u8) -> Result<impl Iterator<Item = u8>> {
    if n > 100 {
        return Err(AppError(format!("{n} is too many")));
    }
    Ok(0..n)
}

#[allstak::track]
fn io_alias(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

#[allstak::track]
fn anyhow_alias(text: &str) -> anyhow::Result<u8> {
    let n: u8 = text.parse()?;
    anyhow::ensure!(n > 0, "zero");
    Ok(n)
}

#[allstak::track]
fn boxed_dyn_error(text: &str) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok(text.parse()?)
}

#[allstak::track]
fn only_debug_error() -> Result<(), Vec<u8>> {
    Err(vec![1, 2])
}

struct Celsius(f64);

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

fn main() {
    assert_eq!(question_mark_with_from("7"), Ok(7));
    assert_eq!(
        question_mark_with_from("x"),
        Err(AppError("invalid digit found in string".to_owned()))
    );
    assert_eq!(early_return(-1), Err("-1 is negative".to_owned()));
    assert_eq!(early_return(2), Ok(4));
    assert_eq!(coerced_tail(7).map(|f| f()), Ok(7));
    assert_eq!(coerced_early_return(0).map(|f| f()), Ok(0));
    assert_eq!(collected_tail(&["1", "2"]), Ok(vec![1, 2]));
    assert!(collected_tail(&["1", "x"]).is_err());
    assert_eq!(impl_trait_in_return(3).map(Iterator::count), Ok(3));
    assert!(impl_trait_in_return(200).is_err());
    assert!(io_alias("/nonexistent/allstak").is_err());
    assert_eq!(anyhow_alias("5").ok(), Some(5));
    assert!(anyhow_alias("0").is_err());
    assert_eq!(boxed_dyn_error("9").ok(), Some(9));
    assert!(boxed_dyn_error("x").is_err());
    assert_eq!(only_debug_error(), Err(vec![1, 2]));
    assert_eq!(Celsius(21.04).to_string(), "21.0 °C");
}
