#!/usr/bin/env bash
# Configures and builds one preset (release, debug, ci, sanitize): scripts/build.sh [PRESET]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
jobs="${CIFARBENCH_JOBS:-$(nproc)}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
