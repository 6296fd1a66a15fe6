#!/usr/bin/env bash
# The GPU check: one prepared command that builds what a GPU run needs and runs every GPU check
# within a hard budget (under 9 minutes), writing a complete answer to an output folder. For a
# borrowed GPU machine with CUDA, CMake, ninja and Python's torch (whose LibTorch it builds
# against) but no package registry: run scripts/gpu-kit-prepare.sh on a Debian 12 machine first
# and carry gpu-kit/ with the working tree (docs/gpu-results.md says how).
#
#   scripts/gpu-check.sh --out DIR [--kit DIR] [--budget SECONDS] [--cpu-dry-run]
#                        [--reuse-build DIR]
#
# --cpu-dry-run runs the same sequence on this CPU with tiny sizes, against Debian's LibTorch,
# so that the scarce GPU minutes are never spent on a typo. --reuse-build DIR skips configuring
# and building and uses DIR's binaries (the test suite's quick form of the dry run).
#
# Steps (each with its own limit, never past the budget; a failed step is recorded and the
# next one runs): build, data, env, gpu-tests, resnet18 (fp32, bf16, fp16, channels-last + bf16,
# cuDNN autotune on, as a suite with its HTML report), nvml-vs-smi, host-sync (simple-cnn in torch
# and torch-py reading its losses every step against every 10: the cost of a host
# synchronisation per step), airbench94, distributed.
# DIR ends with summary.md (the table of steps and the headline numbers), summary.tsv, and
# gpu-check.tar.gz (every log, result, the results database and the report): few files, as a
# lent machine returns at most 8.
set -uo pipefail
set -m  # every step runs in its own process group (see step below)
cd "$(dirname "$0")/.."
root=$(pwd)

out="" kit=gpu-kit budget=530 dry=0 reuse=""
while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --kit) kit=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --cpu-dry-run) dry=1; shift ;;
    --reuse-build) reuse=$2; shift 2 ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$out" ]] || { echo "gpu-check: --out DIR is required" >&2; exit 2; }
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "gpu-check: --budget: expected whole seconds, got '$budget'" >&2; exit 2; }
if [[ -z "$reuse" && ! -d "$kit/root/usr" ]]; then
  echo "gpu-check: --kit $kit: no kit there (run scripts/gpu-kit-prepare.sh on a Debian 12 machine and carry gpu-kit/)" >&2
  exit 2
fi
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
kit=$(cd "$kit" 2>/dev/null && pwd || echo "$kit")
work="$out/work"
rm -rf "$work" "$out/summary.md" "$out/summary.tsv" "$out/gpu-check.tar.gz"
mkdir -p "$work/logs"
start=$(date +%s)
export LD_LIBRARY_PATH="$kit/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CIFARBENCH_GNUPLOT="${CIFARBENCH_GNUPLOT:-$(command -v gnuplot || echo /nonexistent/gnuplot)}"

if ((dry)); then
  mode="CPU dry run (tiny sizes, Debian's LibTorch)"
  device=cpu steps=3 batch=32 eval_every=1 air_epochs=1 threads=2
  precisions=(off off off off)
else
  mode="GPU"
  device=cuda:0 steps=150 batch=256 eval_every=1 air_epochs=10 threads=0
  precisions=(off bf16 fp16 bf16)
fi

# ---- the budget, printed up front ------------------------------------------------------------
step_names=(build data env gpu-tests resnet18 nvml-vs-smi host-sync airbench94 distributed)
declare -A limit=([build]=240 [data]=60 [env]=60 [gpu-tests]=60 [resnet18]=200 [nvml-vs-smi]=60
                  [host-sync]=70 [airbench94]=100 [distributed]=45)
((dry)) && limit[build]=1800  # two CPU cores, not a GPU machine's sixteen
{
  echo "gpu-check: $mode, budget ${budget} s in all; each step stops at its own limit or the budget:"
  for s in "${step_names[@]}"; do printf '  %-12s %4d s\n' "$s" "${limit[$s]}"; done
} | tee "$work/budget.txt"

