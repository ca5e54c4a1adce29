//! The public API's answers, end to end: the id a capture call returns, `last_event_id`, a
//! message's level, sampling, and whether the SDK reports. Plays `allstak_tests::ApiProgram`.

use allstak_tests::{ApiProgram, Scenario as _};

fn shown(id: Option<allstak::EventId>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| id.to_string())
}

#[allstak::main]
fn main() {
    let scenario = ApiProgram::of_this_process();
    println!("enabled: {}", allstak::is_enabled());
    if let Some(reason) = allstak::disabled_reason() {
        println!("disabled: {reason}");
    }
    match scenario {
        ApiProgram::CaptureError => {
            let error = "eighty".parse::<u16>().expect_err("not a number");
            let id = allstak::capture_error(&error);
            println!("event id: {}", shown(id));
            println!("last event id: {}", shown(allstak::last_event_id()));
        }
        ApiProgram::InfoMessage => {
            let id = allstak::capture_message("nightly import done", allstak::Level::Info);
            println!("event id: {}", shown(id));
            println!("status: {}", allstak::session_status());
        }
    }
}
