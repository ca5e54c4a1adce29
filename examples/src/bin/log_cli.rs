//! A program that reports through `log`: `cargo run -p allstak-examples --bin log_cli`.
//!
//! `allstak::log::Logger` wraps the program's own logger (here env_logger, which keeps printing
//! every record as before). `log::error!` becomes an error event and the session `errored`;
//! `info!` and `warn!` become the breadcrumbs that event carries. With `ALLSTAK_API_KEY` set, it
//! reports to `ALLSTAK_HOST`.

#[allstak::main]
fn main() {
    let inner = env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .parse_default_env()
        .build();
    let max_level = inner.filter().max(log::LevelFilter::Info);
    if log::set_boxed_logger(Box::new(allstak::log::Logger::new(inner))).is_ok() {
        log::set_max_level(max_level);
    }

    log::info!("syncing 3 folders");
    log::warn!("folder 'photos' is larger than the quota");
    log::error!("the sync server refused the upload (507)");
    println!("session status: {}", allstak::session_status());
}
