#!/usr/bin/env bash
# The whole GPU visit in one device call, made so that one failure cannot waste it: every
# stage runs under its own time limit, a failed stage is recorded and the next one still
# runs, and whatever happened, the logs come back as two files.
#
# Here, once (downloads the Debian build dependencies into .device/, git-ignored; only the
# .deb files travel, ~26 MB, unpacked on the GPU machine outside the repository):
#   EXTRA_DEBS="libspng-dev libspng0" bash ../shared/device/prepare.sh
# Then with the device tool, from the repository root:
#   run(command="bash apps/bench/gpu_check.sh", carry=[".device"], timeout_s=560)
#
# Stages (the limits add up to under BUDGET_S, default 520 s, so the call's timeout is never
# the one that stops it):
#   1. environment    .device/env.sh; nvidia-smi; nvcc; stop at once when the driver's CUDA
#                     version is older than the toolkit's (nothing built would run)
#   2. build          only what runs on the GPU: tests/cuda, the benchmark, conflux-lra,
#                     for this GPU's architecture, with the generator env.sh picked (ninja)
#   3. tests/cuda     CONFLUX_CUDA_SYNC=1 (a fault names its launch), under timeout;
#                     skipped GPU tests count as a failure here (ALLOW_NO_GPU=1: not)
#   4. sweep          apps/bench/gpu_sweep.sh: fused Flow-Attention vs the official PyTorch code
#   5. train step     conflux-lra on the GPU, official ListOps preset, batch 8: steps/s
#   6. sanitizers     compute-sanitizer memcheck, then racecheck, on the Flow-Attention
#                     tests, with the time that is left
# Output: $OUT (default gpu-check-out)/summary.txt (one line per stage) and
# $OUT/gpu-check.tar.gz (every log, JSON line file and table).
# SKIP_SWEEP=1 skips 4; ALLOW_NO_GPU=1 lets the script be tried on a machine without a GPU
# (there: BUDGET_S=1800 BUILD_LIMIT_S=1200, a 2-core build takes ~10 minutes).
set -uo pipefail
out=${OUT:-gpu-check-out}
budget=${BUDGET_S:-520}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=$(mktemp -d)
summary=$out/summary.txt
: > "$summary"
t0=$SECONDS
status=0

note() { echo "$*" | tee -a "$summary"; }
left() { echo $((budget - (SECONDS - t0))); }
pack() {
  note "total $((SECONDS - t0)) s; exit $status"
  cp "$summary" "$logs/"
  tar -C "$logs" -czf "$out/gpu-check.tar.gz" . && rm -rf "$logs"
}
trap pack EXIT
# run_stage NAME LIMIT_S COMMAND...: output to $logs/NAME.log, one summary line.
run_stage() {
  local name=$1 limit=$2 t rc
  shift 2
  [ "$limit" -gt "$(left)" ] && limit=$(left)
  if [ "$limit" -lt 10 ]; then note "$name: not run, no time left"; status=1; return 1; fi
  t=$SECONDS
  echo "== $name (limit ${limit}s, $(date -u +%H:%M:%S))"
  timeout -k 5 "$limit" "$@" > "$logs/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then note "$name: ok, $((SECONDS - t)) s"; return 0; fi
  note "$name: FAILED (exit $rc$([ $rc -eq 124 ] && echo ", stopped at ${limit}s")), $((SECONDS - t)) s; tail:"
  tail -15 "$logs/$name.log" | sed 's/^/    /' | tee -a "$summary"
  status=1
  return $rc
}

# ---- 1. environment -----------------------------------------------------------------------------
if [ ! -f .device/env.sh ]; then note "environment: no .device/env.sh: run prepare.sh here and carry .device"; status=1; exit 1; fi
# shellcheck disable=SC1091
source .device/env.sh || { note "environment: .device/env.sh failed"; status=1; exit 1; }
{ date -u; nvidia-smi; nvcc --version; cmake --version; g++ --version; echo "CMAKE_GENERATOR=${CMAKE_GENERATOR:-}"; } \
  > "$logs/environment.log" 2>&1
