#!/usr/bin/env python3
"""Joins the GPU JSON lines of conflux-bench-flow-attention and flow_attention_torch.py
(--device cuda / --gpu-sweep) into markdown tables: Flow-Attention against the official
code, with each case's HBM floor, then softmax attention when it was run.

Usage: python3 apps/bench/gpu_join.py conflux_gpu.jsonl torch_gpu.jsonl
Rows are matched on (causal, pass, L); a missing or failed case shows as "-" or its error.
"""
import json
import sys


def load(paths):
    rows, notes = {}, []
    for path in paths:
        try:
            lines = open(path).read().splitlines()
        except OSError as e:
            notes.append(f"{path}: {e.strerror}")
            continue
        for line in lines:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut off by the time cap
            if r.get("bench") == "attention" and r.get("device") == "cuda":
                rows[(r["impl"], r["causal"], r["pass"], r["L"])] = r
            elif "check" in r or "config" in r:
                notes.append(json.dumps(r))
    return rows, notes


def ms(r):
    if r is None:
        return "-"
    if "error" in r:
        return "OOM" if "OutOfMemory" in r["error"] or "out of memory" in r["error"] else "error"
    return f"{r['ms']:.3f}" if r["ms"] < 100 else f"{r['ms']:.0f}"


def frac(r):
    return f"{100 * r['bound_frac']:.3g}%" if r and "bound_frac" in r else "-"


def mb(r):
    return f"{r['peak_mem_mb']:.0f}" if r and "peak_mem_mb" in r else "-"


def ratio(slow, fast):
    ok = slow and fast and "ms" in slow and "ms" in fast and fast["ms"] > 0
    return f"{slow['ms'] / fast['ms']:.1f}x" if ok else "-"


def main():
    rows, notes = load(sys.argv[1:])
    for n in notes:
        print(f"    {n}")
    keys = sorted({(c, p, L) for (_, c, p, L) in rows}, key=lambda k: (k[0], k[2], k[1]))
    print()
    print("| variant | L | pass | HBM floor ms | FP32 floor ms | Conflux ms | of floor | official ms | of floor "
          "| Conflux speed-up | Conflux MB | official MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for causal, pss, L in keys:
        ours, theirs = rows.get(("conflux_flow", causal, pss, L)), rows.get(("torch_official_flow", causal, pss, L))
        known = next((r for r in (ours, theirs) if r and "floor_ms" in r), {})
        floors = " | ".join(f"{known[k]:.4f}" if k in known else "-" for k in ("floor_ms", "flop_floor_ms"))
        print(f"| {'causal' if causal else 'normal'} | {L} | {'fwd' if pss == 'forward' else 'fwd+bwd'} "
              f"| {floors} | {ms(ours)} | {frac(ours)} | {ms(theirs)} "
              f"| {frac(theirs)} | {ratio(theirs, ours)} | {mb(ours)} | {mb(theirs)} |")
    soft = [k for k in keys if ("conflux_softmax",) + k in rows or ("torch_softmax",) + k in rows]
    if soft:
        print()
        print("| variant | L | pass | Conflux softmax ms | torch softmax ms | Conflux flow ms "
              "| Conflux MB softmax / flow |")
        print("|---|---|---|---|---|---|---|")
        for causal, pss, L in soft:
            cs, ts, cf = (rows.get((i, causal, pss, L)) for i in ("conflux_softmax", "torch_softmax", "conflux_flow"))
            print(f"| {'causal' if causal else 'normal'} | {L} | {'fwd' if pss == 'forward' else 'fwd+bwd'} "
                  f"| {ms(cs)} | {ms(ts)} | {ms(cf)} | {mb(cs)} / {mb(cf)} |")
    print()
    print("HBM floor = minimal bytes / peak bandwidth, FP32 floor = minimal flops / peak float32 rate "
          "(apps/bench_flow_attention.cpp: hbm_floor_bytes, min_flops); 'of floor' = the larger floor / measured "
          "(100% is the bound; a measured copy reaches ~90% of peak bandwidth).")


if __name__ == "__main__":
    main()
