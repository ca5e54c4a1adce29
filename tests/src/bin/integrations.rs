//! A program reporting through `tracing` and `log`, playing the scenario its
//! argument names (`allstak_tests::Integrations`).

use std::error::Error;
use std::fmt;

use allstak_tests::{Integrations, Scenario as _};
use tracing_subscriber::prelude::*;

#[derive(Debug)]
struct SettingsError(std::io::Error);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not read the settings")
    }
}

impl Error for SettingsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn settings_error() -> SettingsError {
    SettingsError(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such file",
    ))
}

#[tracing::instrument(err)]
#[allstak::track]
fn instrument_above_track() -> Result<(), SettingsError> {
    Err(settings_error())
}

#[allstak::track]
#[tracing::instrument(err)]
fn track_above_instrument(port: u16) -> Result<u16, std::num::ParseIntError> {
    "eighty".parse::<u16>().map(|p| p + port)
}

/// A program's settings, as programs derive `Debug` for them.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug only
struct DbConfig {
    host: &'static str,
    user: &'static str,
    pwd: &'static str,
    auth: &'static str,
    private_key: &'static str,
}

#[tracing::instrument]
fn connect(config: &DbConfig) {
    tracing::error!(
        credentials = "s3cr3t-credentials",
        "could not connect with Authorization: Bearer abc.def-ghi to https://admin:hunter3@db.internal/"
    );
}

#[allstak::main]
fn main() {
    let scenario = Integrations::of_this_process();
    if scenario == Integrations::LogError {
        let inner = env_logger::Builder::new()
            .filter_level(log::LevelFilter::Info)
            .build();
        log::set_boxed_logger(Box::new(allstak::log::Logger::new(inner))).expect("the only logger");
        log::set_max_level(log::LevelFilter::Info);
    } else if scenario == Integrations::TwoLayers {
        tracing_subscriber::registry()
            .with(allstak::tracing::layer())
            .with(allstak::tracing::layer())
            .init();
    } else {
        tracing_subscriber::registry()
            .with(allstak::tracing::layer())
            .init();
    }
    match scenario {
        Integrations::TwoLayers => {
            let span = tracing::info_span!("request", id = 7, user = tracing::field::Empty);
            span.record("user", "u-1");
            let _entered = span.enter();
            tracing::error!("could not load settings");
        }
        Integrations::TracingError => {
            tracing::info!("starting");
            tracing::warn!(retries = 3, "slow disk");
            tracing::debug!("not kept");
            let span = tracing::info_span!("request", id = 7);
            let _entered = span.enter();
            let error = settings_error();
            tracing::error!(
                error = &error as &dyn Error,
                user = "u-1",
                "could not load settings"
            );
        }
        Integrations::InstrumentAndTrack => {
            let _ = instrument_above_track();
            let _ = track_above_instrument(1);
        }
        Integrations::FullTrail => {
            for n in 0..150 {
                tracing::info!("crumb {n}");
            }
            tracing::error!("after the crumbs");
        }
        Integrations::HugeValues => {
            // What the issue saw: a 2 MB info! rode whole in every later event.
            tracing::info!("starting");
            tracing::info!("{}", "x".repeat(2 << 20));
            tracing::warn!(payload = "y".repeat(2 << 20).as_str(), "a big field");
            let span = tracing::info_span!("request", body = "z".repeat(2 << 20).as_str());
            let _entered = span.enter();
            tracing::error!(dump = %"w".repeat(2 << 20), "could not load settings");
        }
        Integrations::HeavyTrail => {
            // 100 breadcrumbs of 8 KiB: some 820 KiB of trail for a 256 KiB event.
            for n in 0..100 {
                tracing::info!("{n:03} {}", "h".repeat(8 << 10));
            }
            tracing::error!("after the heavy trail");
        }
        Integrations::Secrets => connect(&DbConfig {
            host: "db.internal",
            user: "app",
            pwd: "hunter2",
            auth: "tok-auth-123",
            private_key: "-----BEGIN PRIVATE KEY-----",
        }),
        Integrations::LogError => {
            log::info!("starting");
            log::debug!("not kept");
            log::error!("the database is gone");
        }
    }
    println!("done");
}
