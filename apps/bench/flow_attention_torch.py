#!/usr/bin/env python3
"""Times the official PyTorch Flow-Attention (thuml/Flowformer) on the same cases as
conflux-bench-flow-attention and prints the same JSON lines (impl "torch_official_flow").

The two functions below follow the official code's equations and op order
(Flow_Attention.py, BENCHMARKS.md 0.2 and 0.3): einsum normalisers, torch.softmax
competition, and for the causal variant `causal_dot_product` as a materialised
einsum + cumsum over [B, H, L, D, M]. Also times torch's own softmax attention.

Usage: python3 apps/bench/flow_attention_torch.py [--lengths 256,1024,4096,16384] [--threads 2]
Needs python3-torch (Debian) — the Conflux build does not.
"""
import argparse
import json
import os
import time

import torch

EPS = 1e-6


def flow_attention(q, k, v, clamp=1.0):
    """Official non-causal core Flow_Attention on [B, H, L, D] projections."""
    q, k = torch.sigmoid(q), torch.sigmoid(k)
    sink_incoming = 1.0 / torch.einsum("nhld,nhd->nhl", q + EPS, k.sum(dim=2) + EPS)
    source_outgoing = 1.0 / torch.einsum("nhld,nhd->nhl", k + EPS, q.sum(dim=2) + EPS)
    conserved_sink = torch.einsum("nhld,nhd->nhl", q + EPS, (k * source_outgoing[:, :, :, None]).sum(dim=2) + EPS)
    conserved_source = torch.einsum("nhld,nhd->nhl", k + EPS, (q * sink_incoming[:, :, :, None]).sum(dim=2) + EPS)
    conserved_source = torch.clamp(conserved_source, min=-clamp, max=clamp)
    sink_allocation = torch.sigmoid(conserved_sink * (float(q.shape[2]) / float(k.shape[2])))
    source_competition = torch.softmax(conserved_source, dim=-1) * float(k.shape[2])
    kv = k.transpose(-2, -1) @ (v * source_competition[:, :, :, None])
    return (q @ kv) * sink_incoming[:, :, :, None] * sink_allocation[:, :, :, None]


def causal_dot_product(q, k, v):
    kv = torch.einsum("nhld,nhlm->nhldm", k, v).cumsum(dim=2)
    return torch.einsum("nhld,nhldm->nhlm", q, kv)


def flow_attention_causal(q, k, v, clamp=5.0):
    """Official causal Flow-Attention (NLP clamp 5)."""
    q, k = torch.sigmoid(q), torch.sigmoid(k)
    normal = (torch.arange(q.shape[2], dtype=q.dtype) + 1.0)[None, None, :]
    sink_incoming = 1.0 / torch.einsum("nhld,nhld->nhl", q + EPS, k.cumsum(dim=2) + EPS)
    source_outgoing = 1.0 / torch.einsum("nhld,nhld->nhl", k + EPS, q.cumsum(dim=2) + EPS)
    sink_incoming = sink_incoming * normal
    source_outgoing = source_outgoing * normal
    conserved_sink = torch.einsum("nhld,nhld->nhl", q + EPS,
                                  (k * source_outgoing[:, :, :, None]).cumsum(dim=2) + EPS) / normal
    conserved_source = torch.einsum("nhld,nhld->nhl", k + EPS,
                                    (q * sink_incoming[:, :, :, None]).cumsum(dim=2) + EPS) / normal
    conserved_source = torch.clamp(conserved_source, min=-clamp, max=clamp)
    sink_allocation = torch.sigmoid(conserved_sink)
    conserved_source = torch.exp(conserved_source)
    source_competition = (conserved_source / conserved_source.cumsum(dim=-1)) * normal
    x = causal_dot_product(q * (sink_incoming / normal)[:, :, :, None], k, v * source_competition[:, :, :, None])
    return x * sink_allocation[:, :, :, None]


def softmax_attention(q, k, v, causal):
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if causal:
        L = q.shape[2]
        scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


def measure(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = rss_kb("VmRSS:")
    fn()
    return times[len(times) // 2], (rss_kb("VmHWM:") - base) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="256,1024,4096,16384")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--softmax-max-len", type=int, default=4096)
    ap.add_argument("--causal-max-len", type=int, default=16384)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    H, D = 8, 64
    print(json.dumps({"config": "flow_attention_torch", "torch": torch.__version__, "threads": args.threads,
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"), "reps": args.reps}),
          flush=True)
    for L in [int(x) for x in args.lengths.split(",")]:
        g = torch.Generator().manual_seed(L)
        q, k, v = (torch.randn(args.batch, H, L, D, generator=g) for _ in range(3))
        cases = [("torch_official_flow", False, lambda a, b, c: flow_attention(a, b, c)),
                 ("torch_official_flow", True, lambda a, b, c: flow_attention_causal(a, b, c))]
        if L <= args.softmax_max_len:
            cases += [("torch_softmax", False, lambda a, b, c: softmax_attention(a, b, c, False)),
                      ("torch_softmax", True, lambda a, b, c: softmax_attention(a, b, c, True))]
        for impl, causal, fn in cases:
            if causal and impl == "torch_official_flow" and L > args.causal_max_len:
                continue

            def fwd():
                with torch.no_grad():
                    fn(q, k, v)

            def fwd_bwd():
                a, b, c = (t.detach().requires_grad_() for t in (q, k, v))
                fn(a, b, c).sum().backward()

            for name, f in (("forward", fwd), ("forward_backward", fwd_bwd)):
                ms, peak = measure(f, args.reps)
                print(json.dumps({"bench": "attention", "impl": impl, "causal": causal, "pass": name,
                                  "B": args.batch, "H": H, "L": L, "D": D, "dtype": "float32",
                                  "threads": args.threads, "ms": round(ms, 3), "peak_rss_mb": round(peak, 1)}),
                      flush=True)


if __name__ == "__main__":
    main()
