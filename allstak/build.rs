//! The rustc building this crate builds the program too: its version goes into every error
//! event (`metadata["rustc.version"]`). A rustc that cannot say gives `unknown`; the build never
//! fails over it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().trim_start_matches("rustc ").to_owned())
        .filter(|version| !version.is_empty() && !version.contains(['\n', '\r']))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ALLSTAK_RUSTC_VERSION={version}");
}
