#!/usr/bin/env bash
# Footprint and expansion cost, printed in the shape of BENCHMARKS.md:
#   scripts/footprint.sh            # allstak vs a plain hello world, and the 500-fn expansion cost
#   scripts/footprint.sh --compare  # also the HTTP/TLS stacks considered (slow: builds reqwest)
# Each build is a clean `cargo build --release` in its own target dir under target/footprint,
# so every figure includes compiling every dependency, as a user's first build does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/footprint"
rm -rf "$work"
mkdir -p "$work"

# new_crate NAME DEPENDENCIES MAIN_RS
new_crate() {
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%b\n\n[workspace]\n' \
    "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%b\n' "$3" > "$work/$1/src/main.rs"
  cp "$root/Cargo.lock" "$work/$1/Cargo.lock" 2>/dev/null || true
}

seconds() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# build NAME -> prints "clean_build_s binary_bytes crates"
build() {
  local dir="$work/$1" start end
  (cd "$dir" && cargo fetch -q)
  start=$(seconds)
  (cd "$dir" && cargo build -q --release)
  end=$(seconds)
  local size crates
  size=$(stat -c %s "$dir/target/release/$1")
  crates=$( (cd "$dir" && cargo tree -q -e normal,build --prefix none) | sed 's/ (\*)//' | sort -u | wc -l)
  echo "$(calc "$end - $start") $size $crates"
}

report() { # LABEL BASE_RESULT RESULT
  read -r bt bs bc <<<"$2"
  read -r t s c <<<"$3"
  printf '| %s | %.1f s (+%.1f s) | %.2f MB (+%.2f MB) | %d (+%d) |\n' \
    "$1" "$t" "$(calc "$t - $bt")" "$(calc "$s / 1000000")" "$(calc "($s - $bs) / 1000000")" "$c" "$((c - bc))"
}

hello='fn main() {\n    println!("hello");\n}'
new_crate hello_plain "" "$hello"
new_crate hello_allstak "allstak = { path = \"$root/allstak\" }" "#[allstak::main]\n$hello"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version)"
echo
echo "| program | clean release build | binary | crates |"
echo "|---|---|---|---|"
base=$(build hello_plain)
report "hello world" "$base" "$base"
report "hello world + allstak" "$base" "$(build hello_allstak)"

if [[ "${1:-}" == "--compare" ]]; then
  # Each posts once, so the HTTP and TLS code is linked in, not optimised away.
  ureq_main='fn main() {\n    let _ = ureq::post("https://example.invalid").send("{}");\n}'
  new_crate http_ureq_webpki 'ureq = { version = "3", default-features = false, features = ["rustls"] }' "$ureq_main"
  new_crate http_ureq_platform 'ureq = { version = "3", default-features = false, features = ["rustls", "platform-verifier"] }' "$ureq_main"
  new_crate http_reqwest_rustls 'reqwest = { version = "0.13", default-features = false, features = ["rustls"] }\ntokio = { version = "1", features = ["rt"] }' \
    'fn main() {\n    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();\n    let _ = rt.map(|rt| rt.block_on(reqwest::Client::new().post("https://example.invalid").body("{}").send()));\n}'
  new_crate http_reqwest_blocking 'reqwest = { version = "0.13", default-features = false, features = ["rustls", "blocking"] }' \
    'fn main() {\n    let _ = reqwest::blocking::Client::new().post("https://example.invalid").body("{}").send();\n}'
  for variant in http_ureq_webpki http_ureq_platform http_reqwest_rustls http_reqwest_blocking; do
    report "$variant" "$base" "$(build "$variant")"
  done
fi

# Expansion cost: 500 tracked fns against the same 500 fns unannotated, dependencies prebuilt,
# timing only the crate itself (`touch` then rebuild), best of 3.
gen_fns() { # ATTRIBUTE
  for i in $(seq 1 500); do
    printf '%s\nfn f%d(x: u32) -> Result<u32, std::num::TryFromIntError> { u8::try_from(x + %d).map(u32::from) }\n' "$1" "$i" "$i"
  done
  printf '#[allstak::main]\nfn main() {\n'
  for i in $(seq 1 500); do printf '    let _ = f%d(1);\n' "$i"; done
  printf '}\n'
}
for variant in plain tracked; do
  attribute=""; [[ $variant == tracked ]] && attribute="#[allstak::track]"
  new_crate "expand_$variant" "allstak = { path = \"$root/allstak\" }" "$(gen_fns "$attribute")"
  (cd "$work/expand_$variant" && cargo build -q)
done
echo
echo "| crate with 500 fns | rebuild of the crate alone (debug, best of 3) |"
echo "|---|---|"
for variant in plain tracked; do
  best=""
  for _ in 1 2 3; do
    touch "$work/expand_$variant/src/main.rs"
    start=$(seconds); (cd "$work/expand_$variant" && cargo build -q); end=$(seconds)
    t=$(calc "$end - $start")
    if [[ -z "$best" ]] || [[ $(calc "$t < $best") == "1.000" ]]; then best=$t; fi
  done
  printf '| %s | %.2f s |\n' "$variant" "$best"
done