# step NAME COMMAND...: runs within min(its limit, what is left of the budget), logs to
# work/logs/NAME.log, records "NAME status seconds note" in summary.tsv.
printf 'step\tstatus\tseconds\tnote\n' >"$out/summary.tsv"
note=""
step() {
  local name=$1; shift
  local left=$((budget - ($(date +%s) - start)))
  local t=${limit[$name]}
  ((t > left)) && t=$left
  if ((t < 5)); then
    printf '%s\tskipped\t0\tout of budget\n' "$name" >>"$out/summary.tsv"
    echo "gpu-check: $name skipped: out of budget"
    return 1
  fi
  echo "gpu-check: $name (limit ${t} s) ..."
  local s0=$(date +%s) rc timed_out=0
  note=""
  # The step (a shell function, which `timeout` cannot run) in its own process group, so that
  # the limit stops it and everything it started.
  ( "$@" ) >"$work/logs/$name.log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if (($(date +%s) - s0 >= t)); then
      timed_out=1
      kill -TERM -- "-$pid" 2>/dev/null
      sleep 5
      kill -KILL -- "-$pid" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  wait "$pid"
  rc=$?
  local took=$(($(date +%s) - s0)) status=ok
  if ((timed_out)); then status="timeout"; elif ((rc != 0)); then status="failed (exit $rc)"; fi
  [[ -f "$work/logs/$name.note" ]] && note=$(tr '\n' ' ' <"$work/logs/$name.note")
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$took" "$note" >>"$out/summary.tsv"
  echo "gpu-check: $name: $status after ${took} s ${note}"
  [[ "$status" == ok ]]
}

# ---- build: core, the torch backend, the CLI and the GPU tests ------------------------------------
build="$root/build/gpu-check"
[[ -n "$reuse" ]] && build=$(cd "$reuse" && pwd)
do_build() {
  local torch_prefix="" abi=1
  if ((!dry)); then
    torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || return 1
    abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))') || return 1
    python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())'
  fi
  echo "C++ ABI of LibTorch: _GLIBCXX_USE_CXX11_ABI=$abi"
  if [[ "$abi" != 1 ]]; then
    echo "this LibTorch uses the old C++ ABI; the kit's Debian libraries (fmt, spdlog, toml++) use the new one" | tee "$work/logs/build.note"
    return 1
  fi
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="${torch_prefix:+$torch_prefix;}$kit/root/usr;$kit/root/usr/lib/x86_64-linux-gnu/cmake" \
    -DCIFARBENCH_WITH_DLIB=OFF -DCIFARBENCH_WITH_CURL=OFF -DCIFARBENCH_WITH_ARCHIVE=OFF \
    -DCIFARBENCH_WITH_JPEG=OFF -DCIFARBENCH_WITH_PNG=OFF -DCIFARBENCH_BUILD_BENCH=OFF || return 1
  # The kit, not whatever the machine has, must have been found.
  local d
  for d in fmt_DIR spdlog_DIR tomlplusplus_DIR GTest_DIR; do
    grep -q "^$d:PATH=$kit/" "$build/CMakeCache.txt" || { echo "$d is not in the kit: $(grep "^$d:" "$build/CMakeCache.txt")"; return 1; }
  done
  cmake --build "$build" --target cifarbench test_gpu -j "$(nproc)"
}
if [[ -z "$reuse" ]]; then
  step build do_build
else
  printf 'build\treused\t0\t%s\n' "$build" >>"$out/summary.tsv"
fi
exe="$build/cifarbench"
if [[ ! -x "$exe" ]]; then
  echo "gpu-check: no $exe: nothing else can run (see work/logs/build.log)"
fi

# ---- data: the real CIFAR-10 from the kit, converted with Pillow ---------------------------------------
data="$work/cifar10"
do_data() {
  if [[ -f "$kit/cifar10-jpeg.tar.gz" ]]; then
    # The GPU machine's python3 has Pillow; here the first python3 may not (Debian's python3-pil
    # is /usr/bin/python3's, installed by gpu-kit-prepare.sh).
    local py=python3
    $py -c 'import PIL' 2>/dev/null || py=/usr/bin/python3
    $py "$root/scripts/gpu/cifar_jpeg_to_binary.py" "$kit/cifar10-jpeg.tar.gz" "$data"
  else
    echo "no $kit/cifar10-jpeg.tar.gz: the runs use synthetic data" | tee "$work/logs/data.note"
  fi
}
step data do_data
data_args=(--data "$data") run_args=(--data "$data")
[[ -f "$data/test_batch.bin" ]] || { data_args=(--dataset synthetic); run_args=(); }

# ---- env: what the machine is ----------------------------------------------------------------------
do_env() {
  # env probes every Python backend's interpreter and, once per machine, measures the CPU peak
  # (for MFU): seconds, not milliseconds, hence the 60 s limit.
  "$exe" env --json >"$work/env.json" && "$exe" env
  if command -v nvidia-smi >/dev/null; then nvidia-smi -q >"$work/nvidia-smi-q.txt"; nvidia-smi; fi
}
step env do_env

