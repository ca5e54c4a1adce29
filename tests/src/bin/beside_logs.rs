//! A program that prints its own log, with the SDK's integration beside it when
//! `WITH_ALLSTAK=1`: `beside_logs tracing <layout> <filter>` (a `fmt` layer on stdout) or
//! `beside_logs log <filter>` (env_logger on stderr). What it prints must not change.

use std::process::ExitCode;

use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, fmt};

#[allstak::main]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_allstak = std::env::var_os("WITH_ALLSTAK").is_some();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["tracing", layout, filter] => {
            let ours = with_allstak.then(allstak::tracing::layer);
            let filter = EnvFilter::new(filter);
            let registry = tracing_subscriber::registry();
            match layout {
                "global" => registry.with(filter).with(program_log()).with(ours).init(),
                "global-ours-first" => registry.with(ours).with(filter).with(program_log()).init(),
                "per-layer" => registry
                    .with(program_log().with_filter(filter))
                    .with(ours)
                    .init(),
                "per-layer-ours-first" => registry
                    .with(ours)
                    .with(program_log().with_filter(filter))
                    .init(),
                _ => return usage(),
            }
            log_through_tracing();
        }
        ["log", filter] => {
            let inner = env_logger::Builder::new()
                .parse_filters(filter)
                .format_timestamp(None)
                .build();
            let max = inner.filter();
            if with_allstak {
                log::set_boxed_logger(Box::new(allstak::log::Logger::new(inner)))
            } else {
                log::set_boxed_logger(Box::new(inner))
            }
            .expect("the only logger");
            log::set_max_level(max);
            log_through_log();
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

/// The program's log: every line on stdout, without the time (two runs compare byte for byte).
fn program_log<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer().without_time().with_writer(std::io::stdout)
}

fn usage() -> ExitCode {
    eprintln!("usage: beside_logs tracing <layout> <filter> | beside_logs log <filter>");
    ExitCode::from(2)
}

#[tracing::instrument]
fn connect(port: u16) {
    tracing::debug!("dialing");
    tracing::info!(port, "connected");
}

fn log_through_tracing() {
    tracing::trace!("trace line");
    tracing::debug!(answer = 42, "debug line");
    tracing::info!("info line");
    tracing::warn!(target: "app::disk", "warn line");
    connect(5432);
    // The program's own `log` record, through the bridge `init()` installs.
    log::debug!("a debug record of the log crate");
    tracing::error!("error line");
    // The event's POST runs on the SDK's thread while the program goes on logging.
    let _ = allstak::flush();
    tracing::info!("after the flush");
}

fn log_through_log() {
    log::trace!("trace record");
    log::debug!("debug record");
    log::info!("info record");
    log::warn!(target: "app::disk", "warn record");
    log::error!("error record");
    let _ = allstak::flush();
    log::info!("after the flush");
}
