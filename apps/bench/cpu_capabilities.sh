#!/usr/bin/env bash
# The CPU kernels on every instruction-set path this machine supports (core/cpu_capability.h),
# and optionally a second build (e.g. one configured with -DCONFLUX_NATIVE=ON), on two
# workloads: the Flow-Attention op (conflux-bench-flow-attention, B=1 H=8 D=64, fwd and
# fwd+bwd, normal and causal) and a whole ListOps training step (the official preset of
# conflux-lra: 1 layer, d 512, 2 heads, MLP 1024, sequences of ~2000 tokens, batch 8, AdamW).
# JSON lines on stdout; run it on a quiet machine (nothing else running), from the
# repository root:
#
#   apps/bench/cpu_capabilities.sh build [build-native] > capabilities.jsonl
#   python3 apps/bench/capabilities_table.py capabilities.jsonl     (medians over the rounds)
#
# Environment: LENGTHS (default 1024,4096), REPS (10), STEPS (training steps per run, 6; the
# first is not counted), ROUNDS (3: every build and capability runs once per round, in turn,
# so that a slow spell of a shared machine hits them all alike), THREADS (sets
# CONFLUX_NUM_THREADS and OPENBLAS_NUM_THREADS; unset: the defaults, all cores).
set -euo pipefail
builds=("$@")
[ ${#builds[@]} -ge 1 ] || { echo "usage: $0 BUILD_DIR [OTHER_BUILD_DIR]" >&2; exit 2; }
LENGTHS=${LENGTHS:-1024,4096}
REPS=${REPS:-10}
STEPS=${STEPS:-6}
ROUNDS=${ROUNDS:-3}
if [ -n "${THREADS:-}" ]; then export CONFLUX_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "{\"bench\":\"cpu_capabilities\",\"date\":\"$(date -u +%FT%TZ)\",\"cpu\":\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"OPENBLAS_CORETYPE\":\"${OPENBLAS_CORETYPE:-(unset)}\",\"threads\":\"${THREADS:-all}\",\"command\":\"$0 $*\"}"
"${builds[0]}/apps/conflux-lra" generate --task listops --out "$work/data" --train 64 --val 8 --test 8 \
  --min-len 1900 --max-len 2000 --seed 1 > /dev/null

# One training run; prints the median seconds per step over steps 2..STEPS.
train_step_s() {
  local lra=$1 out=$work/run_$RANDOM
  "$lra" train --task listops --data "$work/data" --out "$out" --batch-size 8 --steps "$STEPS" \
    --eval-every 100000 --eval-batches 1 --checkpoint-every 100000 --log-every 1 --seed 1 > /dev/null 2>&1
  grep '"split": *"train"' "$out/metrics.jsonl" | sed 's/.*"elapsed_s": *\([0-9.e+-]*\).*/\1/' |
    awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -g |
    awk '{ d[NR] = $1 } END { printf "%.4f", (NR % 2) ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2 }'
}

for round in $(seq "$ROUNDS"); do
  for build in "${builds[@]}"; do
    # builds from before run-time dispatch have no --version: they are native builds
    version=$("$build/apps/conflux-lra" --version 2>/dev/null || echo "cpu kernels: native")
    capabilities=$(echo "$version" | sed -n 's/^cpu kernels: \(native\).*/\1/p')
    [ -n "$capabilities" ] || capabilities=$(echo "$version" | sed -n 's/.*supported: \([^;]*\);.*/\1/p')
    for capability in $capabilities; do
      if [ "$capability" = native ]; then unset CONFLUX_CPU_CAPABILITY; else export CONFLUX_CPU_CAPABILITY=$capability; fi
      "$build/apps/conflux-bench-flow-attention" --lengths "$LENGTHS" --reps "$REPS" --softmax-max-len 0 |
        sed "s|^{|{\"round\":$round,\"build\":\"$build\",\"capability\":\"$capability\",|"
      echo "{\"round\":$round,\"build\":\"$build\",\"capability\":\"$capability\",\"bench\":\"listops_train_step\",\"batch\":8,\"max_len\":2000,\"s_per_step\":$(train_step_s "$build/apps/conflux-lra")}"
    done
  done
done
