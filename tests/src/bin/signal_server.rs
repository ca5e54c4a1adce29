//! A tokio server that stops gracefully on SIGTERM or SIGINT, with its own `tokio::signal`
//! handlers installed after the SDK's (`#[allstak::main]` starts first), on a multi-thread
//! runtime. `signal_server <scenario>` (`allstak_tests::SignalServer`).

use allstak_tests::{Scenario as _, SignalServer};

#[cfg(unix)]
#[allstak::main]
#[tokio::main]
async fn main() {
    use tokio::signal::unix::{SignalKind, signal};

    match SignalServer::of_this_process() {
        SignalServer::GracefulShutdown => {
            // Registered before `ready`: a signal from then on is the program's.
            let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM stream");
            let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT stream");
            println!("ready");
            let which = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            println!("{which}: draining");
            // The graceful shutdown: work that outlives the signal, on the runtime's threads.
            let drained = tokio::task::spawn_blocking(|| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                "drained"
            })
            .await;
            println!("{}", drained.unwrap_or("the drain failed"));
        }
    }
}

#[cfg(not(unix))]
fn main() {
    let _ = SignalServer::of_this_process();
}
