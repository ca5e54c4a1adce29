#!/usr/bin/env bash
# Stack traces: std's Backtrace against the `backtrace` crate, and what capturing and symbolizing
# cost, printed in the shape of BENCHMARKS.md ("Stack traces"):
#   scripts/stack.sh
# Each build is a clean `cargo build` in its own target dir under target/stack.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/stack"
rm -rf "$work"
mkdir -p "$work"

# new_crate NAME DEPENDENCIES MAIN_RS
new_crate() {
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%b\n\n[profile.lines]\ninherits = "release"\ndebug = "line-tables-only"\n\n[workspace]\n' \
    "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%b\n' "$3" > "$work/$1/src/main.rs"
}
seconds() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
build() { # NAME -> "seconds bytes"
  local dir="$work/$1" start end
  (cd "$dir" && cargo fetch -q)
  start=$(seconds); (cd "$dir" && cargo build -q --release); end=$(seconds)
  echo "$(calc "$end - $start") $(stat -c %s "$dir/target/release/$1")"
}

new_crate plain "" 'fn main() {\n    println!("hello");\n}'
new_crate std_backtrace "" 'fn main() {\n    let stack = std::backtrace::Backtrace::force_capture();\n    println!("hello {}", format!("{stack:#}").len());\n}'
new_crate backtrace_crate 'backtrace = "0.3"' 'fn main() {\n    let stack = backtrace::Backtrace::new();\n    println!("hello {}", format!("{stack:?}").len());\n}'

echo "machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(rustc --version)"
echo
echo "| hello world that captures and prints a stack | clean release build | binary |"
echo "|---|---|---|"
read -r bt bs <<<"$(build plain)"
printf '| nothing (plain hello world) | %.1f s | %.3f MB |\n' "$bt" "$(calc "$bs / 1000000")"
for variant in std_backtrace backtrace_crate; do
  read -r t s <<<"$(build $variant)"
  printf '| %s | %.1f s (+%.1f s) | %.3f MB (+%.3f MB) |\n' "$variant" "$t" "$(calc "$t - $bt")" "$(calc "$s / 1000000")" "$(calc "($s - $bs) / 1000000")"
done

# Capture on the calling thread (200 captures ~34 frames deep), then the first symbolization
# (reads the debug info) and a second one (cached), in each profile.
new_crate timing "" '
use std::backtrace::Backtrace;
use std::time::{Duration, Instant};

#[inline(never)]
fn deep(n: u32, f: &mut dyn FnMut()) {
    if n == 0 { f() } else { deep(n - 1, f); std::hint::black_box(n); }
}

fn main() {
    let mut times = Vec::new();
    let mut kept = None;
    for _ in 0..200 {
        deep(22, &mut || {
            let started = Instant::now();
            let stack = Backtrace::force_capture();
            times.push(started.elapsed());
            kept = Some(stack);
        });
    }
    times.sort();
    let Some(stack) = kept else { return };
    let started = Instant::now();
    let text = format!("{stack:#}");
    let first = started.elapsed();
    let frames = text.lines().filter(|l| l.trim_start().split(\x27:\x27).next().is_some_and(|n| n.parse::<u32>().is_ok())).count();
    let mut second = Duration::ZERO;
    deep(22, &mut || {
        let stack = Backtrace::force_capture();
        let started = Instant::now();
        let _ = format!("{stack:#}");
        second = started.elapsed();
    });
    let size = std::fs::metadata(std::env::current_exe().unwrap_or_default()).map_or(0, |m| m.len());
    println!("{frames} | {:.1} µs | {:.1} ms | {:.2} ms | {:.2} MB", times[100].as_secs_f64() * 1e6, first.as_secs_f64() * 1e3, second.as_secs_f64() * 1e3, size as f64 / 1e6);
}'
echo
echo "| profile | frames | capture (median) | first symbolization | next one | binary |"
echo "|---|---|---|---|---|---|"
for profile in release lines dev; do
  (cd "$work/timing" && cargo build -q --profile "$profile")
  dir=$profile; [[ $profile == dev ]] && dir=debug
  echo "| $profile | $(RUST_BACKTRACE=0 "$work/timing/target/$dir/timing") |"
done
