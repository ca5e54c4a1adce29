//! The quickstart: `cargo run -p allstak-examples --bin quickstart`.
//!
//! The program being tracked is `app` below: an ordinary program with the two attributes. The
//! top-level `main` is only the demo's harness: it runs `app` four times — an ok run, a handled
//! error, an `Err` out of `main` and a panic — and shows what AllStak received.
//!
//! With no `ALLSTAK_HOST`, it starts a loopback collector (`allstak::testing`) and prints every
//! request. With `ALLSTAK_API_KEY` and `ALLSTAK_HOST` set, the runs report to that server.

use std::error::Error;
use std::process::Command;
use std::time::Duration;

mod app {
    use std::fmt;

    #[derive(Debug)]
    pub struct AppError(&'static str);

    impl fmt::Display for AppError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for AppError {}

    #[allstak::track]
    fn read_config(path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    #[allstak::main]
    pub fn main() -> Result<(), AppError> {
        match std::env::var("QUICKSTART_SCENARIO").as_deref() {
            Ok("handled") => match read_config("/nonexistent/app.toml") {
                Ok(config) => println!("config: {config}"),
                Err(error) => println!("no config ({error}); using the defaults"),
            },
            Ok("err") => return Err(AppError("the database is unreachable")),
            Ok("panic") => panic!("the cache index is out of range"),
            _ => println!("all good"),
        }
        Ok(())
    }
}

const SCENARIOS: [&str; 4] = ["ok", "handled", "err", "panic"];

fn main() -> Result<(), Box<dyn Error>> {
    if std::env::var_os("QUICKSTART_SCENARIO").is_some() {
        return app::main().map_err(Into::into);
    }
    run_demo()
}

fn run_demo() -> Result<(), Box<dyn Error>> {
    let exe = std::env::current_exe()?;
    let collector = match std::env::var("ALLSTAK_HOST") {
        Ok(host) => {
            println!("Reporting to {host} (ALLSTAK_HOST).\n");
            None
        }
        Err(_) => {
            let collector = allstak::testing::Collector::start()?;
            println!(
                "No ALLSTAK_HOST: reporting to a loopback collector at {}.\n",
                collector.url()
            );
            Some(collector)
        }
    };
    for scenario in SCENARIOS {
        let mut command = Command::new(&exe);
        command.env("QUICKSTART_SCENARIO", scenario);
        if let Some(collector) = &collector {
            command
                .env("ALLSTAK_HOST", collector.url())
                .env("ALLSTAK_API_KEY", "quickstart-demo-key")
                .env("ALLSTAK_TRACK_TEST_RUNS", "1");
        }
        let output = command.output()?;
        println!(
            "$ app   # scenario `{scenario}`, exit code {}",
            output
                .status
                .code()
                .map_or("none".to_owned(), |c| c.to_string())
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            println!("  stdout | {line}");
        }
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            println!("  stderr | {line}");
        }
    }
    let Some(collector) = collector else {
        println!("\nDone: the four sessions are on your AllStak dashboard.");
        return Ok(());
    };

    let ends = |requests: &[allstak::testing::Request]| {
        requests
            .iter()
            .filter(|r| r.path.ends_with("/sessions/end"))
            .count()
    };
    let requests = collector.wait_for(Duration::from_secs(10), |r| ends(r) >= SCENARIOS.len())?;
    println!("\nThe collector received {} requests:", requests.len());
    for request in &requests {
        println!("  POST {}", request.path);
        println!("       {}", request.body);
    }

    let statuses: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.ends_with("/sessions/end"))
        .filter_map(|r| r.json.get("status").and_then(serde_json::Value::as_str))
        .collect();
    println!("\nSessions by status:");
    for status in ["ok", "errored", "crashed", "abnormal"] {
        println!(
            "  {status:<9} {}",
            statuses.iter().filter(|s| **s == status).count()
        );
    }
    let crashed = statuses
        .iter()
        .filter(|s| **s == "crashed" || **s == "abnormal")
        .count();
    #[allow(clippy::cast_precision_loss)]
    let crash_free = 100.0 * (statuses.len() - crashed) as f64 / statuses.len().max(1) as f64;
    println!("Crash-free sessions: {crash_free:.1}%");
    Ok(())
}
