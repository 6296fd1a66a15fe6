#!/usr/bin/env bash
# Telemetry overhead in the real training loop: `cifarbench train` on synthetic data with the
# sampler on (10 Hz) and off, in alternating rounds; the median of per-round ratios on/off.
#   bench/telemetry_overhead.sh [build_dir=build/release] [rounds=5] [model=simple-cnn] [framework=torch]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/release}
exec "$here/compare_backends.sh" -r "${2:-5}" -m "${3:-simple-cnn}" "$build" "${4:-torch}" "${4:-torch}:--no-telemetry"
