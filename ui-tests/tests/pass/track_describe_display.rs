#![deny(warnings)]
#![deny(clippy::pedantic)]
//! An error type whose `Error` impl needs `'static` parameters (as std's
//! `IntoInnerError<W>` with `W: Any`), returned from a generic impl whose parameter is not
//! `'static`: the probe would ask for that `Error` impl and fail (E0310, see
//! `fail/track_static_error_in_generic_impl.rs`); `describe = "display"` describes it through
//! `Display`.

use std::fmt;
use std::io;

#[derive(Debug)]
pub struct Writer<W>(W);

#[derive(Debug)]
pub struct IntoInnerError<W>(W);

impl<W> fmt::Display for IntoInnerError<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not flush")
    }
}

impl<W: std::any::Any + fmt::Debug> std::error::Error for IntoInnerError<W> {}

impl<W: io::Write + fmt::Debug> Writer<W> {
    /// # Errors
    /// When the writer cannot be flushed.
    #[allstak::track(describe = "display")]
    pub fn into_inner(self) -> Result<W, IntoInnerError<Writer<W>>> {
        Ok(self.0)
    }

    /// # Errors
    /// Always.
    #[allstak::track(describe = "display")]
    pub async fn into_inner_later(self) -> Result<W, IntoInnerError<Writer<W>>> {
        Err(IntoInnerError(self))
    }
}

fn main() {
    assert!(Writer(Vec::<u8>::new()).into_inner().is_ok());
    let _later = Writer(Vec::<u8>::new()).into_inner_later();
}
