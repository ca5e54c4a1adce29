#!/usr/bin/env bash
# Footprint and expansion cost, printed in the shape of BENCHMARKS.md:
#   scripts/footprint.sh              # allstak vs a plain hello world, and the expansion cost
#   scripts/footprint.sh --compare    # also the HTTP/TLS stacks considered (slow: builds reqwest)
#   scripts/footprint.sh --expansion  # the expansion cost only
#   scripts/footprint.sh --expansion-instructions  # the same crates, rustc's instructions
#                                     # (valgrind): unlike wall time, not moved by the load
# Each build is a clean `cargo build --release` in its own target dir under target/footprint,
# so every figure includes compiling every dependency, as a user's first build does.
set -euo pipefail
# Every crate builds in its own target dir, whatever the caller's environment says.
unset CARGO_TARGET_DIR
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
if [[ "${1:-}" != --expansion* ]]; then
echo
echo "| program | clean release build | binary | crates |"
echo "|---|---|---|---|"
base=$(build hello_plain)
report "hello world" "$base" "$base"
report "hello world + allstak" "$base" "$(build hello_allstak)"
fi

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

# Expansion cost: crates of 500 fns, the same fns with and without `#[allstak::track]`, each
# its own crate in one workspace (dependencies built once), timing the crate alone, best of 5:
#   first build: no incremental cache (as `cargo build --timings` shows a crate's first build)
#   rebuild:     `touch` then build (the incremental cache reused)
# Bodies: one line (no `?`: the worst case, the wrapper is most of the fn) and twelve lines with
# `?` and early returns. "closure only" is the wrapper MACROS.md requires (a closure called once,
# forced to `FnOnce`), written out by hand; "syn closure attribute" is the least attribute that
# writes it as MACROS.md says (the signature parsed with syn, the body kept as tokens, wrapped,
# nothing else): the floor of any attribute built that way. Both call the closure through
# MACROS.md's tiny generic helper, defined in the crate itself.
expansion="$work/expansion"
mkdir -p "$expansion"
members=""
# The floors' helper: forces the closure to `FnOnce` and fixes its return type, one instance per
# fn, as a helper in any crate would be.
call_once_helper='#[inline]
fn call_once<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}'
one_line() { # ATTRIBUTE WRAP
  if [[ "$2" == closure || "$1" == "#[floor::closure]" ]]; then
    printf '%s\n' "$call_once_helper"
  fi
  for i in $(seq 1 500); do
    if [[ "$2" == closure ]]; then
      printf 'fn f%d(x: u32) -> Result<u32, std::num::TryFromIntError> { crate::call_once::<Result<u32, std::num::TryFromIntError>, _>(move || { u8::try_from(x + %d).map(u32::from) }) }\n' "$i" "$i"
    else
      printf '%s\nfn f%d(x: u32) -> Result<u32, std::num::TryFromIntError> { u8::try_from(x + %d).map(u32::from) }\n' "$1" "$i" "$i"
    fi
  done
  printf '#[allstak::main]\nfn main() {\n'
  for i in $(seq 1 500); do printf '    let _ = f%d(1);\n' "$i"; done
  printf '}\n'
}
twelve_lines() { # ATTRIBUTE
  cat <<'RUST'
#[derive(Debug)]
pub enum ParseError { MissingEquals, EmptyKey, Number(std::num::ParseIntError), TooBig { value: u32, limit: u32 } }
impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
}
impl std::error::Error for ParseError {}
RUST
  for i in $(seq 1 500); do
    cat <<RUST
$1
fn f$i(line: &str) -> Result<(String, u32), ParseError> {
    let (key, value) = line.split_once('=').ok_or(ParseError::MissingEquals)?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('#') {
        return Err(ParseError::EmptyKey);
    }
    let value: u32 = value.trim().parse().map_err(ParseError::Number)?;
    let limit = $i * 10;
    if value > limit {
        return Err(ParseError::TooBig { value, limit });
    }
    Ok((key.to_owned(), value))
}
RUST
  done
  printf '#[allstak::main]\nfn main() {\n'
  for i in $(seq 1 500); do printf '    let _ = f%d("a=1");\n' "$i"; done
  printf '}\n'
}
expansion_crate() { # NAME SOURCE
  mkdir -p "$expansion/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\nallstak = { path = "%s/allstak" }\nfloor = { path = "../floor" }\n' \
    "$1" "$root" > "$expansion/$1/Cargo.toml"
  printf '%s\n' "$2" > "$expansion/$1/src/main.rs"
  members="$members\"$1\", "
}
# The floor of an attribute built as MACROS.md says: `#[floor::closure]` parses the signature
# with syn, keeps the body as tokens, and wraps it in the closure, called through the crate's
# `call_once` helper; nothing else (no Err check, no site, no validation).
mkdir -p "$expansion/floor/src"
cat > "$expansion/floor/Cargo.toml" <<'TOML'
[package]
name = "floor"
version = "0.1.0"
edition = "2024"

[lib]
proc-macro = true

[dependencies]
proc-macro2 = "1"
quote = "1"
syn = { version = "3", features = ["full"] }
TOML
cat > "$expansion/floor/src/lib.rs" <<'RUST'
use proc_macro::TokenStream;
use syn::parse::{ParseStream, Parser as _};

