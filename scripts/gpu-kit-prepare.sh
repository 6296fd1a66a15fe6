#!/usr/bin/env bash
# Assembles gpu-kit/ (ignored by git): everything scripts/gpu-check.sh needs on a GPU machine
# that has CUDA, CMake, ninja and Python's torch (with its LibTorch) but no package registry
# and no Debian -dev packages. Runs here, on Debian 12:
#   - the headers, CMake configs and shared libraries of the C++ libraries the build needs
#     (toml++, fmt, spdlog, nlohmann-json, CLI11, SQLite, GoogleTest), fetched with
#     `apt-get download` and unpacked with `dpkg -x` (no install, nothing of the machine changed);
#   - the real CIFAR-10 (../shared/data/cifar10-jpeg.tar.gz), converted there with Pillow.
# The kit must stay small: the device tool carries at most 64 MiB with the working tree.
#
#   scripts/gpu-kit-prepare.sh [--out DIR] [--no-data]
set -euo pipefail
cd "$(dirname "$0")/.."

out=gpu-kit
with_data=1
while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --no-data) with_data=0; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "gpu-kit-prepare: unknown argument '$1' (expected --out DIR or --no-data)" >&2; exit 2 ;;
  esac
done

# Build-time packages (headers, CMake configs, static test libraries) and their runtime libraries.
PACKAGES=(
  libtomlplusplus-dev libtomlplusplus3
  libfmt-dev libfmt9
  libspdlog-dev libspdlog1.10
  nlohmann-json3-dev libcli11-dev
  libsqlite3-dev libsqlite3-0
  libgtest-dev libgmock-dev
)
# The dry run (scripts/gpu-check.sh --cpu-dry-run) converts the data with Pillow, as the GPU
# machine's Python does; Debian's python3-pil provides it here.
HOST_PACKAGES=(python3-pil)

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
missing=()
for p in "${HOST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

rm -rf "$out"
mkdir -p "$out/debs" "$out/root"
(cd "$out/debs" && apt-get download "${PACKAGES[@]}" >/dev/null 2>"../download.log") || {
  # apt-cache needs a fresh package list on a new machine
  $SUDO apt-get update -qq
  (cd "$out/debs" && apt-get download "${PACKAGES[@]}" >/dev/null)
}
for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done
{
  echo "# gpu-kit, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  for deb in "$out"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done
} >"$out/MANIFEST"
rm -rf "$out/debs" "$out/download.log"
# What the kit does not need: documentation, and the GoogleTest sources (the static libraries
# are there).
rm -rf "$out/root/usr/share/doc" "$out/root/usr/share/man" "$out/root/usr/src"

if ((with_data)); then
  data=../shared/data/cifar10-jpeg.tar.gz
  if [[ ! -f "$data" ]]; then
    echo "gpu-kit-prepare: $data not found (pass --no-data to make a kit without the real data)" >&2
    exit 2
  fi
  cp "$data" "$out/"
fi

size_kib=$(du -sk "$out" | cut -f1)
tree_kib=$(git ls-files -z | xargs -0 du -ck 2>/dev/null | tail -n1 | cut -f1)
echo "gpu-kit-prepare: $out is $((size_kib / 1024)) MiB; with the working tree ($((tree_kib / 1024)) MiB) $(((size_kib + tree_kib) / 1024)) MiB of the 64 MiB the device tool carries"
if ((size_kib + tree_kib > 60 * 1024)); then
  echo "gpu-kit-prepare: too large to carry (over 60 MiB with the working tree)" >&2
  exit 1
fi
cat "$out/MANIFEST"
