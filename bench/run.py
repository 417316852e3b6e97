#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into RESULTS.md)
"""glupy benchmarks: single-process FUSE graphs, interleaved, against C baselines.

    sudo python3 bench/run.py            # full: 3 repeats, 1 GiB, 10k files (~15 min)
    sudo python3 bench/run.py --quick    # 1 repeat, 256 MiB, 2k files (~2-3 min)

Writes bench/RESULTS.md and bench/results.json (see bench/README.md).

Every graph is ``fuse -> [translator] -> storage/posix`` over a fresh directory on the
same local filesystem, started with ``glupy.local.process.mount_graph``.  Each workload is run
on every graph in a rotating order, ``R`` times; every figure is reported as median and
min-max, and as ratios against "none" and against the C pass-through measured in the
same repeat (paired ratios), because these machines are noisy (+-20 % between runs).

Graphs are pluggable: add an entry to GRAPHS (name -> GraphSpec).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gfapi_latency
from benchlib import (
    BENCH_DIR,
    METRICS,
    PY_TRANSLATORS,
    REPO,
    WORKLOADS,
    Env,
    MiB,
    Sizes,
    analyse,
    build_c_passthrough,
    check_names,
    fio_direct_probe,
    log,
    ratio_text,
    relative_type,
    render_metric_tables,
    render_rss_table,
    rss_kb,
    target,
)

from glupy._build import release
from glupy.local import process, volfile
from glupy.local.volfile import Graph, Volume

# =========================================================================== context


@dataclass
class Ctx:
    """What graph builders may need; created once per run."""

    base: Path                      # temp dir of the whole run
    c_passthrough_type: str = ""    # volfile `type` of the built C pass-through
    glupy_type: str = ""            # volfile `type` of the glupy bridge
    python_path: str = ""           # ':'-joined, for the glupy `python-path` option
    key_file: str = ""              # 32-byte key for crypt

    def glupy(self, name: str, spec: str, below: str, **opts: str) -> Volume:
        options = {"module": spec, "python-path": self.python_path}
        options.update(opts)
        return Volume(name=name, type=self.glupy_type, options=options, subvolumes=[below])


POSIX = "bench-posix"


def stack(*tops: Callable[[Ctx, str], Volume]) -> Callable[[Ctx, str], Graph]:
    """A builder: storage/posix over the source dir, then each ``top(ctx, below)``."""

    def build(ctx: Ctx, source: str) -> Graph:
        g = Graph()
        below = g.add(Volume(POSIX, "storage/posix", {"directory": source})).name
        for top in tops:
            below = g.add(top(ctx, below)).name
        g.validate()
        return g

    return build


@dataclass
class GraphSpec:
    description: str
    build: Callable[[Ctx, str], Graph]
    # workloads this graph runs (None: all of them)
    workloads: frozenset[str] | None = None
    # None if usable, else why not (checked at start, e.g. "module not written yet")
    unavailable: Callable[[], str | None] = lambda: None
    optional: bool = False          # not part of the default set unless available


def _module_missing(modname: str) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            found = importlib.util.find_spec(modname) is not None
        except ImportError:
            found = False
        return None if found else f"{modname} does not exist (yet)"
    return check


IO_WORKLOADS = frozenset({"io"})
NEG_WORKLOADS = frozenset({"neglookup"})

GRAPHS: dict[str, GraphSpec] = {
    "none": GraphSpec(
        "fuse -> storage/posix (no translator: the limit)",
        stack()),
    "c-passthrough": GraphSpec(
        "C pass-through xlator (bench/c_passthrough/passthrough.c, modelled on upstream "
        "xlators/playground/template): what any translator costs",
        stack(lambda ctx, below: Volume("bench-cpt", ctx.c_passthrough_type, {}, [below]))),
    "py-passthrough": GraphSpec(
        "glupy.library.passthrough:PassThrough (every fop in Python)",
        stack(lambda ctx, below: ctx.glupy("bench-pypt",
                                           "glupy.library.passthrough:PassThrough", below))),
    "py-handoff": GraphSpec(
        "glupy.library.passthrough:PassThrough with hand-off on (every fop in Python, "
        "handed off to the child: the reply goes up in C)",
        stack(lambda ctx, below: ctx.glupy("bench-pyhandoff",
                                           "glupy.library.passthrough:PassThrough", below,
                                           **{"hand-off": "on"}))),
    "py-lookup-only": GraphSpec(
        "bench/translators/lookup_only.py (only lookup in Python; other fops default in C)",
        stack(lambda ctx, below: ctx.glupy("bench-pylookup", "lookup_only:LookupOnly", below))),
    "py-handing-off": GraphSpec(
        "bench/translators/handing_off.py (lookup, readv, writev in Python, each handed off "
        "to the child, nothing else done: the bridge's floor)",
        stack(lambda ctx, below: ctx.glupy("bench-pyfloor", "handing_off:HandingOff", below)),
        optional=True),
    # ---- library translators vs their C counterparts (added when they exist)
    "nl-cache": GraphSpec(
        "C performance/nl-cache (negative-lookup cache)",
        stack(lambda ctx, below: Volume("bench-nlc", "performance/nl-cache", {}, [below])),
        workloads=NEG_WORKLOADS | frozenset({"meta"}), optional=True),
    "py-negative-lookup": GraphSpec(
        "glupy.library.negative_lookup (Python negative-lookup cache)",
        stack(lambda ctx, below: ctx.glupy("bench-pynl", "glupy.library.negative_lookup:NegativeLookup",
                                           below)),
        workloads=NEG_WORKLOADS | frozenset({"meta"}),
        unavailable=_module_missing("glupy.library.negative_lookup"), optional=True),
    "py-crypt": GraphSpec(
        "glupy.library.crypt (encryption, option key-file)",
        stack(lambda ctx, below: ctx.glupy("bench-pycrypt", "glupy.library.crypt:Crypt", below,
                                           **{"key-file": ctx.key_file})),
        workloads=IO_WORKLOADS | frozenset({"meta"}),
        unavailable=_module_missing("glupy.library.crypt"), optional=True),
    "py-crypt-names-off": GraphSpec(
        "glupy.library.crypt with option encrypt-names off (contents only)",
        stack(lambda ctx, below: ctx.glupy("bench-pycrypt-clear", "glupy.library.crypt:Crypt",
                                           below, **{"key-file": ctx.key_file,
                                                     "encrypt-names": "off"})),
        workloads=IO_WORKLOADS | frozenset({"meta"}),
        unavailable=_module_missing("glupy.library.crypt"), optional=True),
    "py-audit": GraphSpec(
        "glupy.library.audit (every fop recorded; the audit file in the run's temp dir)",
        stack(lambda ctx, below: ctx.glupy("bench-pyaudit", "glupy.library.audit", below,
                                           **{"log-file": str(ctx.base / "audit.jsonl")})),
        workloads=IO_WORKLOADS | frozenset({"meta"}),
        unavailable=_module_missing("glupy.library.audit"), optional=True),
}
CORE = ["none", "c-passthrough", "py-passthrough", "py-handoff", "py-lookup-only"]
# optional graphs included by default when available
AUTO_OPTIONAL = ["nl-cache", "py-negative-lookup", "py-crypt", "py-audit"]
# nl-cache is only interesting next to the Python negative-lookup cache
NEEDS = {"nl-cache": "py-negative-lookup"}


class Mounted:
    """Mount a graph with glupy.local.process.mount_graph; always unmount."""

    def __init__(self, graph: Graph, mountpoint: Path, source: Path, state_dir: Path) -> None:
        self.graph, self.mp, self.source, self.state_dir = graph, mountpoint, source, state_dir
        self.state: process.MountState | None = None

    def __enter__(self) -> Mounted:
        self.state = process.mount_graph(self.graph, self.mp, source_dir=self.source,
                                         state_dir=self.state_dir, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(process.NotMountedError):
            process.unmount(self.mp, state_dir=self.state_dir)

    @property
    def pid(self) -> int | None:
        return self.state.pid if self.state else None


def check_direct_io(ctx: Ctx, workdir: Path) -> tuple[bool, str]:
    """Does fio direct=1 work through a FUSE mount of the 'none' graph?"""
    src, mp, st = workdir / "probe-src", workdir / "probe-mnt", workdir / "probe-state"
    for p in (src, mp):
        p.mkdir()
    try:
        with Mounted(GRAPHS["none"].build(ctx, str(src)), mp, src, st):
            return fio_direct_probe(mp)
    finally:
        shutil.rmtree(src, ignore_errors=True)


def targets(summary: dict[str, Any], graphs: list[str]) -> list[dict[str, Any]]:
    m = summary["metrics"]

    def ratio(metric: str, g: str, ref: str = "vs_none") -> tuple[float | None, str]:
        return ratio_text(summary, metric, g, ref)

    def ctx_c(metric: str) -> str:
        v, txt = ratio(metric, "c-passthrough")
        return f"C pass-through in the same run: {txt}" if v is not None else ""

    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, ok: bool | None, shown: str, note: str = "") -> None:
        out.append(target(name, value, ok, shown, note))

    pt = "py-passthrough"
    for metric in ("seq_write_MBps", "seq_read_MBps"):
        v, txt = ratio(metric, pt)
        add(f"Python pass-through ≥ 0.90× none on {METRICS[metric][0]}", v,
            v is not None and v >= 0.90, txt, ctx_c(metric))
    v, txt = ratio("meta_total_per_s", pt)
    phases = "; ".join(f"{METRICS[k][0]}: {ratio(k, pt)[1]}"
                       for k in ("create_per_s", "stat_per_s", "unlink_per_s"))
    note = "; ".join(x for x in (ctx_c("meta_total_per_s"), f"per phase: {phases}") if x)
    add("Python pass-through ≥ 0.75× none on small-file metadata (create+stat+unlink)",
        v, v is not None and v >= 0.75, txt, note)
    lps = m.get("py_lookups_per_stat", {}).get(pt, {}).get("value")
    per_stat = lps["median"] if lps and lps["median"] > 0 else 1.0
    for g in ("py-passthrough", "py-handoff", "py-lookup-only"):
        if g not in graphs:
            continue
        e = m.get("missing_stat_us", {}).get(g, {})
        a, ac = e.get("added_us_vs_none"), e.get("added_us_vs_c_passthrough")
        if a:
            per_fop = a["median"] / per_stat
            shown = (f"{per_fop:+.1f} µs per fop = {a['median']:+.1f} µs per stat "
                     f"(min–max {a['min']:+.1f}–{a['max']:+.1f}) / {per_stat:.2f} lookups "
                     "per stat")
            note = (f"vs C pass-through: {ac['median'] / per_stat:+.1f} µs per fop "
                    f"({ac['median']:+.1f} µs per stat)" if ac else "")
            add(f"{g}: ≤ 10 µs added per Python-handled fop (stat of a missing name)",
                per_fop, per_fop <= 10.0, shown, note)
        else:
            add(f"{g}: ≤ 10 µs added per Python-handled fop", None, None, "not measured")
    if "py-negative-lookup" in graphs and "missing_repeat_per_s" in m:
        v, txt = ratio("missing_repeat_per_s", "py-negative-lookup")
        add("negative_lookup ≥ 3× none (repeated missing names)", v,
            v is not None and v >= 3.0, txt,
            "single-process graph: a local posix miss is cheap (see GLUSTER_NOTES); "
            "the issue asks for this on a glusterd volume too")
        e = m.get("missing_repeat_per_s", {})
        if "nl-cache" in e and "py-negative-lookup" in e:
            ours, theirs = e["py-negative-lookup"]["value"], e["nl-cache"]["value"]
            r = ours["median"] / theirs["median"]
            add("negative_lookup ≥ 1.0× C nl-cache (repeated missing names)", r, r >= 1.0,
                f"{r:.2f}× (medians {ours['median']:.0f} vs {theirs['median']:.0f} ops/s)")
    if "py-crypt" in graphs:  # issue 15's targets
        for metric, bar in (("seq_write_MBps", 0.7), ("seq_read_MBps", 0.7),
                            ("rand_read_iops", 0.5), ("rand_write_iops", 0.5),
                            ("create_per_s", 0.7), ("stat_per_s", 0.7), ("unlink_per_s", 0.7)):
            if metric in m:
                v, txt = ratio(metric, "py-crypt")
                add(f"crypt ≥ {bar}× none on {METRICS[metric][0]}", v,
                    v is not None and v >= bar, txt, ctx_c(metric))
    return out


# =========================================================================== report


def render_platforms(root: Path) -> list[str]:
    """The targets of the quick runs on each Debian release (bench/platforms.sh), side by side."""
    runs = {}
    for path in sorted(root.glob("*/results.json")):
        runs[path.parent.name] = json.loads(path.read_text())
    if not runs:
        return []
    names = list(runs)
    lines = ["## Both Debian releases (bench/platforms.sh: `run.py --quick` on each)", "",
             "Each column is one run on that release (its mode and repeats in the platform "
             "row), against none and the C pass-through of its own run; a quick run is an "
             "indication, not a measurement.", "",
             "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
             "| platform | " + " | ".join(
                 f"Debian {r['meta'].get('debian', '?')}, GlusterFS {r['meta'].get('glusterfs', '?')}, "
                 f"Python {r['meta']['python']}, {r['meta']['date']}, "
                 f"{'quick' if r['meta'].get('quick') else 'full'} mode, "
                 f"{r['meta'].get('repeats', '?')} repeat(s)" for r in runs.values()) + " |"]
    targets: dict[str, dict[str, str]] = {}
    for name, r in runs.items():
        for t in r["targets"]:
            targets.setdefault(t["target"], {})[name] = f"**{t['status']}** {t['shown']}"
    for goal, by in targets.items():
        lines.append(f"| {goal} | " + " | ".join(by.get(n, "not run") for n in names) + " |")
    lines += ["", "Full tables: " + ", ".join(f"[{n}](platforms/{n}/RESULTS.md)" for n in names), ""]
    return lines


def render_md(result: dict[str, Any], out: Path = BENCH_DIR) -> str:
    gf = gfapi_latency.load_section(out)  # bench/gfapi_latency.py's results, if any
    meta, summary, graphs = result["meta"], result["summary"], result["graphs"]
    lines = [
        "# glupy benchmark results",
        "",
        f"Generated by `python3 bench/run.py{' --quick' if meta['quick'] else ''}` on "
        f"{meta['date']} ({meta['host']}, {meta['cpus']} CPUs, load average before the run "
        f"{meta['loadavg_before']}, after {meta.get('loadavg_after', '?')}). "
        f"Duration {meta.get('duration_s', 0) / 60:.1f} min.",
        "",
        f"Mode: **{'quick' if meta['quick'] else 'full'}**: {meta['repeats']} repeat(s), "
        f"sequential {meta['seq_bytes'] // MiB} MiB, random I/O {meta['rand_seconds']} s, "
        f"{meta['files']} small files, {meta['missing']} unique missing names. "
        f"I/O mode: {meta['direct_io_note']}.",
        "",
        "Each graph is a single-process `glusterfs -f` FUSE mount: "
        "`fuse -> [translator] -> storage/posix` over a fresh directory on the same local "
        "filesystem. Workloads run on every graph in rotating order, repeated; values are "
        "the median over repeats with (min–max); ratios are paired (each repeat divided by "
        "the reference measured in the same repeat), median (min–max). A single quick "
        "repeat is an indication, not a measurement: these machines vary ±20 % run to run.",
        "",
        "## Targets",
        "",
    ]
    for t in result["targets"]:
        note = f" — {t['note']}" if t["note"] else ""
        lines.append(f"- **{t['status']}** {t['target']}: {t['shown']}{note}")
    gf_targets = gf["targets"] if gf else []
    for t in gf_targets:
        note = f" — {t['note']}" if t["note"] else ""
        lines.append(f"- **{t['status']}** {t['target']}: {t['shown']}{note} "
                     "(section below)")
    fails = [t for t in result["targets"] + gf_targets if t["status"] == "FAIL"]
    lines.append("")
    if fails:
        where = "in this run and the libgfapi run below" if gf_targets else "in this run"
        lines.append(f"**{len(fails)} target(s) not met** {where}; to be profiled "
                     "(py-spy / perf on the glusterfs process) and the bridge improved. "
                     "Compare with the C pass-through ratio next to each: when the C "
                     "pass-through is also below the bar, the run was noisy.")
    else:
        lines.append("All measured targets met in this run.")
    lines += ["", "## Graphs", ""]
    for g in graphs:
        lines.append(f"- `{g}`: {GRAPHS[g].description}")
    skipped = meta.get("skipped_graphs", {})
    for g, why in skipped.items():
        lines.append(f"- `{g}`: not run — {why}")
    lines += ["", "## Results", ""]
    lines += render_metric_tables(summary, graphs)
    lines += ["### Resident memory of the glusterfs process after each workload (VmRSS, MiB)",
              ""]
    lines += render_rss_table(summary["rss_kb"], graphs, list(WORKLOADS))
    lines.append("")
    if result.get("counters"):
        lines += ["### Fops seen by the Python pass-through (last repeat, glupy.counters)", ""]
        for wl, counts in result["counters"].items():
            top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(),
                                                          key=lambda kv: -kv[1])[:8])
            lines.append(f"- {wl}: {top}")
        lines.append("")
    errors = [r for r in result["runs"] if r.get("error")]
    if errors:
        lines += ["## Errors", ""]
        for r in errors:
            text = r["error"].strip().splitlines() or ["?"]
            why = text[-1] if text[0].startswith("Traceback") else text[0]
            lines.append(f"- rep {r['rep'] + 1} {r['workload']} on {r['graph']}: {why}")
        lines.append("")
    if out == BENCH_DIR:
        lines += render_platforms(BENCH_DIR / "platforms")
    lines += ["Raw per-repeat values, run order and environment: `bench/results.json`.", ""]
    if gf:
        lines += gfapi_latency.render_section(gf, level=2, with_targets=False)
    analysis = BENCH_DIR / "ANALYSIS.md"  # hand-written: what the numbers mean, kept across runs
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]
    return "\n".join(lines)


# =========================================================================== main


def select_graphs(requested: list[str] | None) -> tuple[list[str], dict[str, str]]:
    skipped: dict[str, str] = {}
    if requested:
        names = []
        for g in check_names("graph", requested, GRAPHS):
            why = GRAPHS[g].unavailable()
            if why:
                raise SystemExit(f"graph {g!r} unavailable: {why}")
            names.append(g)
        return names, skipped
    names = list(CORE)
    for g in AUTO_OPTIONAL:
        why = GRAPHS[g].unavailable()
        need = NEEDS.get(g)
        if not why and need and GRAPHS[need].unavailable():
            why = f"only compared against {need}, which is unavailable"
        if why:
            skipped[g] = why
        else:
            names.append(g)
    return names, skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, small sizes")
    ap.add_argument("--repeats", type=int, help="override the number of repeats")
    ap.add_argument("--graphs", help="comma-separated subset of: " + ", ".join(GRAPHS))
    ap.add_argument("--workloads", help="comma-separated subset of: " + ", ".join(WORKLOADS))
    ap.add_argument("--out", type=Path, default=BENCH_DIR,
                    help="where RESULTS.md and results.json go (default bench/)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="parent of the temp dir (default $TMPDIR or /tmp): local fs with xattrs")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, volfiles)")
    ap.add_argument("--render-only", action="store_true",
                    help="only rewrite RESULTS.md from OUT/results.json (no measuring)")
    args = ap.parse_args(argv)

    if args.render_only:
        result = json.loads((args.out / "results.json").read_text())
        result["summary"] = analyse(result["runs"], result["graphs"])
        result["targets"] = targets(result["summary"], result["graphs"])
        (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "RESULTS.md").write_text(render_md(result, args.out))
        for t in result["targets"]:
            print(f"{t['status']:4s} {t['target']}: {t['shown']}")
        return 0

    if os.geteuid() != 0:
        raise SystemExit("run as root (FUSE mounts, drop_caches)")
    if shutil.which("fio") is None:
        raise SystemExit("fio not found: apt-get install -y fio")
    if not volfile.bridge_so_path().exists():
        raise SystemExit(f"glupy bridge not built ({volfile.bridge_so_path()}): "
                         "python -m glupy._build")

    sizes = Sizes.quick() if args.quick else Sizes.full()
    if args.repeats:
        sizes.repeats = args.repeats
    graphs, skipped = select_graphs(args.graphs.split(",") if args.graphs else None)
    workloads = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    check_names("workload", workloads, WORKLOADS)

    started = time.time()
    base = Path(tempfile.mkdtemp(prefix="glupy-bench-", dir=args.workdir))
    log(f"work dir {base}; graphs {graphs}; workloads {workloads}; {sizes}")
    ctx = Ctx(base=base)
    ctx.glupy_type = volfile.bridge_type()
    ctx.python_path = f"{REPO}:{PY_TRANSLATORS}"
    key = base / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    ctx.key_file = str(key)
    if "c-passthrough" in graphs:
        so = build_c_passthrough(base / "build")
        ctx.c_passthrough_type = relative_type(so)
        log(f"built {so} (type {ctx.c_passthrough_type})")

    meta: dict[str, Any] = {
        "quick": args.quick, "repeats": sizes.repeats, "seq_bytes": sizes.seq_bytes,
        "rand_seconds": sizes.rand_seconds, "files": sizes.files, "missing": sizes.missing,
        "repeat_names": sizes.repeat_names, "repeat_passes": sizes.repeat_passes,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
        "cpus": os.cpu_count(), "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "kernel": platform.release(), "python": sys.version.split()[0],
        "glusterfs": release.running_release(), "debian": Path("/etc/debian_version").read_text().strip(),
        "glupy_type": ctx.glupy_type, "c_passthrough_type": ctx.c_passthrough_type,
        "skipped_graphs": skipped, "workloads": workloads,
    }
    runs: list[dict[str, Any]] = []
    counters: dict[str, Any] = {}
    env = Env(sizes=sizes)
    broken: dict[str, str] = {}
    failures: dict[str, int] = {}
    try:
        env.direct, meta["direct_io_note"] = check_direct_io(ctx, base)
        log(meta["direct_io_note"])
        meta["fio_direct"] = env.direct
        n = 0
        for rep in range(sizes.repeats):
            env.rep = rep
            for wi, wl in enumerate(workloads):
                todo = [g for g in graphs if wl in (GRAPHS[g].workloads or {wl})]
                k = (rep + wi) % len(todo) if todo else 0
                order = todo[k:] + todo[:k]
                for pos, g in enumerate(order):
                    n += 1
                    rec: dict[str, Any] = {"rep": rep, "workload": wl, "graph": g,
                                           "position": pos, "seq": n}
                    runs.append(rec)
                    if g in broken:
                        rec["error"] = f"skipped: earlier failure ({broken[g]})"
                        continue
                    src = base / f"src-{n}"
                    mp = base / f"mnt-{n}"
                    src.mkdir()
                    mp.mkdir()
                    t0 = time.perf_counter()
                    try:
                        graph = GRAPHS[g].build(ctx, str(src))
                        with Mounted(graph, mp, src, base / "state") as m:
                            env.pid = m.pid
                            rec["metrics"] = WORKLOADS[wl](m.mp, env)
                            rec["rss_kb"] = rss_kb(m.pid)
                            if g == "py-passthrough" and rep == sizes.repeats - 1:
                                with contextlib.suppress(OSError, ValueError):
                                    counters[wl] = json.loads(os.getxattr(
                                        str(mp), "glupy.counters"))
                    except process.MountError as e:
                        rec["error"] = str(e)
                        failures[g] = failures.get(g, 0) + 1
                        if failures[g] >= 2:  # give up on it; one failure may be transient
                            broken[g] = str(e).splitlines()[0]
                        log(f"MOUNT FAILED {g}: {e}")
                    except Exception as e:
                        rec["error"] = "".join(traceback.format_exception(e))
                        log(f"FAILED {wl} on {g}: {e}")
                    finally:
                        rec["seconds"] = round(time.perf_counter() - t0, 2)
                        shutil.rmtree(src, ignore_errors=True)
                        with contextlib.suppress(OSError):
                            mp.rmdir()
                    shown = ", ".join(f"{k}={v:.4g}" for k, v in rec.get("metrics", {}).items())
                    log(f"rep {rep + 1}/{sizes.repeats} {wl:9s} {g:18s} "
                        f"{rec['seconds']:6.1f}s {shown}{' ERROR' if 'error' in rec else ''}")
    except KeyboardInterrupt:
        log("interrupted: writing partial results")
        meta["interrupted"] = True
    finally:
        meta["duration_s"] = round(time.time() - started, 1)
        meta["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        summary = analyse(runs, graphs)
        result = {"meta": meta, "graphs": graphs, "summary": summary, "runs": runs,
                  "counters": counters}
        result["targets"] = targets(summary, graphs)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "RESULTS.md").write_text(render_md(result, args.out))
        log(f"wrote {args.out / 'RESULTS.md'} and {args.out / 'results.json'}")
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    for t in result["targets"]:
        print(f"{t['status']:4s} {t['target']}: {t['shown']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
