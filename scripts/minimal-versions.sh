#!/usr/bin/env bash
# Proves the minimum versions allstak declares: in a scratch copy of the workspace, every direct
# dependency of `allstak` and `allstak-macros` is pinned to the version its requirement names
# (`cargo update -p NAME@LOCKED --precise MIN`), then the runtime's tests run, default and with
# every feature. A program with its own Cargo.lock may settle on exactly these versions.
# Needs python3 (to read `cargo metadata`). Shares target/ so unchanged crates are not rebuilt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Always the same place: a test binary keeps the path of its crate (`CARGO_MANIFEST_DIR`), and
# cargo reuses one built by an earlier run from identical sources, which must still be there.
scratch="$root/target/minimal-versions"
rm -rf "$scratch"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
(cd "$root" && tar --exclude=./target --exclude=./.git -cf - .) | (cd "$scratch" && tar -xf -)
cd "$scratch"

# "NAME LOCKED MIN" for each direct dependency whose locked version is above its minimum.
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
resolved = {n["id"]: n for n in meta["resolve"]["nodes"]}
for member in meta["workspace_members"]:
    package = packages[member]
    if package["name"] not in ("allstak", "allstak-macros"):
        continue
    for dep in package["dependencies"]:
        if dep.get("path"):
            continue
        minimum = dep["req"].lstrip("^=~ ")
        if minimum.count(".") != 2:
            sys.exit("%s: %s = %r names no full minimum version" % (package["name"], dep["name"], dep["req"]))
        for edge in resolved[member]["deps"]:
            locked = packages[edge["pkg"]]
            if locked["name"] == dep["name"] and locked["version"] != minimum:
                print(dep["name"], locked["version"], minimum)
' | sort -u | while read -r name locked minimum; do
  echo "== $name $locked -> $minimum"
  cargo update -q -p "$name@$locked" --precise "$minimum"
done

export CARGO_TARGET_DIR="$root/target"
echo "== cargo test -p allstak -p allstak-tests (minimal direct versions)"
cargo test -q -p allstak -p allstak-tests
echo "== cargo test -p allstak -p allstak-tests --all-features (minimal direct versions)"
cargo test -q -p allstak -p allstak-tests --all-features
