#!/usr/bin/env python3
"""The PyTorch twin of conflux-bench-lm-train: one training step of the paper's language
model (BENCHMARKS.md §2: fairseq transformer_lm with causal Flow-Attention, 6 pre-LN layers x
512, 8 heads, FFN 2048 ReLU, dropout 0.1, tied embedding of --vocab words scaled by sqrt(512),
sinusoidal positions, final LayerNorm) on random tokens: forward, logits + cross-entropy as
fairseq computes them (the [tokens x vocab] logits materialised), backward, AdamW. The
attention is the official NLP equations (flow_attention_torch.py: flow_attention_causal,
clamp 5). Prints tokens/s of the median step and the process's peak RSS, the same fields as
the C++ side ("impl": "torch").

Usage: python3 apps/bench/lm_train_torch.py [--vocab 267744] [--batch 4] [--tokens 512] [--steps 5] [--threads 2]
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_attention_torch import CausalFlowSelfAttention  # noqa: E402  (the official equations)


class Layer(nn.Module):
    def __init__(self, d, heads, d_ff, dropout):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalFlowSelfAttention(d, heads, dropout, clamp=5.0)
        self.ffn = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), nn.Linear(d_ff, d), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.ffn(self.ln_2(x))


def sinusoids(n, d, padding_idx=1):
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000.0) / (half - 1)))
    pos = torch.arange(padding_idx + 1, padding_idx + 1 + n, dtype=torch.float)[:, None] * freq[None, :]
    return torch.cat([torch.sin(pos), torch.cos(pos)], dim=1)


class LM(nn.Module):
    def __init__(self, vocab, d=512, heads=8, d_ff=2048, layers=6, tokens=512, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=1)
        nn.init.normal_(self.embed.weight, 0.0, d ** -0.5)  # fairseq's embedding init
        nn.init.zeros_(self.embed.weight[1])
        self.register_buffer("positions", sinusoids(tokens, d))
        self.layers = nn.ModuleList(Layer(d, heads, d_ff, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.scale = math.sqrt(d)

    def forward(self, tokens):
        x = self.drop(self.embed(tokens) * self.scale + self.positions[: tokens.shape[1]])
        for layer in self.layers:
            x = layer(x)
        return self.ln(x) @ self.embed.weight.t()  # tied output layer: [B, T, V] logits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=267744)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(json.dumps({"config": {"bench": "lm_train_torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                                 "vocab": a.vocab, "batch": a.batch, "tokens": a.tokens, "steps": a.steps}}), flush=True)
    torch.manual_seed(0)
    model = LM(a.vocab, tokens=a.tokens)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    tokens = torch.randint(4, a.vocab, (a.batch, a.tokens))
    target = torch.randint(4, a.vocab, (a.batch, a.tokens))
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(tokens).view(-1, a.vocab), target.view(-1), ignore_index=1)
        loss.backward()
        opt.step()
        if s >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({"bench": "lm_train", "impl": "torch", "params": sum(p.numel() for p in model.parameters()),
                      "ms_per_step": round(med, 1), "tokens_per_s": round(a.batch * a.tokens / (med / 1e3)),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
                      "loss": round(loss.item(), 4)}), flush=True)


if __name__ == "__main__":
    main()
