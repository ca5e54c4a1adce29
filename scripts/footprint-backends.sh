#!/usr/bin/env bash
# Footprint of each HTTP backend and TLS choice, printed in the shape of BENCHMARKS.md:
#   scripts/footprint-backends.sh hello     [RUNS]  # hello world under #[allstak::main], per backend/TLS
#   scripts/footprint-backends.sh reqwest   [RUNS]  # a program that already has reqwest (+ tokio), then + allstak
#   scripts/footprint-backends.sh cli       [RUNS]  # a typical CLI stack, plain vs + allstak (and feature variants)
#   scripts/footprint-backends.sh blocking  [RUNS]  # reqwest blocking vs async on a current-thread runtime
#   scripts/footprint-backends.sh all       [RUNS]
# RUNS (default 1): each clean build is repeated that many times; times and sizes are printed
# as ranges. Every build is a clean `cargo build --release` in the case's own target dir under
# target/footprint-backends, so every figure includes compiling every dependency, as a user's
# first build does. Sizes: the binary as built, and `strip`ped (`strip -o`). Crates: distinct
# packages in `cargo tree -e normal,build`, the program itself included.
# ALLSTAK_DIR overrides the allstak crate used (default: this checkout's).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
allstak=${ALLSTAK_DIR:-$root/allstak}
work="$root/target/footprint-backends"
what=${1:-all}
runs=${2:-1}
mkdir -p "$work"

# new_crate NAME DEPENDENCIES MAIN_RS: a scratch binary crate NAME (its own workspace).
new_crate() {
  rm -rf "${work:?}/$1"
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%b\n\n[workspace]\n' \
    "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%b\n' "$3" > "$work/$1/src/main.rs"
  cp "$root/Cargo.lock" "$work/$1/Cargo.lock" 2>/dev/null || true
}

seconds() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
mb() { calc "$1 / 1000000"; }

# tree NAME -> the distinct packages of its tree ("name vX.Y.Z"), one a line, sorted
tree() {
  (cd "$work/$1" && cargo tree -q -e normal,build --prefix none) | sed 's/ (\*)//; s/ (proc-macro)//; s/ (\/.*)//' \
    | awk '{print $1, $2}' | sort -u
}

# build_all NAME…: RUNS clean builds of each, interleaved (run 1 of every case, then run 2…),
# so that each run's cases see the same moment of a noisy machine. Appends
# "wall_s raw_bytes stripped_bytes crates cpu_s" per run to $work/NAME.results (cpu: user + sys
# of cargo and every rustc and linker it ran, which a busy machine disturbs less than the wall time).
build_all() {
  local name dir bin raw stripped crates times wall user sys TIMEFORMAT target n=$runs
  [[ -n "${shared:-}" ]] && n=1
  for name in "$@"; do
    (cd "$work/$name" && cargo fetch -q)
    tree "$name" > "$work/$name.crates"
    : > "$work/$name.results"
    if [[ -n "${shared:-}" ]]; then touch "$work/$name.shared"; else rm -f "$work/$name.shared"; fi
  done
  for _ in $(seq 1 "$n"); do
    for name in "$@"; do
      dir="$work/$name"
      target="$dir/target"
      [[ -n "${shared:-}" ]] && target="$work/shared-target" || rm -rf "$target"
      TIMEFORMAT='%R %U %S'
      times=$( { time (cd "$dir" && CARGO_TARGET_DIR="$target" cargo build -q --release --timings 2>>"$work/$name.log"); } 2>&1 )
      bin=$(cat "$work/$name.bin" 2>/dev/null || echo "$name")
      raw=$(stat -c %s "$target/release/$bin")
      strip -o "$target/release/$bin.stripped" "$target/release/$bin"
      stripped=$(stat -c %s "$target/release/$bin.stripped")
      crates=$(wc -l < "$work/$name.crates")
      read -r wall user sys <<<"$times"
      echo "$wall $raw $stripped $crates $(calc "$user + $sys")" >> "$work/$name.results"
    done
  done
}

