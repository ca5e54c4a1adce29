#![deny(warnings)]
#![deny(clippy::pedantic)]

extern crate allstak as renamed;

#[renamed::track(crate = "renamed")]
fn parse(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

#[renamed::main(
    crate = "renamed",
    release = "app@1.0.0",
    environment = "staging",
    host = "http://127.0.0.1:9",
    exit_deadline_ms = 500,
    end_on_signals = true,
    attach_stacktrace = true,
    sample_rate = 0.5,
    user_id = "u-42",
    in_app_include = ["shop_core", "shop-db::pool"],
    in_app_exclude = [],
)]
fn main() {
    assert!(parse("x").is_err());
    // No session under nextest (the test-run guard): then the status stays `ok`.
    if renamed::current_session_id().is_some() {
        assert_eq!(renamed::session_status(), renamed::SessionStatus::Errored);
    }
}
