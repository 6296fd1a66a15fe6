#!/usr/bin/env bash
# Training throughput of cifarbench's torch backend vs an idiomatic Python PyTorch loop on the
# same LibTorch (Debian's python3-torch), same model, batch and threads; prints each round and
# the median of the per-round ratios C++/Python with its min and max (at least 5 rounds: this
# machine swings ±30 % from run to run, so one round cannot decide it).
# Rounds alternate which of C++ and Python runs first, so that load from other processes hits
# both alike; on a shared, loaded machine PAIRED=1 runs the two at the same time instead (each
# then sees the same contention; the absolute figures drop, the ratio stays meaningful).
#   [PAIRED=1] [CIFARBENCH_MALLOC=keep|system] [PY_MALLOC=system|keep] [WARMUP=5 WINDOWS=5 STEPS=10]
#   bench/torch_vs_python.sh [build_dir] [models] [batch] [threads] [rounds=5]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
models=${2:-"simple-cnn resnet20"}
batch=${3:-128}
threads=${4:-2}
rounds=${5:-5}
warmup=${WARMUP:-5} windows=${WINDOWS:-5} steps=${STEPS:-10}
driver="$build/bench/bench_torch_train_step"
[[ -x $driver ]] || { echo "error: $driver not built (cmake --build $build --target bench_torch_train_step)" >&2; exit 2; }
# The C++ driver applies the trial's malloc policy ($CIFARBENCH_MALLOC, default keep: freed memory
# stays in the process). Python gets glibc's defaults, as a practitioner's loop runs, unless
# PY_MALLOC=keep gives it the same policy through GLIBC_TUNABLES (what torch-py's worker gets).
# The values are kMmapThreshold and kTrimThreshold of src/trial/malloc_policy.cpp: change both together.
py_env=()
[[ ${PY_MALLOC:-system} == keep ]] &&
  py_env=("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647")
run_cpp() { "$driver" "$model" "$batch" "$threads" "$warmup" "$windows" "$steps" >"$cpp_out"; }
run_py() {
  env "${py_env[@]}" /usr/bin/python3 "$here/torch_train_step.py" "$model" "$batch" "$threads" "$warmup" \
    "$windows" "$steps" | awk '/median/ {print $(NF-3)}'
}
for model in $models; do
  cpp=() py=()
  for ((r = 1; r <= rounds; r++)); do
    cpp_out=$(mktemp)
    if [[ ${PAIRED:-0} == 1 ]]; then
      run_cpp &
      cpp_pid=$!
      py+=("$(run_py)")
      wait "$cpp_pid"
    elif ((r % 2)); then  # alternate which side runs first
      run_cpp
      py+=("$(run_py)")
    else
      py+=("$(run_py)")
      run_cpp
    fi
    cpp+=("$(awk '/median/ {print $(NF-1)}' "$cpp_out")")
    rm -f "$cpp_out"
    echo "$model round $r: cpp ${cpp[-1]} images/s, python ${py[-1]} images/s"
  done
  printf '%s batch=%s threads=%s, C++ malloc %s / Python malloc %s: ' "$model" "$batch" "$threads" \
    "${CIFARBENCH_MALLOC:-keep}" "${PY_MALLOC:-system}"
  for ((i = 0; i < rounds; i++)); do echo "${cpp[i]} ${py[i]}"; done | awk -f "$here/ratio_stats.awk"
done