# span FILE FIELD SCALE DECIMALS UNIT -> "lo–hi UNIT" (or one figure) of that field over the runs
span() {
  awk -v f="$2" -v k="$3" -v d="$4" -v u="$5" 'NR==1{lo=$f;hi=$f} {if($f<lo)lo=$f; if($f>hi)hi=$f}
    END{a=sprintf("%.*f",d,lo*k); b=sprintf("%.*f",d,hi*k); print (a==b ? a : a "–" b) u}' "$1"
}
# report LABEL BASE NAME: one table row; the deltas pair each run of NAME with the same run of BASE
report() {
  local label=$1 base=$2 name=$3 c bc
  if [[ -f "$work/$name.shared" ]]; then report_size "$@"; return; fi
  c=$(head -1 "$work/$name.results" | awk '{print $4}')
  if [[ "$name" == "$base" ]]; then
    printf '| %s | %s | %s | %s | %s | %d |\n' "$label" "$(span "$work/$name.results" 1 1 1 " s")" \
      "$(span "$work/$name.results" 5 1 1 " s")" \
      "$(span "$work/$name.results" 2 1e-6 2 " MB")" "$(span "$work/$name.results" 3 1e-6 2 " MB")" "$c"
    return
  fi
  bc=$(head -1 "$work/$base.results" | awk '{print $4}')
  paste -d' ' "$work/$name.results" "$work/$base.results" | awk '{print $1-$6, $2-$7, $3-$8, 0, $5-$10}' > "$work/$name.delta"
  printf '| %s | %s (+%s) | %s (+%s) | %s (+%s) | %s (**+%s**) | %d (+%d) |\n' "$label" \
    "$(span "$work/$name.results" 1 1 1 " s")" "$(span "$work/$name.delta" 1 1 1 " s")" \
    "$(span "$work/$name.results" 5 1 1 " s")" "$(span "$work/$name.delta" 5 1 1 " s")" \
    "$(span "$work/$name.results" 2 1e-6 2 " MB")" "$(span "$work/$name.delta" 2 1e-6 2 " MB")" \
    "$(span "$work/$name.results" 3 1e-6 2 " MB")" "$(span "$work/$name.delta" 3 1e-6 2 " MB")" \
    "$c" "$((c - bc))" | sed 's/+-/−/g; s/–-/–−/g'
}
# report_size LABEL BASE NAME: for builds in the shared target dir (not clean: no build time)
report_size() {
  local label=$1 base=$2 name=$3 c bc
  c=$(head -1 "$work/$name.results" | awk '{print $4}'); bc=$(head -1 "$work/$base.results" | awk '{print $4}')
  local r s br bs; read -r _ r s _ <<<"$(head -1 "$work/$name.results")"; read -r _ br bs _ <<<"$(head -1 "$work/$base.results")"
  if [[ "$name" == "$base" ]]; then
    printf '| %s | — | — | %.2f MB | %.2f MB | %d |\n' "$label" "$(mb "$r")" "$(mb "$s")" "$c"
  else
    printf '| %s | — | — | %.2f MB (+%.2f MB) | %.2f MB (**+%.2f MB**) | %d (+%d) |\n' "$label" "$(mb "$r")" "$(mb "$((r - br))")" \
      "$(mb "$s")" "$(mb "$((s - bs))")" "$c" "$((c - bc))" | sed 's/+-/−/g'
  fi
}
header() {
  echo
  echo "| $1 | clean release build (wall) | (CPU: user + sys) | binary | stripped | crates |"
  echo "|---|---|---|---|---|---|"
}
# added BASE NAME: the packages NAME has that BASE does not
added() { comm -13 "$work/$1.crates" "$work/$2.crates" | grep -v "^$2 " | awk '{print $1}' | paste -sd' '; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version); $runs run(s) per figure"

hello='fn main() {\n    println!("hello");\n}'
if [[ "$what" == hello || "$what" == all ]]; then
  new_crate hello_plain "" "$hello"
  new_crate hello_ureq_rustls "allstak = { path = \"$allstak\" }" "#[allstak::main]\n$hello"
  new_crate hello_ureq_native "allstak = { path = \"$allstak\", default-features = false, features = [\"ureq\", \"native-tls\"] }" "#[allstak::main]\n$hello"
  new_crate hello_reqwest_rustls "allstak = { path = \"$allstak\", default-features = false, features = [\"reqwest\", \"rustls\"] }" "#[allstak::main]\n$hello"
  new_crate hello_reqwest_native "allstak = { path = \"$allstak\", default-features = false, features = [\"reqwest\", \"native-tls\"] }" "#[allstak::main]\n$hello"
  build_all hello_plain hello_ureq_rustls hello_ureq_native hello_reqwest_rustls hello_reqwest_native
  header "hello world"
  report "plain" hello_plain hello_plain
  report "+ \`allstak\` (default: ureq + rustls)" hello_plain hello_ureq_rustls
  report "+ \`allstak\`, ureq + native-tls" hello_plain hello_ureq_native
  report "+ \`allstak\`, reqwest + rustls" hello_plain hello_reqwest_rustls
  report "+ \`allstak\`, reqwest + native-tls" hello_plain hello_reqwest_native
fi

