#!/usr/bin/env bash
# The main job from a fresh machine: installs dependencies, builds a release binary and runs
# the default benchmark suite. Extra arguments go to `cifarbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/cifarbench run "$@"
