#!/usr/bin/env bash
# Telemetry overhead in the real training loop: `cifarbench train` on synthetic data with the
# sampler on (10 Hz) and off, alternating, and the median throughput ratio on/off.
#   bench/telemetry_overhead.sh [cifarbench] [rounds] [model] [images]
set -euo pipefail
exe=${1:-build/release/cifarbench}
rounds=${2:-5}
model=${3:-simple-cnn}
images=${4:-4096}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
throughput() {  # images/s after warm-up, from result.json
  /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['result']['images_per_s'])" "$1/result.json"
}
on=() off=()
for ((r = 1; r <= rounds; r++)); do
  modes=(on off)
  ((r % 2 == 0)) && modes=(off on)  # alternate the order: the second run of a pair can differ
  for mode in "${modes[@]}"; do
    flag=()
    [[ $mode == off ]] && flag=(--no-telemetry)
    "$exe" -q train --framework torch --model "$model" --dataset synthetic \
      --synthetic-train "$images" --synthetic-test 256 --epochs 1 --threads 2 --seed 1 \
      --out "$out/$mode" "${flag[@]}"
    value=$(throughput "$out/$mode")
    if [[ $mode == on ]]; then on+=("$value"); else off+=("$value"); fi
    echo "round $r telemetry $mode: $value images/s"
  done
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
echo "median images/s: telemetry on $m_on, off $m_off, ratio on/off $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.4f", a / b}')"