# A program that already has reqwest (each TLS choice) and tokio, requesting in main; then the
# same program with allstak on the same backend and TLS.
if [[ "$what" == reqwest || "$what" == all ]]; then
  tokio_dep='tokio = { version = "1", features = ["macros", "rt-multi-thread"] }'
  rq_main='async fn main() {\n    let answer = reqwest::Client::new().post("https://example.invalid/").body("{}").send().await;\n    println!("{}", answer.is_ok());\n}'
  for tls in rustls native; do
    if [[ $tls == rustls ]]; then rq='reqwest = "0.13"'; feature=rustls
    else rq='reqwest = { version = "0.13", default-features = false, features = ["native-tls"] }'; feature=native-tls; fi
    new_crate "app_reqwest_$tls" "$rq\n$tokio_dep" "#[tokio::main]\n$rq_main"
    new_crate "app_reqwest_${tls}_allstak" \
      "$rq\n$tokio_dep\nallstak = { path = \"$allstak\", default-features = false, features = [\"reqwest\", \"$feature\"] }" \
      "#[allstak::main]\n#[tokio::main]\n$rq_main"
  done
  # sizes and crates only: built in one target dir shared with `blocking` and `variants`
  shared=1 build_all app_reqwest_rustls app_reqwest_rustls_allstak app_reqwest_native app_reqwest_native_allstak
  header "program using reqwest 0.13 + tokio"
  report "reqwest (default features: rustls)" app_reqwest_rustls app_reqwest_rustls
  report "+ \`allstak\` (reqwest + rustls)" app_reqwest_rustls app_reqwest_rustls_allstak
  report "reqwest, native-tls only" app_reqwest_native app_reqwest_native
  report "+ \`allstak\` (reqwest + native-tls)" app_reqwest_native app_reqwest_native_allstak
  echo
  echo "crates allstak adds (rustls): $(added app_reqwest_rustls app_reqwest_rustls_allstak)"
  echo "crates allstak adds (native-tls): $(added app_reqwest_native app_reqwest_native_allstak)"
fi

# A real CLI: `just` (lib + bin, ~28k lines in src/), built from its published source with its
# own Cargo.lock, as released and with `#[allstak::main]` on its `main` (allstak's default features).
if [[ "$what" == cli || "$what" == all ]]; then
  just_version=1.59.0
  mkdir -p "$work/fetch_just/src"
  printf '[package]\nname = "fetch_just"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\njust = "=%s"\n\n[workspace]\n' \
    "$just_version" > "$work/fetch_just/Cargo.toml"
  echo 'fn main() {}' > "$work/fetch_just/src/main.rs"
  (cd "$work/fetch_just" && cargo fetch -q)
  src=$(cd "$work/fetch_just" && cargo metadata -q --format-version 1 \
    | python3 -c "import json,sys; print(next(p['manifest_path'] for p in json.load(sys.stdin)['packages'] if p['name']=='just'))")
  src=$(dirname "$src")
  for variant in cli_just cli_just_allstak; do
    rm -rf "${work:?}/$variant"
    mkdir -p "$work/$variant"
    cp -r "$src/." "$work/$variant/"
    chmod -R u+w "$work/$variant"
    # the package renamed (its first `name`), so that the two trees tell apart; lib and bin stay `just`
    sed -i "0,/^name = \"just\"$/s//name = \"$variant\"/" "$work/$variant/Cargo.toml"
    printf '\n[workspace]\n' >> "$work/$variant/Cargo.toml"
    echo just > "$work/$variant.bin"
  done
  printf '\n[dependencies.allstak]\npath = "%s"\n' "$allstak" >> "$work/cli_just_allstak/Cargo.toml"
  sed -i 's/^fn main() {$/#[allstak::main]\nfn main() {/' "$work/cli_just_allstak/src/main.rs"
  grep -q '#\[allstak::main\]' "$work/cli_just_allstak/src/main.rs"
  build_all cli_just cli_just_allstak
  header "\`just\` $just_version ($(cat "$src"/src/*.rs | wc -l) lines)"
  report "as released" cli_just cli_just
  report "+ \`allstak\` (default: ureq + rustls)" cli_just cli_just_allstak
  echo
  echo "crates allstak adds: $(added cli_just cli_just_allstak)"
fi

