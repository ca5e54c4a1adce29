//! `#[allstak::main(sample_rate = 0.0)]`: errors still make the session `errored`, and no error
//! event is sent. Plays `allstak_tests::AttrSampledOut`.

use allstak_tests::{AttrSampledOut, Scenario as _};

#[allstak::track]
fn port(text: &str) -> Result<u16, std::num::ParseIntError> {
    text.parse()
}

#[allstak::main(sample_rate = 0.0)]
fn main() {
    match AttrSampledOut::of_this_process() {
        AttrSampledOut::Errors => {
            let _ = port("eighty");
            let id = allstak::capture_display(&"sampled out");
            println!(
                "event id: {}",
                id.map_or_else(|| "none".to_owned(), |id| id.to_string())
            );
        }
    }
}
