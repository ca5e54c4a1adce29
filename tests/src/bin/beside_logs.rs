//! A program that prints its own log, with the SDK's integration beside it when
//! `WITH_ALLSTAK=1`: `beside_logs tracing <layout> <filter>` (a `fmt` layer on stdout) or
//! `beside_logs log <filter>` (env_logger on stderr). What it prints must not change.

use allstak_tests::{BesideLogs, Layout, Named as _, Scenario as _};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, fmt};

#[allstak::main]
fn main() {
    let scenario = BesideLogs::of_this_process();
    let with_allstak = std::env::var_os("WITH_ALLSTAK").is_some();
    match scenario {
        BesideLogs::Tracing(layout, filter) => {
            let ours = with_allstak.then(allstak::tracing::layer);
            let filter = EnvFilter::new(filter.name());
            let registry = tracing_subscriber::registry();
            match layout {
                Layout::Global => registry.with(filter).with(program_log()).with(ours).init(),
                Layout::GlobalOursFirst => {
                    registry.with(ours).with(filter).with(program_log()).init();
                }
                Layout::PerLayer => registry
                    .with(program_log().with_filter(filter))
                    .with(ours)
                    .init(),
                Layout::PerLayerOursFirst => registry
                    .with(ours)
                    .with(program_log().with_filter(filter))
                    .init(),
                Layout::Unfiltered => registry.with(program_log()).with(ours).init(),
                Layout::BothFiltered => registry
                    .with(program_log().with_filter(filter))
                    .with(ours.with_filter(tracing_subscriber::filter::LevelFilter::WARN))
                    .init(),
            }
            log_through_tracing();
        }
        BesideLogs::Log(filter) => {
            let inner = env_logger::Builder::new()
                .parse_filters(filter.name())
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
    }
}

/// The program's log: every line on stdout, without the time (two runs compare byte for byte).
fn program_log<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer().without_time().with_writer(std::io::stdout)
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
    let _ = allstak::flush(allstak::Config::from_env().exit_deadline());
    tracing::info!("after the flush");
}

fn log_through_log() {
    log::trace!("trace record");
    log::debug!("debug record");
    log::info!("info record");
    log::warn!(target: "app::disk", "warn record");
    log::error!("error record");
    let _ = allstak::flush(allstak::Config::from_env().exit_deadline());
    log::info!("after the flush");
}
