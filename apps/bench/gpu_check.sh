#!/usr/bin/env bash
# Everything the CUDA issue asks of a lent GPU, in one call: build with the CUDA backend for
# this GPU, run the whole test suite (tests/cuda compares every op's values and gradients
# with the CPU's), then the Flow-Attention sweep against the official PyTorch code
# (gpu_sweep.sh). Logs and JSON lines go to $OUT (default ./gpu-check-out).
#
# Here, once (downloads the Debian build dependencies into .device/, git-ignored):
#   EXTRA_DEBS="libspng-dev libspng0" bash ../shared/device/prepare.sh
# Then with the device tool, from the repository root:
#   run(command="bash apps/bench/gpu_check.sh", carry=[".device"], timeout_s=540)
# Stages stop at the first failure and say which; SKIP_SWEEP=1 runs build + tests only;
# ALLOW_NO_GPU=1 lets the script be tried on a machine without a GPU.
set -uo pipefail
out=${OUT:-gpu-check-out}
mkdir -p "$out"
stage() { echo "== $* ($(date -u +%H:%M:%S))"; }
fail() {
  echo "FAILED: $1 (log: $2)"
  tail -40 "$2"
  exit 1
}

stage "environment"
[ -f .device/env.sh ] || { echo "no .device/env.sh: run prepare.sh here and carry .device"; exit 1; }
# shellcheck disable=SC1091
source .device/env.sh
{ date -u; nvidia-smi; nvcc --version; cmake --version; } > "$out/environment.txt" 2>&1
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
arch=${arch:-90}
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1), sm_$arch"

stage "configure + build (sm_$arch)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCONFLUX_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  > "$out/configure.log" 2>&1 || fail configure "$out/configure.log"
cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1 || fail build "$out/build.log"

stage "tests/cuda on the GPU"
build-gpu/tests/conflux_test_cuda > "$out/test_cuda.log" 2>&1
cuda_rc=$?
grep -E "^\[doctest\] (test cases|assertions)|SKIPPED" "$out/test_cuda.log" | sort | uniq -c | head
stage "the whole suite (ctest)"
ctest --test-dir build-gpu -j 8 --output-on-failure > "$out/ctest.log" 2>&1
ctest_rc=$?
tail -12 "$out/ctest.log"
[ $cuda_rc -eq 0 ] && [ $ctest_rc -eq 0 ] || fail "tests (tests/cuda rc $cuda_rc, ctest rc $ctest_rc)" "$out/test_cuda.log"
# On a GPU machine a skipped GPU test means the device was not usable (a driver older than
# the CUDA runtime, say): that is a failed check, not a pass.
if grep -q "SKIPPED: no CUDA device" "$out/test_cuda.log" && [ "${ALLOW_NO_GPU:-0}" != 1 ]; then
  fail "the GPU tests were skipped: $(grep -m1 -o 'SKIPPED: no CUDA device.*' "$out/test_cuda.log")" "$out/test_cuda.log"
fi

[ "${SKIP_SWEEP:-0}" = 1 ] && exit 0
stage "Flow-Attention sweep vs PyTorch"
bash apps/bench/gpu_sweep.sh build-gpu "$out"
