//! A program using both attributes, playing the scenario its argument names
//! (`allstak_tests::AttrMain`).

use std::fmt;

use allstak_tests::{AttrMain, Scenario as _};

#[derive(Debug)]
struct AppError(String);

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AppError {}

/// An error whose `Display` is a bug: it panics.
#[derive(Debug)]
struct PanickyDisplay;

impl fmt::Display for PanickyDisplay {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("a bug in a Display impl")
    }
}

impl std::error::Error for PanickyDisplay {}

#[allstak::track]
fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {
    text.parse()
}

#[allstak::track(name = "settings::load", report = false)]
fn load_quietly(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[allstak::track]
fn connect() -> Result<(), PanickyDisplay> {
    Err(PanickyDisplay)
}

#[allstak::main]
fn main() -> Result<(), AppError> {
    let scenario = AttrMain::of_this_process();
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
    match scenario {
        AttrMain::Ok => {
            let port = parse_port("8080").map_err(|e| AppError(e.to_string()))?;
            println!("port {port}");
        }
        AttrMain::Handled => {
            if parse_port("eighty").is_err() {
                println!("using the default port");
            }
        }
        AttrMain::Quiet => {
            if load_quietly("/nonexistent/settings.toml").is_err() {
                println!("no settings");
            }
        }
        AttrMain::Err => return Err(AppError("the database is gone".to_owned())),
        AttrMain::Panic => panic!("main gave up"),
        AttrMain::UserHook => {
            // A program's own hook, installed the usual way (keeping the one before it).
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                eprintln!("user hook ran");
                previous(info);
            }));
            panic!("main gave up");
        }
        AttrMain::Exit => {
            let _ = parse_port("x");
            std::process::exit(3);
        }
        AttrMain::ThreadPanic => {
            let joined = std::thread::spawn(|| panic!("worker gave up")).join();
            println!("worker panicked: {}", joined.is_err());
        }
        AttrMain::DisplayPanics => {
            println!("connected: {}", connect().is_ok());
        }
        AttrMain::CaughtPanicThenErr => {
            let caught = std::panic::catch_unwind(|| panic!("caught on main"));
            println!("caught: {}", caught.is_err());
            return Err(AppError("the database is gone".to_owned()));
        }
        AttrMain::CaughtPanic => {
            let caught = std::panic::catch_unwind(|| panic!("caught on main"));
            println!("caught: {}", caught.is_err());
        }
    }
    println!("done");
    Ok(())
}
