#!/usr/bin/env bash
# The main job from a fresh machine: installs dependencies, builds a release binary and runs
# the default benchmark suite. Extra arguments go to `cifarbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run  # what the program needs; scripts/test.sh installs the rest
# Only the program (preset "app": no tests, no benchmarks); scripts/test.sh builds those.
cmake --preset app >/dev/null
cmake --build --preset app -j "${CIFARBENCH_JOBS:-$(nproc)}"
exec build/app/cifarbench run "$@"