#[proc_macro_attribute]
pub fn closure(_: TokenStream, item: TokenStream) -> TokenStream {
    let mut head: Vec<proc_macro2::TokenTree> = proc_macro2::TokenStream::from(item).into_iter().collect();
    let body = head.pop();
    let parsed = (|input: ParseStream<'_>| {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis: syn::Visibility = input.parse()?;
        let sig: syn::Signature = input.parse()?;
        Ok((attrs, vis, sig))
    })
    .parse2(head.into_iter().collect());
    let (attrs, vis, sig) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.to_compile_error().into(),
    };
    let ret = match &sig.output {
        syn::ReturnType::Type(_, ty) => quote::quote!(#ty),
        syn::ReturnType::Default => quote::quote!(()),
    };
    quote::quote!(
        #(#attrs)* #vis #sig { crate::call_once::<#ret, _>(move || #body) }
    )
    .into()
}
RUST
members="\"floor\", "
expansion_crate one_line_plain "$(one_line "" "")"
expansion_crate one_line_closure_only "$(one_line "" closure)"
expansion_crate one_line_syn_closure_attribute "$(one_line "#[floor::closure]" "")"
expansion_crate one_line_tracked "$(one_line "#[allstak::track]" "")"
expansion_crate one_line_tracked_no_report "$(one_line "#[allstak::track(report = false)]" "")"
expansion_crate twelve_lines_plain "$(twelve_lines "")"
expansion_crate twelve_lines_tracked "$(twelve_lines "#[allstak::track]")"
printf '[workspace]\nresolver = "3"\nmembers = [%s]\n' "$members" > "$expansion/Cargo.toml"
cp "$root/Cargo.lock" "$expansion/Cargo.lock" 2>/dev/null || true
(cd "$expansion" && cargo build -q)

# Instructions rustc executes for a first build of each crate (no incremental cache, linker
# excluded), counted by valgrind: the same on every run, whatever else the machine does.
if [[ "${1:-}" == "--expansion-instructions" ]]; then
  deps="$expansion/target/debug/deps"
  externs="--extern allstak=$(ls -t "$deps"/liballstak-*.rlib | head -1) --extern floor=$(ls -t "$deps"/libfloor-*.so | head -1)"
  ring=$(ls -d "$expansion"/target/debug/build/ring-*/out | head -1)
  instructions() { # NAME -> millions of instructions
    local out="$expansion/target/instructions/$1"
    rm -rf "$out"; mkdir -p "$out"
    # shellcheck disable=SC2086
    (cd "$expansion" && CARGO_PKG_NAME="$1" CARGO_PKG_VERSION=0.1.0 valgrind --tool=cachegrind \
      --cache-sim=no --cachegrind-out-file=/dev/null "$(rustc --print sysroot)/bin/rustc" \
      --crate-name "$1" --edition=2024 "$1/src/main.rs" --crate-type bin --emit=dep-info,link \
      -C embed-bitcode=no -C debuginfo=2 --out-dir "$out" -C incremental="$out/incremental" \
      -L dependency="$deps" $externs -L native="$ring" 2>&1) |
      awk '/I *refs/ { gsub(",", "", $NF); printf "%.0f", $NF / 1e6 }'
  }
  echo
  echo "| crate of 500 fns | rustc instructions, first build | |"
  echo "|---|---|---|"
  for body in one_line twelve_lines; do
    base=$(instructions "${body}_plain")
    printf '| %s, plain | %d M | |\n' "$body" "$base"
    for variant in closure_only syn_closure_attribute tracked tracked_no_report; do
      [[ -d "$expansion/${body}_$variant" ]] || continue
      n=$(instructions "${body}_$variant")
      printf '| %s, %s | %d M | %.2fx |\n' "$body" "${variant//_/ }" "$n" "$(calc "$n / $base")"
    done
  done
  exit 0
fi

# time_build NAME first|rebuild -> seconds, best of 5
time_build() {
  local best="" start end t
  for _ in 1 2 3 4 5; do
    [[ "$2" == first ]] && rm -rf "$expansion/target/debug/incremental/$1-"*
    touch "$expansion/$1/src/main.rs"
    start=$(seconds); (cd "$expansion" && cargo build -q -p "$1"); end=$(seconds)
    t=$(calc "$end - $start")
    if [[ -z "$best" ]] || [[ $(calc "$t < $best") == "1.000" ]]; then best=$t; fi
  done
  echo "$best"
}
echo
echo "| crate of 500 fns | first build | | rebuild | |"
echo "|---|---|---|---|---|"
for body in one_line twelve_lines; do
  base_first=$(time_build "${body}_plain" first)
  base_re=$(time_build "${body}_plain" rebuild)
  printf '| %s, plain | %.2f s | | %.2f s | |\n' "$body" "$base_first" "$base_re"
  for variant in closure_only syn_closure_attribute tracked tracked_no_report; do
    [[ -d "$expansion/${body}_$variant" ]] || continue
    first=$(time_build "${body}_$variant" first)
    re=$(time_build "${body}_$variant" rebuild)
    printf '| %s, %s | %.2f s | %.2fx | %.2f s | %.2fx |\n' "$body" "${variant//_/ }" \
      "$first" "$(calc "$first / $base_first")" "$re" "$(calc "$re / $base_re")"
  done
done
