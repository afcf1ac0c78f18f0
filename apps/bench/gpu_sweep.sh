#!/usr/bin/env bash
# The GPU sweep of the issue: the fused Flow-Attention CUDA kernels against the official
# PyTorch code on the same GPU, normal and causal, L = 1K..64K, B=1, H=8, D=64, float32,
# each case with its HBM and float32 compute floors; then one joined table. Run from the
# repository root.
#
#   apps/bench/gpu_sweep.sh DIR [OUT_DIR]
#       on the GPU machine. DIR is a build dir (DIR/apps/conflux-bench-flow-attention) or a
#       bundle dir made by --bundle (DIR/conflux-gpu.tar.xz). JSON lines, logs and table.md
#       go to OUT_DIR (default $OUT, else ./bench-gpu-out).
#   apps/bench/gpu_sweep.sh --bundle BUILD_DIR BUNDLE_DIR
#       on the build machine: packs the benchmark, libconflux and every shared library they
#       need except glibc, libstdc++ and the CUDA runtime/cuBLAS (the GPU machine has CUDA 13)
#       into BUNDLE_DIR/conflux-gpu.tar.xz (~13 MB), for a GPU machine without OpenBLAS,
#       HDF5, fmt or spng. Build it with -DCONFLUX_NATIVE=OFF: -march=native code may not
#       run on the GPU machine's CPU.
#
# Environment: HBM_GBPS and TFLOPS (peak bandwidth and float32 rate for the two floors; by
# default from the GPU's name: H200 4800 / 67, H100 SXM 3350 / 67, H100 PCIe 2000 / 51),
# CAP_S (time cap per program, default 100 s),
# EXTRA_ARGS (flags both programs take: --lengths, --batch, --reps, --warmup, --case-budget-s,
# --softmax-max-len; e.g. "--lengths 1024,4096 --reps 5").
# Runtime: each case stops timing after 3 s (>= 3 calls), so each program takes about a
# minute on an H100/H200 and the caps bound the whole script near 4 minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)

bundle() {
  local build=$1 dest=$2 bin=$1/apps/conflux-bench-flow-attention
  [ -x "$bin" ] || { echo "no $bin: build the target conflux-bench-flow-attention first" >&2; exit 1; }
  grep -q "CONFLUX_NATIVE:BOOL=ON" "$build/CMakeCache.txt" 2>/dev/null &&
    echo "warning: $build was built with -march=native (CONFLUX_NATIVE=ON); it may not run on another CPU" >&2
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/lib" "$dest"
  cp "$bin" "$stage/"
  # Every resolved dependency but the C/C++ runtime (newer on the GPU machine) and CUDA's
  # own libraries (they must match the GPU machine's driver, so its own are used).
  ldd "$bin" | awk '$3 ~ /^\// {print $3}' |
    grep -v -E '/cuda/|/lib(c|m|dl|rt|pthread|resolv|stdc\+\+|gcc_s)\.so' |
    while read -r lib; do cp -L "$lib" "$stage/lib/"; done
  tar -C "$stage" -cf - . | xz -T0 -6 > "$dest/conflux-gpu.tar.xz"
  rm -rf "$stage"
  echo "wrote $dest/conflux-gpu.tar.xz ($(du -h "$dest/conflux-gpu.tar.xz" | cut -f1))"
}

if [ "${1:-}" = "--bundle" ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --bundle BUILD_DIR BUNDLE_DIR" >&2; exit 1; }
  bundle "$2" "$3"
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: $0 DIR [OUT_DIR]   (see the header of $0)" >&2; exit 1; }
dir=$1
out=${2:-${OUT:-bench-gpu-out}}
mkdir -p "$out"
cap=${CAP_S:-100}
extra=${EXTRA_ARGS:-}
t_start=$(date +%s)

# ---- the benchmark binary and its libraries ---------------------------------------------------
if [ -f "$dir/conflux-gpu.tar.xz" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  tar -C "$root" -xJf "$dir/conflux-gpu.tar.xz"
  bin=$root/conflux-bench-flow-attention
  libs=$root/lib
else
  bin=$dir/apps/conflux-bench-flow-attention
  libs=$dir
fi
# CUDA 13's runtime and cuBLAS: the toolkit's, else the ones PyTorch's wheels bring.
cuda_libs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && cuda_libs="$cuda_libs:$d"
done
wheel_libs=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
found = [p for s in site.getsitepackages() for lib in ("libcublas.so.13", "libcudart.so.13")
         for p in glob.glob(f"{s}/nvidia/**/{lib}", recursive=True)]
print(":".join(sorted({os.path.dirname(p) for p in found})))
PY
)
export LD_LIBRARY_PATH="$libs$cuda_libs${wheel_libs:+:$wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if ! ldd "$bin" > "$out/ldd.txt" 2>&1 || grep -q "not found" "$out/ldd.txt"; then
  echo "error: $bin cannot be loaded here:" >&2
  grep "not found" "$out/ldd.txt" >&2 || cat "$out/ldd.txt" >&2
  echo "make a bundle on the build machine ($0 --bundle) or build here" >&2
fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem --format=csv \
  > "$out/gpu.txt" 2>&1
case "$gpu" in  # datasheet peaks: HBM GB/s, float32 TFLOP/s without tensor cores
  *H200*) peak="4800 67" ;;
  *H100*PCIe*) peak="2000 51" ;;
  *H100*) peak="3350 67" ;;
  *) peak="4800 67"; echo "note: unknown GPU '$gpu', floors assume an H200 (set HBM_GBPS, TFLOPS)" ;;
esac
HBM_GBPS=${HBM_GBPS:-${peak% *}}
TFLOPS=${TFLOPS:-${peak#* }}
echo "GPU: ${gpu:-unknown}; floors at $HBM_GBPS GB/s, $TFLOPS TFLOP/s; cap ${cap}s per program; output in $out"

# ---- the two sweeps ---------------------------------------------------------------------------
run() {  # name, command...: JSON lines to $out/name.jsonl, stderr to $out/name.err
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  timeout -k 5 "$cap" "$@" > "$out/$name.jsonl" 2> "$out/$name.err"
  rc=$?
  echo "$name: exit $rc, $(($(date +%s) - t0)) s, $(grep -c '"bench"' "$out/$name.jsonl") cases$(
    [ $rc -eq 124 ] && echo " (stopped at the ${cap}s cap)")"
  [ $rc -eq 0 ] || { tail -5 "$out/$name.err"; failed=1; }
}
failed=0
# shellcheck disable=SC2086  # EXTRA_ARGS is a list of flags
run conflux_gpu "$bin" --gpu-sweep --hbm-gbps "$HBM_GBPS" --tflops "$TFLOPS" $extra
# shellcheck disable=SC2086
run torch_gpu python3 "$here/flow_attention_torch.py" --gpu-sweep --hbm-gbps "$HBM_GBPS" --tflops "$TFLOPS" $extra

python3 "$here/gpu_join.py" "$out/conflux_gpu.jsonl" "$out/torch_gpu.jsonl" | tee "$out/table.md"
echo "total $(($(date +%s) - t_start)) s"
exit $failed  # a program that failed or hit its cap makes the sweep fail (the table has what ran)
