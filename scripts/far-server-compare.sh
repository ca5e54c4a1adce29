#!/usr/bin/env bash
# The far-away-server table with the other SDKs in the same run (issue 21, "Measured side by
# side"): builds a sentry 0.49 and an AllStak-Rust 0.2.2 hello world, each starting and ending a
# release-health session as a CLI does, in their own crates under target/far-compare (outside
# the workspace), then runs far_server_timer with them as extra rows, then again where
# connecting takes a round trip too and the programs work 30 ms:
#   scripts/far-server-compare.sh
set -euo pipefail
# Every crate builds in its own target dir, whatever the caller's environment says.
unset CARGO_TARGET_DIR
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/far-compare"
mkdir -p "$work"

# new_crate NAME DEPENDENCIES MAIN_RS (the shape of scripts/footprint.sh's)
new_crate() {
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%b\n\n[workspace]\n' \
    "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
}

# sentry with release health and its blocking ureq transport (plain HTTP: no TLS to build).
new_crate hello_sentry \
  'sentry = { version = "0.49", default-features = false, features = ["backtrace", "contexts", "panic", "release-health", "ureq"] }' \
  'fn main() {
    // As a CLI does: the session starts at init and ends when the guard drops, which flushes
    // within the client'"'"'s shutdown timeout (2 s by default).
    // (ClientOptions is non-exhaustive: set its fields on the default.)
    let mut options = sentry::ClientOptions::default();
    options.release = Some("hello@1.0.0".into());
    options.auto_session_tracking = true;
    let _guard = sentry::init((std::env::var("SENTRY_DSN").unwrap_or_default(), options));
    println!("hello");
    // HELLO_WORK_MS: works that long before it ends, as benches/src/bin/hello_plain.rs.
    if let Some(ms) = std::env::var("HELLO_WORK_MS").ok().and_then(|ms| ms.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}'

# AllStak-Rust 0.2.2: init starts the application session, the guard's drop ends it and closes
# the client within its shutdown timeout (2 s by default). It reads ALLSTAK_API_KEY itself; the
# host is an option.
new_crate hello_allstak022 'allstak = "=0.2.2"' \
  'fn main() {
    let _guard = allstak::init(allstak::ClientOptions {
        api_key: std::env::var("ALLSTAK_API_KEY").unwrap_or_default(),
        host: std::env::var("ALLSTAK_HOST").unwrap_or_default(),
        release: Some("hello@1.0.0".into()),
        auto_session_tracking: true,
        ..Default::default()
    });
    println!("hello");
    // HELLO_WORK_MS: works that long before it ends, as benches/src/bin/hello_plain.rs.
    if let Some(ms) = std::env::var("HELLO_WORK_MS").ok().and_then(|ms| ms.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}'

for name in hello_sentry hello_allstak022; do
  (cd "$work/$name" && cargo build -q --release)
done
(cd "$root" && cargo build -q --release -p allstak-benches --bins)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
sentry_version=$(cd "$work/hello_sentry" && cargo tree -q -i sentry --depth 0 | sed 's/^sentry v//')
export FAR_SERVER_EXTRA="sentry $sentry_version=$work/hello_sentry/target/release/hello_sentry,AllStak-Rust 0.2.2=$work/hello_allstak022/target/release/hello_allstak022"
"$root/target/release/far_server_timer"
# Then as over a real network, where connecting costs a round trip too, with programs that
# work 30 ms: a connection opened while the program works is ready when it ends.
echo
FAR_SERVER_CONNECT_MS=100 FAR_SERVER_WORK_MS=30 "$root/target/release/far_server_timer"
