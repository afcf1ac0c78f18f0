#!/usr/bin/env python3
"""Markdown table of apps/bench/cpu_capabilities.sh output: the median over rounds of each
case's time, one column per (build, capability), and each column's ratio to the first."""
import json
import statistics
import sys
from collections import defaultdict

times = defaultdict(lambda: defaultdict(list))  # case -> column -> [ms]
columns, header = [], None
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row.get("bench") == "cpu_capabilities":
        header = row
        continue
    column = f"{row.get('build')} {row.get('capability')}"
    if row.get("bench") == "attention":
        case = f"{'causal' if row['causal'] else 'normal'} L={row['L']} {'fwd' if row['pass'] == 'forward' else 'fwd+bwd'}"
        ms = row["ms"]
    elif row.get("bench") == "listops_train_step":
        case, ms = "ListOps train step (batch 8, ~2000 tokens)", 1000 * row["s_per_step"]
    else:
        continue
    if column not in columns:
        columns.append(column)
    times[case][column].append(ms)

if header:
    print(f"CPU: {header['cpu']}; date {header['date']}; load average at start {header['loadavg']}; "
          f"threads {header.get('threads', 'all')}; command `{header.get('command', '')}`; "
          f"OPENBLAS_CORETYPE {header['OPENBLAS_CORETYPE']}\n")
print("| case (ms, median of rounds) | " + " | ".join(columns) + " |")
print("|---|" + "---|" * len(columns))
for case, by_column in times.items():
    medians = [statistics.median(by_column[c]) if by_column[c] else None for c in columns]
    first = medians[0]
    cells = [f"{m:.2f} ({m / first:.2f}x)" if m is not None and first else "-" for m in medians]
    print(f"| {case} | " + " | ".join(cells) + " |")
