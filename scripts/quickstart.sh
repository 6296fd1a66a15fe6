#!/usr/bin/env bash
# The main job from a fresh machine: installs dependencies, builds a release binary and runs
# the default benchmark suite. Extra arguments go to `cifarbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Only the program: the tests and benchmarks are scripts/test.sh's to build.
cmake --preset release >/dev/null
cmake --build --preset release -j "${CIFARBENCH_JOBS:-$(nproc)}" --target cifarbench
exec build/release/cifarbench run "$@"
