//! `#[allstak::main(end_on_signals = false)]`: SIGTERM and SIGINT are left alone, whatever
//! `ALLSTAK_END_ON_SIGNALS` says. `signals_left_alone <scenario>`
//! (`allstak_tests::SignalsLeftAlone`).

use std::io::Write as _;

use allstak_tests::{Scenario as _, SignalsLeftAlone};

#[allstak::main(end_on_signals = false)]
fn main() {
    match SignalsLeftAlone::of_this_process() {
        SignalsLeftAlone::Wait => {
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "ready");
            let _ = stdout.flush();
            // Runs until its stdin closes, or a signal stops it.
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        }
    }
    println!("done");
}
