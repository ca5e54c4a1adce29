//! Every shape `#[allstak::track]` must survive (MACROS.md), compiled as a library under
//! `#![deny(warnings, clippy::pedantic)]` (so the generated code adds no lint), with unit tests
//! that the annotated fns behave exactly as unannotated ones.
#![deny(warnings, clippy::pedantic)]
#![allow(
    clippy::missing_errors_doc,
    clippy::unnecessary_wraps,
    clippy::unused_async
)]

pub mod shapes;
