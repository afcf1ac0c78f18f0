#!/usr/bin/env bash
# conflux-bench-rl and its PyTorch twin (apps/bench/dt_torch.py) one after the other on the same
# threads, then a table of Conflux's speed-up per figure. JSON lines of both go to $OUT
# (default apps/bench/results/rl_<date>.jsonl).
#   apps/bench/rl_vs_torch.sh [build dir] [threads] [steps]
set -euo pipefail
build=${1:-build}
threads=${2:-$(nproc)}
steps=${3:-20}
out=${OUT:-apps/bench/results/rl_$(date +%F).jsonl}
mkdir -p "$(dirname "$out")"
python=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
{
  "$build/apps/conflux-bench-rl" --threads "$threads" --steps "$steps"
  "$python" apps/bench/dt_torch.py --threads "$threads" --steps "$steps"
} | tee "$out"
"$python" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
figures = {}
for r in rows:
    if r.get("bench") in ("train", "act"):
        figures.setdefault((r["bench"], r["attention"]), {})[r["impl"]] = r["ms_per_step"]
print(f"\n{'figure':<22}{'conflux ms':>12}{'torch ms':>12}{'speed-up':>10}")
for (bench, attention), ms in figures.items():
    if "conflux" in ms and "torch" in ms:
        print(f"{bench + ' ' + attention:<22}{ms['conflux']:>12.2f}{ms['torch']:>12.2f}{ms['torch'] / ms['conflux']:>9.1f}x")
PY
