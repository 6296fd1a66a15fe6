#!/usr/bin/env bash
# Training throughput of cifarbench's torch backend vs an idiomatic Python PyTorch loop on the
# same LibTorch (Debian's python3-torch), same model, batch and threads; prints the ratio.
# Rounds alternate C++ and Python so that load from other processes hits both alike.
#   bench/torch_vs_python.sh [build_dir] [models] [batch] [threads] [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
models=${2:-"simple-cnn resnet20"}
batch=${3:-128}
threads=${4:-2}
rounds=${5:-3}
driver="$build/bench/bench_torch_train_step"
[[ -x $driver ]] || { echo "error: $driver not built (cmake --build $build --target bench_torch_train_step)" >&2; exit 2; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for model in $models; do
  cpp=() py=()
  for ((r = 1; r <= rounds; r++)); do
    cpp+=("$("$driver" "$model" "$batch" "$threads" 5 5 10 | awk '/median/ {print $(NF-1)}')")
    py+=("$(/usr/bin/python3 "$here/torch_train_step.py" "$model" "$batch" "$threads" 5 5 10 | awk '/median/ {print $(NF-3)}')")
    echo "$model round $r: cpp ${cpp[-1]} images/s, python ${py[-1]} images/s"
  done
  c=$(printf '%s\n' "${cpp[@]}" | median)
  p=$(printf '%s\n' "${py[@]}" | median)
  echo "$model batch=$batch threads=$threads: cpp median $c images/s, python median $p images/s, ratio $(awk -v c="$c" -v p="$p" 'BEGIN {printf "%.3f", c / p}')"
done
