#!/usr/bin/env bash
# `cifarbench train` (torch backend, the harness's own input pipeline: decode-free CIFAR
# binary, crop + flip, normalize, prefetch) against an idiomatic Python PyTorch loop
# (bench/python_loop.py: Dataset of PIL images as torchvision's CIFAR10 gives them, or of
# tensors with -i tensor, + torchvision transforms + DataLoader, nn.Module, SGD) on the
# same real data, model, batch, threads and LibTorch, in alternating rounds; prints each round
# and the median of the per-round ratios train/Python with its min and max. Throughput is
# after the warm-up steps, training only (no evaluation), in both.
#   bench/train_vs_python_loop.sh [-r rounds=5] [-m model=resnet20] [-s steps=100] [-w warmup=10]
#       [-b batch=128] [-t threads=2] [-p python_workers=2] [-i pil|tensor] BUILD_DIR CIFAR_BINARY_DIR
# CIFAR_BINARY_DIR as `cifarbench data import ARCHIVE --out DIR` writes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=5 model=resnet20 steps=100 warmup=10 batch=128 threads=2 pyworkers=2 images=pil
usage() { sed -n '2,11p' "$0" >&2; exit 2; }
while getopts "r:m:s:w:b:t:p:i:" opt; do
  case $opt in
    r) rounds=$OPTARG ;; m) model=$OPTARG ;; s) steps=$OPTARG ;; w) warmup=$OPTARG ;;
    b) batch=$OPTARG ;; t) threads=$OPTARG ;; p) pyworkers=$OPTARG ;; i) images=$OPTARG ;; *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# == 2)) || usage
build=$1 data=$2
source "$here/bench_lib.sh"
exe=$(cifarbench_exe "$build")
[[ -f $data/data_batch_1.bin ]] || { echo "error: $data: expected a CIFAR-10 binary folder (data_batch_1.bin ...)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_recipe "$work/recipe.toml" "$steps" "$warmup" "$batch" "[augment]" "crop_padding = 4" 'flip = "random"'
ours() {
  "$exe" train -f torch -m "$model" --data "$data" --threads "$threads" --seed 1 \
    --recipe "$work/recipe.toml" --out "$work/t$1" --no-download >"$work/t$1.log" 2>&1 ||
    { echo "error: cifarbench train failed:" >&2; tail -5 "$work/t$1.log" >&2; exit 1; }
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["result"]["images_per_s"])' "$work/t$1/result.json"
}
python() {
  /usr/bin/python3 "$here/python_loop.py" "$data" "$model" "$batch" "$threads" "$pyworkers" "$steps" "$warmup" "$images" \
    2>"$work/p$1.log" | awk '/images_per_s/ {print $2}' || true
}
: >"$work/pairs"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then a=$(ours "$r"); b=$(python "$r"); else b=$(python "$r"); a=$(ours "$r"); fi
  [[ -n $b ]] || { echo "error: python_loop.py failed:" >&2; tail -5 "$work/p$r.log" >&2; exit 1; }
  echo "$a $b" >>"$work/pairs"
  printf '%s round %d: cifarbench train %.1f images/s, Python loop %.1f images/s, ratio %.3f\n' \
    "$model" "$r" "$a" "$b" "$(awk -v x="$a" -v y="$b" 'BEGIN {print x / y}')"
done
printf '%s, batch %s, threads %s, %s timed steps, Python pipeline %s with %s workers, train/Python: ' \
  "$model" "$batch" "$threads" $((steps - warmup)) "$images" "$pyworkers"
awk -f "$here/ratio_stats.awk" "$work/pairs"