# reqwest's blocking client vs its async client on a current-thread runtime (each on a plain
# thread, as the SDK's transport thread is): size and crates of a program that posts once, then
# a loopback benchmark: tiny_http in-process answering 202, POSTs of 200 bytes.
if [[ "$what" == blocking || "$what" == all ]]; then
  rq_features='default-features = false, features = ["rustls"'
  new_crate post_reqwest_async "reqwest = { version = \"0.13\", $rq_features] }\ntokio = { version = \"1\", features = [\"rt\"] }" \
    'fn main() {\n    std::thread::spawn(|| {\n        let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().unwrap();\n        let client = reqwest::Client::new();\n        let _ = rt.block_on(client.post("https://example.invalid/").body("{}").send());\n    }).join().unwrap();\n}'
  new_crate post_reqwest_blocking "reqwest = { version = \"0.13\", $rq_features, \"blocking\"] }" \
    'fn main() {\n    std::thread::spawn(|| {\n        let client = reqwest::blocking::Client::new();\n        let _ = client.post("https://example.invalid/").body("{}").send();\n    }).join().unwrap();\n}'
  new_crate bench_reqwest "reqwest = { version = \"0.13\", $rq_features, \"blocking\"] }\ntokio = { version = \"1\", features = [\"rt\"] }\ntiny_http = \"0.12\"" "$(cat <<'RUST'
//! bench_reqwest blocking|async [N] [HOST]: N sequential POSTs of 200 bytes to a tiny_http
//! server on another thread of this process (answers 202), from a client on a plain thread.
use std::time::{Duration, Instant};

/// The process's threads: (tid, name).
fn threads() -> Vec<(String, String)> {
    let mut all: Vec<_> = std::fs::read_dir("/proc/self/task").unwrap()
        .map(|e| {
            let tid = e.unwrap().file_name().into_string().unwrap();
            let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
            (tid, comm.trim().to_owned())
        })
        .collect();
    all.sort();
    all
}

fn main() {
    let mode = std::env::args().nth(1).expect("blocking|async");
    let n: usize = std::env::args().nth(2).map_or(1000, |n| n.parse().unwrap());
    let host = std::env::args().nth(3).unwrap_or_else(|| "127.0.0.1".to_owned());
    // The server's threads (and those tiny_http spawns later) are named `srv`.
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("srv".into()).spawn(move || {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        port_tx.send(server.server_addr().to_ip().unwrap().port()).unwrap();
        for mut request in server.incoming_requests() {
            let mut body = Vec::new();
            let _ = request.as_reader().read_to_end(&mut body);
            let _ = request.respond(tiny_http::Response::empty(202));
        }
    }).unwrap();
    let url = format!("http://{host}:{}/api/ingest", port_rx.recv().unwrap());
    let payload = format!("{{\"session\":\"{}\",\"status\":\"ok\",\"pad\":\"{}\"}}", "0".repeat(36), "x".repeat(140));
    let client_thread = std::thread::Builder::new().name("client".into()).spawn(move || {
        let before = threads();
        let start = Instant::now();
        let mut times = Vec::with_capacity(n);
        let first;
        let after;
        let setup;
        if mode == "blocking" {
            let client = reqwest::blocking::Client::new();
            setup = start.elapsed();
            let post = |client: &reqwest::blocking::Client| {
                let answer = client.post(&url).body(payload.clone()).send().unwrap();
                assert_eq!(answer.status().as_u16(), 202);
                answer.bytes().unwrap();
            };
            post(&client);
            first = start.elapsed();
            after = threads();
            for _ in 0..n {
                let t = Instant::now();
                post(&client);
                times.push(t.elapsed());
            }
        } else {
            let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().unwrap();
            let client = reqwest::Client::new();
            setup = start.elapsed();
            let post = |client: &reqwest::Client| {
                rt.block_on(async {
                    let answer = client.post(&url).body(payload.clone()).send().await.unwrap();
                    assert_eq!(answer.status().as_u16(), 202);
                    answer.bytes().await.unwrap();
                })
            };
            post(&client);
            first = start.elapsed();
            after = threads();
            for _ in 0..n {
                let t = Instant::now();
                post(&client);
                times.push(t.elapsed());
            }
        }
        (before, after, setup, first, times)
    }).unwrap();
    let (before, after, setup, first, mut times) = client_thread.join().unwrap();
    let created: Vec<_> = after.iter().filter(|t| !before.contains(t) && t.1 != "srv").map(|t| t.1.clone()).collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("{} {} {:.0} {:.0} {:.1} {:.1} {:.1} {}", std::env::args().nth(1).unwrap(), created.len(), us(setup), us(first), us(mean), us(times[times.len() / 2]), us(times[times.len() * 99 / 100]), created.join(","));
}
RUST
)"
  shared=1 build_all post_reqwest_async post_reqwest_blocking
  header "reqwest 0.13 + rustls, a program that posts once on a plain thread"
  report "async \`Client\`, current-thread runtime (\`tokio\` \`rt\`)" post_reqwest_async post_reqwest_async
  report "\`blocking::Client\`" post_reqwest_async post_reqwest_blocking
  echo
  echo "crates blocking adds over async: $(added post_reqwest_async post_reqwest_blocking)"
  echo "crates async has that blocking does not: $(added post_reqwest_blocking post_reqwest_async)"
  (cd "$work/bench_reqwest" && CARGO_TARGET_DIR="$work/shared-target" cargo build -q --release)
  rm -f "$work/bench.blocking" "$work/bench.async"
  echo
  echo "| client (on a plain thread) | threads it creates (URL host 127.0.0.1 / localhost) | client setup | first POST, setup included | per POST: mean | median | p99 |"
  echo "|---|---|---|---|---|---|---|"
  # seven processes of each, interleaved, 1000 POSTs each; then one with a host name to resolve
  for _ in 1 2 3 4 5 6 7; do
    for mode in blocking async; do "$work/shared-target/release/bench_reqwest" "$mode" 1000 >> "$work/bench.$mode"; done
  done
  for mode in blocking async; do
    "$work/shared-target/release/bench_reqwest" "$mode" 100 localhost > "$work/bench.$mode.localhost"
    # medians over the processes, with their range
    python3 - "$mode" "$work/bench.$mode" "$work/bench.$mode.localhost" <<'PY'