# ---- the GPU-labelled unit tests (conformance against the CPU from the same weights) -------------------
do_gpu_tests() {
  ctest --test-dir "$build" -L '^gpu$' --output-on-failure  # not the label gpu-check (this script)
  local skipped
  skipped=$(grep -c "(Skipped)" "$work/logs/gpu-tests.log" || true)
  echo "$skipped skipped" >"$work/logs/gpu-tests.note"
}
step gpu-tests do_gpu_tests

# ---- ResNet-18, one short epoch per precision, as a suite: results database and HTML report ---------
suite="$work/gpu-check.toml"
{
  echo "name = \"gpu-check\""
  echo "description = \"ResNet-18, one short epoch: fp32, bf16, fp16 (loss scaling), channels-last + bf16; cuDNN autotune\""
  echo "dataset = \"$([[ -f "$data/test_batch.bin" ]] && echo cifar10 || echo synthetic)\""
  echo "time_limit_s = 60"
  echo "synthetic_train = 2048"
  echo "synthetic_test = 512"
  echo "[matrix]"
  echo "frameworks = [\"torch\"]"
  echo "models = [\"$([[ $dry == 1 ]] && echo simple-cnn || echo resnet18)\"]"
  echo "recipes = [\"fp32\", \"bf16\", \"fp16\", \"cl-bf16\"]"
  echo "seeds = [1]"
  echo "threads = [$threads]"
  echo "devices = [\"$device\"]"
  echo "[defaults.train]"
  echo "epochs = 1"
  echo "max_steps_per_epoch = $steps"
  echo "warmup_steps = $((steps / 5))"
  echo "[defaults.data]"
  echo "batch_size = $batch"
  echo "workers = 4"
  echo "[defaults.augment]"
  echo "crop_padding = 4"
  echo "flip = \"random\""
  names=(fp32 bf16 fp16 cl-bf16)
  for i in 0 1 2 3; do
    echo "[recipes.${names[$i]}.hardware]"
    echo "precision = \"${precisions[$i]}\""
    echo "autotune = $([[ $dry == 1 ]] && echo false || echo true)"
    echo "channels_last = $([[ $i == 3 ]] && echo true || echo false)"
  done
} >"$suite"
do_resnet18() {
  "$exe" run "$suite" --results "$work/results" "${run_args[@]}" || return 1
  "$exe" report "$work/results" --format md >"$work/resnet18-report.md"
  python3 - "$work/results/results.sqlite" >"$work/logs/resnet18.note" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select recipe, status, images_per_s, gpu_util_mean_pct, gpu_mem_peak_bytes, energy_j from trials order by id").fetchall()
print("; ".join(f"{r[0]} {r[1]} {r[2] or 0:.0f} img/s" for r in rows))
EOF
}
step resnet18 do_resnet18

# ---- NVML against nvidia-smi, sampled side by side during a short training run ------------------------
do_nvml_vs_smi() {
  local smi_pid=""
  printf '[train]\nmax_steps_per_epoch = %d\nwarmup_steps = 5\n' $((steps * 2)) >"$work/nvml-recipe.toml"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 100 \
      >"$work/nvidia-smi.csv" &
    smi_pid=$!
  fi
  "$exe" train --framework torch --model "$([[ $dry == 1 ]] && echo simple-cnn || echo resnet18)" \
    --device "$device" --threads "$threads" --epochs 1 --batch-size "$batch" --telemetry-hz 10 \
    "${data_args[@]}" --synthetic-train 4096 --synthetic-test 256 --out "$work/nvml-run" \
    --telemetry-log "$work/nvml-telemetry.json" --recipe "$work/nvml-recipe.toml"
  local rc=$?
  [[ -n "$smi_pid" ]] && kill "$smi_pid" 2>/dev/null
  ((rc == 0)) || return $rc
  python3 "$root/scripts/gpu/compare_nvml_smi.py" "$work/nvml-telemetry.json" "$work/nvidia-smi.csv" \
    | tee "$work/logs/nvml-vs-smi.note"
}
step nvml-vs-smi do_nvml_vs_smi

