# Shared by the bench/*.sh scripts that run `cifarbench train`: source it, then
#   exe=$(cifarbench_exe BUILD_DIR)           the built executable, or exit 2 saying how to build it
#   write_recipe FILE STEPS WARMUP BATCH [TOML...]   a one-epoch recipe of STEPS steps (WARMUP
#                                              untimed), evaluating one batch; TOML lines appended
cifarbench_exe() {
  local exe="$1/cifarbench"
  [[ -x $exe ]] || { echo "error: $exe not built (cmake --build $1 --target cifarbench)" >&2; exit 2; }
  echo "$exe"
}
write_recipe() {
  local file=$1 steps=$2 warmup=$3 batch=$4
  shift 4
  ((warmup < steps)) || { echo "error: -w $warmup: expected fewer warm-up steps than -s $steps" >&2; exit 2; }
  printf '%s\n' "[train]" "epochs = 1" "max_steps_per_epoch = $steps" "warmup_steps = $warmup" \
    "eval_images = $batch" "[data]" "batch_size = $batch" "$@" >"$file"
}
