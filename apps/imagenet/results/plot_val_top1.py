#!/usr/bin/env python3
"""Val top-1 against epoch for the six Imagenette runs of RESULTS.md, as a plain SVG (no
plotting library needed): python3 plot_val_top1.py > imagenette_val_top1.svg"""
import glob
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
W, H, L, B, T, R = 640, 360, 50, 40, 20, 170
runs = []
for path in sorted(glob.glob(os.path.join(here, "imagenette_small_*seed*.jsonl"))):
    rows = [json.loads(line) for line in open(path)]
    runs.append((os.path.basename(path)[len("imagenette_small_"):-len(".jsonl")],
                 [(r["epoch"], 100 * r["acc"]) for r in rows]))
x = lambda e: L + (W - L - R) * e / 200.0
y = lambda a: H - B - (H - B - T) * a / 50.0
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>']
for a in range(0, 51, 10):
    out.append(f'<line x1="{L}" y1="{y(a)}" x2="{W - R}" y2="{y(a)}" stroke="#ddd"/>'
               f'<text x="{L - 6}" y="{y(a) + 4}" text-anchor="end">{a}%</text>')
for e in range(0, 201, 50):
    out.append(f'<text x="{x(e)}" y="{H - B + 16}" text-anchor="middle">{e}</text>')
out.append(f'<line x1="{L}" y1="{y(10)}" x2="{W - R}" y2="{y(10)}" stroke="#999" stroke-dasharray="4 3"/>'
           f'<text x="{W - R + 6}" y="{y(10) + 4}" fill="#666">chance 10%</text>')
out.append(f'<text x="{(L + W - R) / 2}" y="{H - 6}" text-anchor="middle">epoch</text>')
out.append(f'<text x="{L}" y="{T - 6}">conflux-imagenet --preset small: val top-1 on 50 held-out Imagenette images</text>')
colours = {"seed": ["#1f77b4", "#4a98c9", "#8cc0e0"], "nomix": ["#d62728", "#e35d5e", "#f09a9a"]}
for i, (name, pts) in enumerate(runs):
    kind = "nomix" if name.startswith("nomix") else "seed"
    c = colours[kind][int(name[-1]) % 3]
    path = " ".join(f"{x(e):.1f},{y(a):.1f}" for e, a in pts)
    out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="1.6"/>')
    label = ("no Mixup/CutMix, " if kind == "nomix" else "paper recipe, ") + name.split("_")[-1]
    out.append(f'<text x="{W - R + 6}" y="{T + 30 + 16 * i}" fill="{c}">{label}</text>')
out.append("</svg>")
print("\n".join(out))