# ---- host-sync: the same small model reading its losses back every step, then every 10 (the GPU's
# default), so that the cost of a host synchronisation per step shows (cifarbench issue 22); for
# the C++ torch backend and for torch-py, whose worker keeps the values on the device too ----------
do_host_sync() {
  local n=$([[ $dry == 1 ]] && echo 512 || echo 32768) b=$([[ $dry == 1 ]] && echo 32 || echo 128)
  local fw every
  : >"$work/logs/host-sync.note"
  for fw in torch torch-py; do
    for every in 1 0; do
      if ! "$exe" train --framework "$fw" --model simple-cnn --device "$device" --threads "$threads" \
        --epochs 1 --dataset synthetic --synthetic-train "$n" --synthetic-test 256 --batch-size "$b" \
        --read-every "$every" --no-telemetry --out "$work/host-sync-$fw-$every"; then
        [[ $fw == torch ]] && return 1
        echo "$fw: not run (its train failed: see this step's log)" >>"$work/logs/host-sync.note"
        continue 2
      fi
    done
    python3 - "$fw" "$work/host-sync-$fw-1/result.json" "$work/host-sync-$fw-0/result.json" \
      >>"$work/logs/host-sync.note" <<'EOF'
import json, sys
runs = [json.load(open(path)) for path in sys.argv[2:]]
rates = [r["result"]["images_per_s"] for r in runs]
every = runs[1]["config"]["read_every"]
print(f"{sys.argv[1]} simple-cnn, {runs[0]['result']['steps']} steps: read every step {rates[0]:.0f} "
      f"images/s, the default (every {every}) {rates[1]:.0f} images/s ({rates[1] / rates[0]:.2f}x)")
EOF
  done
}
step host-sync do_host_sync

# ---- airbench94: time to 94 % (or the best accuracy in its epoch budget) -----------------------------
do_airbench() {
  local air_data=("${data_args[@]}")
  ((dry)) && air_data=(--dataset synthetic --batch-size 64)  # 32 steps, not an epoch of CIFAR on a CPU
  "$exe" train --framework torch --model airbench94 --device "$device" --threads "$threads" \
    --recipe "$root/configs/recipes/airbench94.toml" --epochs "$air_epochs" "${air_data[@]}" \
    --synthetic-train 2048 --synthetic-test 512 --out "$work/airbench94" || return 1
  python3 - "$work/airbench94/result.json" >"$work/logs/airbench94.note" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
best = max((e["test_accuracy"] or 0) for e in r["epochs"])
ttt = r.get("time_to_target_s")
print(f"best {100 * best:.2f}% in {len(r['epochs'])} epochs, training {r['training_time_s']:.1f} s, "
      + (f"94% after {ttt:.1f} s" if ttt is not None else "94% not reached")
      + f" (airbench94: 94.01% in 3.09 s on an A100)")
EOF
}
step airbench94 do_airbench

# ---- data-parallel: as far as one GPU allows --------------------------------------------------------
do_distributed() {
  local ok=0
  if ((!dry)); then
    # NCCL refuses two ranks on one device ("Duplicate GPU detected"): recorded, not hidden.
    "$exe" train --framework torch --model simple-cnn --nproc 2 --device cuda:0 --epochs 1 \
      --dataset synthetic --synthetic-train 1024 --synthetic-test 256 --batch-size 64 \
      --out "$work/dp-nccl" --dist-timeout 30 >"$work/dp-nccl.log" 2>&1
    echo "2 ranks on cuda:0 through NCCL: exit $? ($(grep -m1 -io 'duplicate gpu[^"]*' "$work/dp-nccl.log" || echo 'see dp-nccl.log'))" \
      >>"$work/logs/distributed.note"
  fi
  # What can run on one machine with one GPU: the same data-parallel path over Gloo on the CPU.
  "$exe" train --framework torch --model simple-cnn --nproc 2 --device cpu --threads 1 --epochs 1 \
    --dataset synthetic --synthetic-train 1024 --synthetic-test 256 --batch-size 64 \
    --out "$work/dp-gloo" --dist-timeout 30 || ok=1
  echo "2 ranks on cpu through Gloo: exit $ok" >>"$work/logs/distributed.note"
  return $ok
}
step distributed do_distributed

# ---- the answer: summary.md and one archive of everything -------------------------------------------
total=$(($(date +%s) - start))
{
  echo "# GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "$mode; $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); $total s of a ${budget} s budget."
  echo
  echo "| step | status | s | note |"
  echo "| --- | --- | --- | --- |"
  tail -n +2 "$out/summary.tsv" | awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
  if [[ -f "$work/resnet18-report.md" ]]; then echo; cat "$work/resnet18-report.md"; fi
} >"$out/summary.md"
tar -C "$out" -czf "$out/gpu-check.tar.gz" --exclude=work/cifar10 work  # not the 180 MB dataset
cat "$out/summary.md" | head -40
failed=$(tail -n +2 "$out/summary.tsv" | awk -F'\t' '$2 != "ok" && $2 != "reused"' | wc -l)
echo "gpu-check: done in $total s; $failed step(s) not ok; $out/summary.md, $out/gpu-check.tar.gz"
((failed == 0))
