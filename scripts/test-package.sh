#!/usr/bin/env bash
# Builds the Debian package of a configured build (cpack -G DEB), unpacks it into a scratch root
# with dpkg -x (no root needed, nothing installed on the machine), and runs the unpacked binary
# from outside the source tree: --version, `models`, and `run --dry-run` with the default suite it
# must find in the package's share/cifarbench/configs.
# Usage: scripts/test-package.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$build" && cpack -G DEB -B "$scratch/pkg" >"$scratch/cpack.log" 2>&1) || { cat "$scratch/cpack.log"; exit 1; }
deb=$(ls "$scratch"/pkg/*.deb)
echo "package: $(basename "$deb")"
dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/^ */  depends: /'
dpkg -x "$deb" "$scratch/root"
exe="$scratch/root/usr/bin/cifarbench"
test -x "$exe"
test -f "$scratch/root/usr/share/cifarbench/configs/quick.toml"
test -f "$scratch/root/usr/share/cifarbench/docs/suites.md"
cd "$scratch"  # no configs/ here: the default suite must come from the package
export HOME="$scratch/home"; unset CIFARBENCH_DATA
mkdir -p "$HOME"
"$exe" --version
"$exe" models | head -3
out=$("$exe" run --dry-run --results "$scratch/results")
echo "$out" | head -5
grep -q "default suite: $scratch/root/usr/share/cifarbench/configs/quick.toml" <<<"$out" || {
  echo "FAIL: the installed binary did not take the installed default suite"; exit 1; }
grep -q "trial(s)" <<<"$out" || { echo "FAIL: no trials planned"; exit 1; }
echo "package test: ok"
