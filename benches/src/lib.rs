//! The functions the benchmarks measure: a tracked fn and its unannotated twin, same body,
//! both `#[inline(never)]`.

/// The error both return for odd numbers.
#[derive(Debug)]
pub struct Invalid(pub u64);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is odd", self.0)
    }
}

impl std::error::Error for Invalid {}

/// Halves even numbers; odd ones are an error.
///
/// # Errors
/// For odd numbers.
#[inline(never)]
pub fn plain(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

/// [`plain`] under `#[allstak::track]`.
///
/// # Errors
/// For odd numbers.
#[allstak::track]
#[inline(never)]
pub fn tracked(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}
