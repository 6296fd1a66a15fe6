#!/usr/bin/env bash
# The full test suite from a fresh machine: installs dependencies, builds with warnings as
# errors, runs every test with CTest. `scripts/test.sh --sanitize` runs the core tests under
# ASan + UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=ci
[[ "${1:-}" == "--sanitize" ]] && preset=sanitize
scripts/install-deps.sh
scripts/build.sh "$preset"
ctest --preset "$preset" -j "${CIFARBENCH_JOBS:-$(nproc)}"