# The driver's CUDA version (nvidia-smi's header) must be at least the toolkit's (nvcc).
driver_cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)
toolkit_cuda=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p' | head -1)
gpu=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)
note "environment: GPU ${gpu:-none}; driver CUDA ${driver_cuda:-?}, toolkit ${toolkit_cuda:-?}; generator ${CMAKE_GENERATOR:-default}"
if [ -z "$driver_cuda" ] && [ "${ALLOW_NO_GPU:-0}" != 1 ]; then note "environment: no GPU (nvidia-smi gave nothing)"; status=1; exit 1; fi
if [ -n "$driver_cuda" ] && [ -n "$toolkit_cuda" ] &&
   [ "$(printf '%s\n%s\n' "$toolkit_cuda" "$driver_cuda" | sort -V | head -1)" != "$toolkit_cuda" ]; then
  note "environment: the driver supports CUDA $driver_cuda, older than the toolkit's $toolkit_cuda: nothing built here would run"
  status=1
  exit 1
fi
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
arch=${arch:-90}

# ---- 2. build -----------------------------------------------------------------------------------
run_stage configure 60 cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCONFLUX_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" || exit 1
run_stage build "${BUILD_LIMIT_S:-240}" cmake --build build-gpu -j "$(nproc)" \
  --target conflux_test_cuda conflux-bench-flow-attention conflux-lra || exit 1

# ---- 3. tests/cuda ------------------------------------------------------------------------------
CONFLUX_CUDA_SYNC=1 run_stage tests_cuda 150 build-gpu/tests/conflux_test_cuda
grep -E "^\[doctest\] (test cases|assertions)" "$logs/tests_cuda.log" | tee -a "$summary"
if grep -q "SKIPPED: no CUDA device" "$logs/tests_cuda.log" && [ "${ALLOW_NO_GPU:-0}" != 1 ]; then
  note "tests_cuda: FAILED: the GPU tests were skipped: $(grep -m1 -o 'SKIPPED: no CUDA device.*' "$logs/tests_cuda.log")"
  status=1
fi

# ---- 4. the sweep (always, whatever the tests said) ---------------------------------------------
if [ "${SKIP_SWEEP:-0}" != 1 ]; then
  CAP_S=90 run_stage sweep 200 bash apps/bench/gpu_sweep.sh build-gpu "$logs/sweep"
fi

# ---- 5. a ListOps training step on the GPU ------------------------------------------------------
train_step() {
  local lra=build-gpu/apps/conflux-lra data=$logs/listops run=$logs/listops_run
  "$lra" generate --task listops --out "$data" --train 256 --val 16 --test 16 --min-len 1900 --max-len 2000 --seed 1 &&
    "$lra" train --task listops --data "$data" --out "$run" --device cuda --batch-size 8 --steps 30 \
      --eval-every 100000 --eval-batches 1 --checkpoint-every 100000 --log-every 1 --seed 1 || return 1
  # seconds per step: the median over steps 6..30 of the logged elapsed time
  grep '"split": *"train"' "$run/metrics.jsonl" | sed 's/.*"elapsed_s": *\([0-9.e+-]*\).*/\1/' |
    awk 'NR > 1 { print $1 - prev } { prev = $1 }' | tail -n +5 | sort -g |
    awk '{ d[NR] = $1 } END { m = (NR % 2) ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2;
         printf "{\"bench\":\"listops_train_step\",\"device\":\"cuda\",\"batch\":8,\"s_per_step\":%.5f,\"steps_per_s\":%.2f}\n", m, 1 / m }'
  rm -rf "$data" "$run"/*.h5
}
export -f train_step
export logs
run_stage train_step 60 bash -c train_step && tail -1 "$logs/train_step.log" | tee -a "$summary"

# ---- 6. compute-sanitizer on the Flow-Attention tests, with the time left ------------------------
if command -v compute-sanitizer > /dev/null; then
  for tool in memcheck racecheck; do
    run_stage "sanitizer_$tool" 120 compute-sanitizer --tool "$tool" --error-exitcode 9 \
      build-gpu/tests/conflux_test_cuda --test-case="*flow*"
  done
else
  note "sanitizers: compute-sanitizer not found"
fi
exit $status