import statistics, sys
mode, path, local = sys.argv[1:]
rows = [l.split() for l in open(path)]
loc = open(local).read().split()
col = lambda i: [float(r[i]) for r in rows]
def f(i, d=0):
    v = col(i); return f"{statistics.median(v):.{d}f} ({min(v):.{d}f}–{max(v):.{d}f})"
names = lambda r: r[7] if len(r) > 7 else "none"
print(f"| {'async `Client` + current-thread runtime' if mode == 'async' else '`blocking::Client`'} | {rows[0][1]} ({names(rows[0])}) / {loc[1]} ({names(loc)}) "
      f"| {f(2)} µs | {f(3)} µs | {f(4, 1)} µs | {f(5, 1)} µs | {f(6, 1)} µs |")
PY
  done
  echo
  echo "(median of 7 processes, range in brackets)"
fi

# Feature changes to allstak, measured on the hello world: a copy of allstak whose Cargo.toml
# has one change (the crate's own sources are used as they are, by path).
# variant NAME SED_EXPRESSION: $work/allstak_NAME, allstak's Cargo.toml with the change
variant() {
  local dir="$work/allstak_$1"
  rm -rf "$dir"; mkdir -p "$dir"
  local version; version=$(grep -m1 '^version = ' "$(dirname "$allstak")/Cargo.toml")
  sed -e "s/^version.workspace = true/$version/; s/^edition.workspace = true/edition = \"2024\"/" \
      -e '/^rust-version.workspace/d; /^license.workspace/d; /^repository.workspace/d' \
      -e "s|^allstak-macros = { workspace = true }|allstak-macros = { path = \"$(dirname "$allstak")/allstak-macros\" }|" \
      -e "$2" "$allstak/Cargo.toml" > "$dir/Cargo.toml"
  printf '\n[lib]\npath = "%s/src/lib.rs"\n' "$allstak" >> "$dir/Cargo.toml"
  sed -e "$2" "$allstak/Cargo.toml" | cmp -s - "$allstak/Cargo.toml" && { echo "variant $1: the change matched nothing" >&2; exit 1; }
  new_crate "hello_$1" "allstak = { path = \"$dir\" }" "#[allstak::main]\n$hello"
}
if [[ "$what" == variants || "$what" == all ]]; then
  # sizes and crates only, in the shared target dir: allstak as it is, and each variant
  new_crate hello_plain "" "$hello"
  new_crate hello_default_shared "allstak = { path = \"$allstak\" }" "#[allstak::main]\n$hello"
  # ureq's `rustls` feature also turns on `rustls-webpki-roots` (Mozilla's roots, compiled in),
  # which the platform verifier never reads.
  variant no_webpki_roots 's|^rustls = \["ureq?/rustls", |rustls = ["ureq?/rustls-no-provider", "ureq?/_ring", |'
  shared=1 build_all hello_plain hello_default_shared hello_no_webpki_roots
  header "hello world, allstak's default features changed"
  report "+ \`allstak\` as it is (ureq + rustls)" hello_plain hello_default_shared
  report "+ \`allstak\`, ureq without \`rustls-webpki-roots\`" hello_plain hello_no_webpki_roots
  echo
  echo "crates dropped: $(added hello_no_webpki_roots hello_default_shared)"
fi
