//! A program that reports through `tracing`: `cargo run -p allstak-examples --bin tracing_app`.
//!
//! `allstak::tracing::layer()` goes beside the program's other layers (here `fmt`, which keeps
//! printing as before). `error!` becomes an error event and the session `errored`; `info!` and
//! `warn!` become the breadcrumbs that event carries; an `error` field gives the class and the
//! `source()` chain. With `ALLSTAK_API_KEY` set, it reports to `ALLSTAK_HOST`.

use std::error::Error;

use tracing_subscriber::prelude::*;

#[tracing::instrument(err)]
#[allstak::track]
fn load_settings(path: &str) -> std::io::Result<String> {
    // Reported once, although both attributes see the `Err`.
    std::fs::read_to_string(path)
}

#[allstak::main]
fn main() {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(allstak::tracing::layer())
        .init();

    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting");
    let span = tracing::info_span!("job", name = "nightly-report");
    let _entered = span.enter();
    if let Err(error) = load_settings("/nonexistent/settings.toml") {
        tracing::warn!("no settings file; using the defaults");
        let error: &(dyn Error + 'static) = &error;
        tracing::error!(error, "the report cannot run without its settings");
    }
    println!("session status: {}", allstak::session_status());
}
