#!/usr/bin/env python3
"""Times the official PyTorch Flow-Attention (thuml/Flowformer) on the same cases as
conflux-bench-flow-attention and prints the same JSON lines (impl "torch_official_flow").

The two functions below follow the official code's equations and op order
(Flow_Attention.py, BENCHMARKS.md 0.2 and 0.3): einsum normalisers, torch.softmax
competition, and for the causal variant `causal_dot_product` as a materialised
einsum + cumsum over [B, H, L, D, M]. Also times torch's own softmax attention.

Usage: python3 apps/bench/flow_attention_torch.py [--lengths 256,1024,4096,16384] [--threads 2]
       python3 apps/bench/flow_attention_torch.py --device cuda [--reps 10] [--warmup 3] [--hbm-gbps 4800]
       python3 apps/bench/flow_attention_torch.py --gpu-sweep      (L = 1K..64K on the GPU)
Needs python3-torch (Debian) — the Conflux build does not.

On the GPU (--device cuda) the timing and the fields follow conflux-bench-flow-attention
--device cuda exactly, so that apps/bench/gpu_join.py can join the two outputs: L2 flushed
before each timed call, host clock between two torch.cuda.synchronize() calls, median "ms"
and "min_ms", "peak_mem_mb" from torch.cuda.max_memory_allocated during the first call
(inputs excluded), forward+backward as y.backward(grad_y), and for Flow-Attention the case's
HBM floor (hbm_floor_bytes) and compute floor (min_flops), the same models as the C++ ones.
Matmuls run in full FP32 (TF32 off), as Conflux's cuBLAS calls do. A case that runs out of
GPU memory prints a line with "error".
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


def flow_attention_lra(q, k, v):
    """Flowformer_LRA's flow_attention.py (JAX) on [B, H, L, D]: phi = relu + 1e-6, eps added
    again in every normaliser, no clamp, and the competition softmax over the heads axis
    (BENCHMARKS.md 0.5: the JAX tensors are [n, s, h] there, so softmax(axis=-1) is over h)."""
    q, k = torch.relu(q) + 1e-6, torch.relu(k) + 1e-6
    sink_incoming = 1.0 / torch.einsum("nhld,nhd->nhl", q + EPS, k.sum(dim=2) + EPS)
    source_outgoing = 1.0 / torch.einsum("nhld,nhd->nhl", k + EPS, q.sum(dim=2) + EPS)
    conserved_sink = torch.einsum("nhld,nhd->nhl", q + EPS, (k * source_outgoing[:, :, :, None]).sum(dim=2) + EPS)
    conserved_source = torch.einsum("nhld,nhd->nhl", k + EPS, (q * sink_incoming[:, :, :, None]).sum(dim=2) + EPS)
    sink_allocation = torch.sigmoid(conserved_sink * (float(q.shape[2]) / float(k.shape[2])))
    source_competition = torch.softmax(conserved_source, dim=1) * float(k.shape[2])
    kv = k.transpose(-2, -1) @ (v * source_competition[:, :, :, None])
    return (q @ kv) * sink_incoming[:, :, :, None] * sink_allocation[:, :, :, None]


def flow_attention_cv(q, k, v, clamp=1.0):
    """Official Flowformer_CV Flow_Attention (flowformer.py at f15165d): the core equations with
    +EPS after each of the four normaliser dot products."""
    q, k = torch.sigmoid(q), torch.sigmoid(k)
    sink_incoming = 1.0 / (torch.einsum("nhld,nhd->nhl", q + EPS, k.sum(dim=2) + EPS) + EPS)
    source_outgoing = 1.0 / (torch.einsum("nhld,nhd->nhl", k + EPS, q.sum(dim=2) + EPS) + EPS)
    conserved_sink = torch.einsum("nhld,nhd->nhl", q + EPS,
                                  (k * source_outgoing[:, :, :, None]).sum(dim=2) + EPS) + EPS
    conserved_source = torch.einsum("nhld,nhd->nhl", k + EPS,
                                    (q * sink_incoming[:, :, :, None]).sum(dim=2) + EPS) + EPS
    conserved_source = torch.clamp(conserved_source, min=-clamp, max=clamp)
    sink_allocation = torch.sigmoid(conserved_sink * (float(q.shape[2]) / float(k.shape[2])))
    source_competition = torch.softmax(conserved_source, dim=-1) * float(k.shape[2])
    kv = k.transpose(-2, -1) @ (v * source_competition[:, :, :, None])
    return ((q @ kv) * sink_incoming[:, :, :, None]) * sink_allocation[:, :, :, None]


def causal_dot_product(q, k, v):
    kv = torch.einsum("nhld,nhlm->nhldm", k, v).cumsum(dim=2)
    return torch.einsum("nhld,nhldm->nhlm", q, kv)


def flow_attention_causal(q, k, v, clamp=5.0):
    """Official causal Flow-Attention (NLP clamp 5)."""
    q, k = torch.sigmoid(q), torch.sigmoid(k)
    normal = (torch.arange(q.shape[2], dtype=q.dtype, device=q.device) + 1.0)[None, None, :]
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


class CausalFlowSelfAttention(torch.nn.Module):
    """q/k/v/out projections around flow_attention_causal, then dropout: the attention module of
    Flowformer_NLP (inside fairseq, clamp 5) and Flowformer_RL (clamp 10) alike; used by the
    model twins lm_train_torch.py and dt_torch.py."""

    def __init__(self, d, heads, dropout, clamp):
        super().__init__()
        self.h, self.clamp = heads, clamp
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x):
        B, L, D = x.shape
        split = lambda t: t.view(B, L, self.h, -1).transpose(1, 2)
        y = flow_attention_causal(split(self.q(x)), split(self.k(x)), split(self.v(x)), clamp=self.clamp)
        return self.drop(self.o(y.transpose(1, 2).reshape(B, L, D)))


def softmax_attention(q, k, v, causal):
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if causal:
        L = q.shape[2]
        scores = scores.masked_fill(torch.ones(L, L, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


# ---- HBM floor: the same model as hbm_floor_bytes in apps/bench_flow_attention.cpp ------------
# (read that comment; keep the two in step). Forward (inference): read q, k, v, write y.
# Forward+backward: that, plus the saved state written once and read once, plus reading
# grad_y, q, k, v in the backward and writing dq, dk, dv. The saved state is the CUDA
# kernels' (cuda/flow_attention.cuh): per (b,h), 5 numbers per row, and 4 D-vectors and the
# D x M KV non-causal; 6 numbers per row causal.
def hbm_floor_bytes(B, H, L, D, M, causal, with_backward, elem_bytes):
    BH = B * H
    qk, vy = BH * L * D, BH * L * M
    forward = 2 * qk + vy + vy
    if not with_backward:
        return forward * elem_bytes
    state = BH * 6 * L if causal else BH * (5 * L + 4 * D + D * M)
    backward = vy + (2 * qk + vy) + (2 * qk + vy)
    return (forward + state + backward + state) * elem_bytes


# The compute floor: min_flops in apps/bench_flow_attention.cpp (the [L,D] x [D,M] products any
# Flow-Attention does, 4 L D M forward, 12 L D M forward+backward, per (b,h)).
def min_flops(B, H, L, D, M, with_backward):
    return (12 if with_backward else 4) * B * H * L * D * M


def floor_fields(B, H, L, D, causal, with_backward, gbps, tflops, measured_ms):
    nbytes = hbm_floor_bytes(B, H, L, D, D, causal, with_backward, 4)
    flops = min_flops(B, H, L, D, D, with_backward)
    floor, flop_floor = nbytes / (gbps * 1e9) * 1e3, flops / (tflops * 1e12) * 1e3
    return {"hbm_bytes": nbytes, "hbm_gbps": gbps, "floor_ms": round(floor, 5), "flops": flops, "tflops": tflops,
            "flop_floor_ms": round(flop_floor, 5), "floor_frac": float(f"{floor / measured_ms:.4g}"),
            "bound_frac": float(f"{max(floor, flop_floor) / measured_ms:.4g}")}


# ---- CPU timing (unchanged) -------------------------------------------------------------------

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


# ---- GPU timing -------------------------------------------------------------------------------

L2_FLUSH_BYTES = 256 << 20  # twice the largest L2 (H100 50 MB, H200 60 MB), as in the C++ bench


def measure_cuda(fn, args, l2_flush):
    """Timed-call count, median and fastest (ms), and the peak memory (MB) of the first
    call. Same procedure as measure_cuda in apps/bench_flow_attention.cpp."""
    budget_ms = args.case_budget_s * 1e3
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    peak_mb = 0.0
    for i in range(max(args.warmup, 1)):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        if i == 0:  # allocated bytes, not the cache: the same for every call
            peak_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
        if budget_ms > 0 and i >= 1 and (time.perf_counter() - t0) * 1e3 > budget_ms / 4:
            break
    times = []
    for _ in range(args.reps):
        l2_flush.zero_()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
        if budget_ms > 0 and sum(times) > budget_ms and len(times) >= 3:
            break
    times.sort()
    return len(times), times[len(times) // 2], times[0], peak_mb


def run_cuda(args, lengths):
    torch.backends.cuda.matmul.allow_tf32 = False  # full FP32, like Conflux's cuBLAS calls
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    H, D, B = 8, 64, args.batch
    print(json.dumps({"config": "flow_attention_torch", "device": "cuda", "gpu": torch.cuda.get_device_name(0),
                      "torch": torch.__version__, "cuda": torch.version.cuda, "warmup": args.warmup,
                      "reps": args.reps, "case_budget_s": args.case_budget_s, "hbm_gbps": args.hbm_gbps,
                      "tflops": args.tflops,
                      "l2_flush_mb": L2_FLUSH_BYTES >> 20, "tf32": False,
                      "timer": "host clock between torch.cuda.synchronize"}), flush=True)
    oom = getattr(torch.cuda, "OutOfMemoryError", RuntimeError)
    l2_flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.uint8, device=dev)
    for L in lengths:
        g = torch.Generator(device=dev).manual_seed(L)
        q, k, v, gy = (torch.randn(B, H, L, D, generator=g, device=dev) for _ in range(4))
        for impl, causal, fn in cases(L, args):
            if causal and impl == "torch_official_flow" and L > args.causal_max_len:
                continue

            def fwd():
                with torch.no_grad():
                    fn(q, k, v)

            def fwd_bwd():
                a, b, c = (t.detach().requires_grad_() for t in (q, k, v))
                fn(a, b, c).backward(gy)

            for name, f in (("forward", fwd), ("forward_backward", fwd_bwd)):
                line = {"bench": "attention", "device": "cuda", "impl": impl, "causal": causal, "pass": name,
                        "B": B, "H": H, "L": L, "D": D, "dtype": "float32"}
                try:
                    iters, ms, min_ms, peak_mb = measure_cuda(f, args, l2_flush)
                except oom as e:  # the official causal code holds [B,H,L,D,M] several times over
                    line["error"] = type(e).__name__
                else:
                    line.update(iters=iters, ms=round(ms, 4), min_ms=round(min_ms, 4), peak_mem_mb=round(peak_mb, 1))
                    if impl == "torch_official_flow":
                        line.update(floor_fields(B, H, L, D, causal, name != "forward", args.hbm_gbps, args.tflops,
                                                 ms))
                # Out of the except block, so the failed call's tensors are no longer referenced.
                if "error" in line:
                    torch.cuda.empty_cache()
                print(json.dumps(line), flush=True)


def cases(L, args):
    out = [("torch_official_flow", False, lambda a, b, c: flow_attention(a, b, c)),
           ("torch_official_flow", True, lambda a, b, c: flow_attention_causal(a, b, c))]
    if L <= args.softmax_max_len:
        out += [("torch_softmax", False, lambda a, b, c: softmax_attention(a, b, c, False)),
                ("torch_softmax", True, lambda a, b, c: softmax_attention(a, b, c, True))]
    return out


def run_cpu(args, lengths):
    torch.set_num_threads(args.threads)
    H, D = 8, 64
    print(json.dumps({"config": "flow_attention_torch", "torch": torch.__version__, "threads": args.threads,
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"), "reps": args.reps}),
          flush=True)
    for L in lengths:
        g = torch.Generator().manual_seed(L)
        q, k, v = (torch.randn(args.batch, H, L, D, generator=g) for _ in range(3))
        for impl, causal, fn in cases(L, args):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default=None, help="default 256,1024,4096,16384; --gpu-sweep: 1024..65536")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=None, help="default 5 (CPU), 10 (GPU)")
    ap.add_argument("--softmax-max-len", type=int, default=4096)
    ap.add_argument("--causal-max-len", type=int, default=None, help="default 16384 (CPU), 65536 (GPU)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--gpu-sweep", action="store_true", help="--device cuda, L = 1K..64K, budget 3 s a case")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--hbm-gbps", type=float, default=4800.0, help="H200 4800, H100 SXM 3350")
    ap.add_argument("--tflops", type=float, default=67.0, help="float32 without tensor cores: H100 SXM/H200 67")
    ap.add_argument("--case-budget-s", type=float, default=None, help="stop timing a case after this (>= 3 reps)")
    args = ap.parse_args()
    gpu = args.gpu_sweep or args.device == "cuda"
    if args.lengths is None:
        args.lengths = "1024,2048,4096,8192,16384,32768,65536" if args.gpu_sweep else "256,1024,4096,16384"
    if args.reps is None:
        args.reps = 10 if gpu else 5
    if args.causal_max_len is None:
        args.causal_max_len = 65536 if gpu else 16384
    if args.case_budget_s is None:
        args.case_budget_s = 3.0 if args.gpu_sweep else 0.0
    lengths = [int(x) for x in args.lengths.split(",")]
    if not gpu:
        run_cpu(args, lengths)
        return
    if not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: torch.cuda.is_available() is False (no GPU or no CUDA build of torch)")
    run_cuda(args, lengths)


if __name__ == "__main__":
    main()
