// The case `describe = "display"` is for (README, "Troubleshooting"): without it, the probe asks
// for `IntoInnerError<Writer<W>>: Error`, which needs `W: 'static`.
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
    #[allstak::track]
    pub fn into_inner(self) -> Result<W, IntoInnerError<Writer<W>>> {
        Ok(self.0)
    }
}

fn main() {}
