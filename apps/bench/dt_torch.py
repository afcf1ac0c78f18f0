#!/usr/bin/env python3
"""The PyTorch twin of `conflux-bench-rl --what train,act`: the same Decision Transformer
(BENCHMARKS.md 5.3: hidden 256, 3 pre-LN GPT-2 blocks, 4 heads, ReLU MLP 1024, (R, s, a)
tokens plus a timestep embedding, embed LayerNorm, tanh action head) with the official
Flowformer_RL causal Flow-Attention equations (flowformer_attention.py: sigmoid feature map,
eps 1e-6 inside both factors, `normal` = 1..L, clamp [-10, 10], exp competition over the
prefix, materialised einsum + cumsum causal dot product) or torch's softmax attention, the
same random batch shapes (B 64, K 20 -> 60 tokens, 17-dim states, 6-dim actions, every 4th
row's last quarter padded), masked action MSE, AdamW, clip 0.25. Prints the same JSON lines
with "impl": "torch".

Usage: python3 apps/bench/dt_torch.py [--steps 30] [--batch 64] [--threads 2] [--attention flow,softmax]
Needs python3-torch (Debian); the Conflux build does not.
"""
import argparse
import json
import time

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_attention_torch import CausalFlowSelfAttention  # noqa: E402  (the official equations)

class SoftmaxAttention(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.h = heads
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        B, L, D = x.shape
        q, k, v = (t.view(B, L, self.h, -1).transpose(1, 2) for t in self.qkv(x).chunk(3, -1))
        w = (q @ k.transpose(-2, -1)) / (q.shape[-1] ** 0.5)
        w = w.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        return self.drop(self.o((w @ v).transpose(1, 2).reshape(B, L, D)))


class Block(nn.Module):
    def __init__(self, d, heads, d_ff, dropout, attention):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = (CausalFlowSelfAttention(d, heads, dropout, clamp=10.0) if attention == "flow"
                     else SoftmaxAttention(d, heads, dropout))
        self.mlp = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), nn.Linear(d_ff, d), nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class DecisionTransformer(nn.Module):
    def __init__(self, state_dim, act_dim, attention, hidden=256, layers=3, heads=4, d_ff=1024, dropout=0.1):
        super().__init__()
        self.h = hidden
        self.embed_timestep = nn.Embedding(1000, hidden)
        self.embed_return, self.embed_state, self.embed_action = nn.Linear(1, hidden), nn.Linear(state_dim, hidden), nn.Linear(act_dim, hidden)
        self.embed_ln, self.drop = nn.LayerNorm(hidden), nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(hidden, heads, d_ff, dropout, attention) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)
        self.predict_state, self.predict_action, self.predict_return = nn.Linear(hidden, state_dim), nn.Linear(hidden, act_dim), nn.Linear(hidden, 1)

    def forward(self, states, actions, rtg, timesteps):
        B, K = states.shape[:2]
        t = self.embed_timestep(timesteps)
        x = torch.stack((self.embed_return(rtg) + t, self.embed_state(states) + t, self.embed_action(actions) + t), 1)
        x = self.drop(self.embed_ln(x.permute(0, 2, 1, 3).reshape(B, 3 * K, self.h)))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x).reshape(B, K, 3, self.h)
        self.predict_state(x[:, :, 2]), self.predict_return(x[:, :, 2])  # computed as the official model does
        return torch.tanh(self.predict_action(x[:, :, 1]))


def random_batch(B, K):
    g = torch.Generator().manual_seed(0)
    states, actions, rtg = torch.randn(B, K, 17, generator=g), torch.rand(B, K, 6, generator=g) * 2 - 1, torch.rand(B, K, 1, generator=g)
    timesteps = torch.tensor([[(37 * i + k) % 1000 for k in range(K)] for i in range(B)])
    mask = torch.ones(B, K)
    mask[::4, 3 * K // 4:] = 0
    return states, actions, rtg, timesteps, mask


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--context", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--attention", default="flow,softmax")
    p.add_argument("--act-episodes", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(json.dumps({"config": {"bench": "rl_torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                                 "steps": a.steps, "batch": a.batch, "context": a.context}}), flush=True)
    for attention in a.attention.split(","):
        torch.manual_seed(0)
        model = DecisionTransformer(17, 6, attention)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
        states, actions, rtg, timesteps, mask = random_batch(a.batch, a.context)
        times = []
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            pred = model(states, actions, rtg, timesteps)
            keep = mask.reshape(-1) > 0
            loss = ((pred.reshape(-1, 6)[keep] - actions.reshape(-1, 6)[keep]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            opt.step()
            if s >= a.warmup:
                times.append(1e3 * (time.perf_counter() - t0))
        times.sort()
        med = times[len(times) // 2]
        print(json.dumps({"bench": "train", "impl": "torch", "attention": attention, "batch": a.batch, "context": a.context,
                          "params": sum(p.numel() for p in model.parameters()), "ms_per_step": round(med, 2),
                          "steps_per_s": round(1e3 / med, 2), "min_ms": round(times[0], 2)}), flush=True)
    model = DecisionTransformer(17, 6, "flow").eval()
    states, actions, rtg, timesteps, _ = random_batch(a.act_episodes, a.context)
    times = []
    with torch.no_grad():
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            model(states, actions, rtg, timesteps)[:, -1].tolist()
            if s >= a.warmup:
                times.append(1e3 * (time.perf_counter() - t0))
    times.sort()
    print(json.dumps({"bench": "act", "impl": "torch", "attention": "flow", "episodes": a.act_episodes, "context": a.context,
                      "ms_per_step": round(times[len(times) // 2], 3)}), flush=True)


if __name__ == "__main__":
    main()
