#!/usr/bin/env bash
# Training throughput of two cifarbench backends (any pair: torch, torch-py, dlib, ...) through
# `cifarbench train`, the same model, recipe, synthetic batches, seed and threads, in alternating
# rounds (A then B, then B then A, ...); prints each round and the median of the per-round
# ratios A/B with its min and max. Measure on an idle machine: this one swings ±30 % from run to
# run, which is why one round, or a ratio of two medians, cannot decide a comparison.
# A side may add `train` flags after a colon, and environment assignments before the framework,
# to compare settings of one backend:
#   bench/compare_backends.sh build/release "torch" "torch:--no-telemetry"
#   bench/compare_backends.sh build/release "torch:--workers 0" "torch:--workers 2"
#   bench/compare_backends.sh build/release "CIFARBENCH_MALLOC=keep dlib" "CIFARBENCH_MALLOC=system dlib"
#   bench/compare_backends.sh [-r rounds=5] [-m model=simple-cnn] [-s steps=60] [-b batch=128]
#                             [-t threads=0] [-w warmup=10] BUILD_DIR A[:FLAGS] B[:FLAGS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=5 model=simple-cnn steps=60 batch=128 threads=0 warmup=10
usage() { sed -n '2,14p' "$0" >&2; exit 2; }
while getopts "r:m:s:b:t:w:" opt; do
  case $opt in
    r) rounds=$OPTARG ;; m) model=$OPTARG ;; s) steps=$OPTARG ;; b) batch=$OPTARG ;;
    t) threads=$OPTARG ;; w) warmup=$OPTARG ;; *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# == 3)) || usage
build=$1 a=$2 b=$3
for v in rounds steps batch; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "error: -${v:0:1} ${!v}: expected a positive integer" >&2; exit 2; }
done
source "$here/bench_lib.sh"
exe=$(cifarbench_exe "$build")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_recipe "$work/recipe.toml" "$steps" "$warmup" "$batch"
# One trial of side "[VAR=value ...] framework[:flags]"; prints its throughput after warm-up
# (images/s).
throughput() {
  local side=$1 vars=() flags=() out="$work/side$3-$2"
  while [[ $side =~ ^([A-Za-z_][A-Za-z0-9_]*=[^ ]*)\ +(.*)$ ]]; do
    vars+=("${BASH_REMATCH[1]}") side=${BASH_REMATCH[2]}
  done
  local fw=${side%%:*}
  [[ $side == *:* ]] && read -r -a flags <<<"${side#*:}"
  env "${vars[@]}" "$exe" train -f "$fw" "${flags[@]}" -m "$model" --dataset synthetic --synthetic-train $((steps * batch)) \
    --synthetic-test "$batch" --threads "$threads" --seed 1 --recipe "$work/recipe.toml" \
    --out "$out" --no-download >"$out.log" 2>&1 || { echo "error: $fw failed:" >&2; tail -5 "$out.log" >&2; exit 1; }
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["result"]["images_per_s"])' "$out/result.json"
}
: >"$work/pairs"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then ta=$(throughput "$a" "$r" A); tb=$(throughput "$b" "$r" B)
  else tb=$(throughput "$b" "$r" B); ta=$(throughput "$a" "$r" A); fi
  echo "$ta $tb" >>"$work/pairs"
  printf '%s %s round %d: %s %.1f images/s, %s %.1f images/s, ratio %.3f\n' \
    "$model" "batch=$batch" "$r" "$a" "$ta" "$b" "$tb" "$(awk -v x="$ta" -v y="$tb" 'BEGIN {print x / y}')"
done
printf '%s/%s, %s, batch %s, threads %s, %s timed steps: ' "$a" "$b" "$model" "$batch" "$threads" $((steps - warmup))
awk -f "$here/ratio_stats.awk" "$work/pairs"
