//! A command-line tool with `anyhow`: `cargo run -p allstak-examples --bin anyhow_cli -- <file>`.
//!
//! `anyhow::Result` works through the alias; an `Err` out of `main` prints as usual, exits with
//! code 1, and ends the session `crashed`.

use anyhow::Context;

#[allstak::track]
fn count_lines(path: &str) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(text.lines().count())
}

#[allstak::main]
fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Cargo.toml".to_owned());
    let lines = count_lines(&path)?;
    println!("{path}: {lines} lines");
    Ok(())
}
