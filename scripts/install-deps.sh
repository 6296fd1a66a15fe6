#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running cifarbench need.
#   scripts/install-deps.sh          everything (what scripts/test.sh and CI need)
#   scripts/install-deps.sh --run    only what building and running the program needs (the quick
#                                    start): no test tools, no browser, no Slurm
#   scripts/install-deps.sh --list [--run]   print the package names and exit
# Idempotent: packages already installed are skipped, and apt-get runs only when needed.
# Runs as root, or through sudo.
set -euo pipefail

RUN_PACKAGES=(
  # toolchain
  build-essential dpkg-dev cmake git pkg-config python3
  # core libraries
  libtomlplusplus-dev libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libsqlite3-dev
  # data: download, archives, image decoding
  libcurl4-openssl-dev libarchive-dev libjpeg-dev libpng-dev
  # frameworks: LibTorch (CPU) with c10d/Gloo headers, dlib
  libtorch-dev libgloo-dev libdlib-dev
  # an optimized BLAS: Debian's reference BLAS is ~30x slower for LibTorch and dlib
  libopenblas0-pthread
  # the torch-py backend, and the Python PyTorch loop the torch backend is compared against
  python3-torch
  # report figures
  gnuplot-nox
)
TEST_PACKAGES=(
  # test and benchmark tools, the second compiler CI builds with
  libgtest-dev libgmock-dev libbenchmark-dev clang
  # the idiomatic Python loop `cifarbench train` is measured against (bench/python_loop.py)
  python3-torchvision
  # the headless browser that checks the HTML report
  chromium
  # the localhost Slurm the cluster tests start (tests/cluster)
  slurm-wlm munge
)

list=0 run_only=0
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    --run) run_only=1 ;;
    *) echo "install-deps: unknown argument '$arg' (expected --run and/or --list)" >&2; exit 2 ;;
  esac
done
PACKAGES=("${RUN_PACKAGES[@]}")
((run_only)) || PACKAGES+=("${TEST_PACKAGES[@]}")
if ((list)); then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 2
  fi
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
fi

# Make sure libblas.so.3 resolves to OpenBLAS, not the reference implementation.
blas_alt=libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
openblas=$(update-alternatives --list "$blas_alt" 2>/dev/null | grep openblas | head -n1 || true)
if [[ -n "$openblas" ]]; then
  current=$(readlink -f "/etc/alternatives/$blas_alt" || true)
  if [[ "$current" != "$(readlink -f "$openblas")" ]]; then
    $SUDO update-alternatives --set "$blas_alt" "$openblas"
  fi
  echo "install-deps: libblas.so.3 -> $openblas"
fi
