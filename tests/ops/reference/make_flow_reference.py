#!/usr/bin/env python3
"""Writes flow_attention_official.h5: outputs and gradients of the official PyTorch
Flow-Attention equations (apps/bench/flow_attention_torch.py, which follows
thuml/Flowformer's Flow_Attention.py and Flowformer_NLP/RL's causal code) for small shapes
and the variants Conflux takes from the PyTorch code (plus Flowformer_LRA's JAX equations written in
PyTorch: flow_attention_lra), in float64. tests/ops/test_flow_attention_frozen.cpp
compares the fused kernels with it (llm.c's frozen-reference practice), beside the composite
oracle of tests/ops/flow_attention_reference.h. Anyone with PyTorch and h5py can rerun it:

  python3 tests/ops/reference/make_flow_reference.py      (Debian: python3-torch python3-h5py)

Per case, group /<case>/: q [B,H,L,D], k [B,H,S,D], v [B,H,S,M], grad_y [B,H,L,M] (inputs), and
y, grad_q, grad_k, grad_v: the output and the gradients of sum(y * grad_y). The attrs name the
Conflux preset, the clamp and whether it is causal.
"""
import math
import os
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "apps", "bench"))
from flow_attention_torch import flow_attention, flow_attention_causal, flow_attention_cv, flow_attention_lra  # noqa: E402

# (name, preset, causal, clamp, B, H, L, S, D, M, input scale)
CASES = [
    ("core", "core", False, 1.0, 2, 2, 7, 7, 4, 3, 2.0),
    ("core_cross", "core", False, 1.0, 1, 3, 5, 9, 4, 6, 2.0),  # S != L: the L/S allocation factor
    ("time_series", "time_series", False, math.inf, 2, 2, 6, 6, 5, 5, 3.0),
    ("nlp", "nlp", True, 5.0, 2, 2, 9, 9, 4, 3, 3.0),
    ("rl", "rl", True, 10.0, 1, 4, 12, 12, 3, 5, 3.0),
    ("vision", "vision", False, 1.0, 2, 3, 8, 8, 4, 4, 2.0),  # Flowformer_CV: +eps after each normaliser dot
    # Flowformer_LRA (JAX, transcribed): relu + 1e-6, no clamp, competition over heads. Appended
    # last so the generator's stream, and with it every earlier case, stays the same.
    ("lra", "lra", False, math.inf, 2, 3, 6, 6, 4, 3, 2.0),
]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flow_attention_official.h5")
    g = torch.Generator().manual_seed(20221203)
    with h5py.File(out, "w") as f:
        for name, preset, causal, clamp, B, H, L, S, D, M, scale in CASES:
            q = (torch.randn(B, H, L, D, generator=g, dtype=torch.float64) * scale).requires_grad_()
            k = (torch.randn(B, H, S, D, generator=g, dtype=torch.float64) * scale).requires_grad_()
            v = torch.randn(B, H, S, M, generator=g, dtype=torch.float64).requires_grad_()
            grad_y = torch.randn(B, H, L, M, generator=g, dtype=torch.float64)
            if causal:
                y = flow_attention_causal(q, k, v, clamp=clamp)
            elif preset == "vision":
                y = flow_attention_cv(q, k, v, clamp=clamp)
            elif preset == "lra":
                y = flow_attention_lra(q, k, v)
            else:
                y = flow_attention(q, k, v, clamp=clamp)
            y.backward(grad_y)
            grp = f.create_group(name)
            for key, t in [("q", q), ("k", k), ("v", v), ("grad_y", grad_y), ("y", y), ("grad_q", q.grad),
                           ("grad_k", k.grad), ("grad_v", v.grad)]:
                grp[key] = t.detach().numpy()
            grp.attrs["preset"], grp.attrs["causal"], grp.attrs["clamp"] = preset, causal, clamp
    print("wrote", out)


if __name__ == "__main__":
    main()
