"""Median over every paired repeat of several run.py outputs: crypt/none and C
pass-through/none per phase, and the glusterfs process's CPU per file.

    python bench/history/2026-12-05-crypt-abspath/aggregate.py 'bench-before-*' ...
"""

from __future__ import annotations

import glob
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
PHASES = ("create", "stat", "unlink")

for pattern in sys.argv[1:]:
    ratio: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    files = sorted(glob.glob(str(HERE / pattern / "results.json")))
    for f in files:
        by = {(r["rep"], r["graph"]): r["metrics"]
              for r in json.loads(Path(f).read_text())["runs"] if "metrics" in r}
        for rep in {k[0] for k in by}:
            for g in ("none", "c-passthrough", "py-crypt"):
                for m in PHASES:
                    cpu.setdefault((g, m), []).append(by[rep, g][f"{m}_cpu_us"])
                    ratio.setdefault((g, m), []).append(
                        by[rep, g][f"{m}_per_s"] / by[rep, "none"][f"{m}_per_s"])
    n = len(ratio["none", "stat"])
    print(f"{pattern}: {len(files)} runs, {n} paired repeats")
    for m in PHASES:
        r = ratio["py-crypt", m]
        print(f"  {m:7s} crypt/none {statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f}), "
              f"C pass-through/none {statistics.median(ratio['c-passthrough', m]):.2f}; "
              "glusterfs CPU us/file: " + ", ".join(
                  f"{g} {statistics.median(cpu[g, m]):.0f}"
                  for g in ("none", "c-passthrough", "py-crypt")))
