#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into RESULTS.md)
"""glupy benchmarks: single-process FUSE graphs, interleaved, against C baselines.

    sudo python3 bench/run.py            # full: 3 repeats, 1 GiB, 10k files (~15 min)
    sudo python3 bench/run.py --quick    # 1 repeat, 256 MiB, 2k files (~2-3 min)

Writes bench/RESULTS.md and bench/results.json (see bench/README.md).

Every graph is ``fuse -> [translator] -> storage/posix`` over a fresh directory on the
same local filesystem, started with ``glupy.process.mount_graph``.  Each workload is run
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
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from glupy import process, volfile  # noqa: E402
from glupy.volfile import Graph, Volume  # noqa: E402

C_SRC = BENCH_DIR / "c_passthrough" / "passthrough.c"
PY_TRANSLATORS = BENCH_DIR / "translators"
CFLAGS = ["-O2", "-Wall", "-D_FILE_OFFSET_BITS=64", "-D_GNU_SOURCE", "-DGF_LINUX_HOST_OS",
          "-DHAVE_ATOMIC_BUILTINS=1", "-DSIZEOF_LONG=8", "-shared", "-fPIC"]

MiB = 1 << 20


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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
    "py-lookup-only": GraphSpec(
        "bench/translators/lookup_only.py (only lookup in Python; other fops default in C)",
        stack(lambda ctx, below: ctx.glupy("bench-pylookup", "lookup_only:LookupOnly", below))),
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
        workloads=IO_WORKLOADS,
        unavailable=_module_missing("glupy.library.crypt"), optional=True),
    "py-audit": GraphSpec(
        "glupy.library.audit (default options)",
        stack(lambda ctx, below: ctx.glupy("bench-pyaudit", "glupy.library.audit", below)),
        unavailable=_module_missing("glupy.library.audit"), optional=True),
}
CORE = ["none", "c-passthrough", "py-passthrough", "py-lookup-only"]
# optional graphs included by default when available (audit only on request: --graphs)
AUTO_OPTIONAL = ["nl-cache", "py-negative-lookup", "py-crypt"]
# nl-cache is only interesting next to the Python negative-lookup cache
NEEDS = {"nl-cache": "py-negative-lookup"}


# =========================================================================== sizes


@dataclass
class Sizes:
    repeats: int
    seq_bytes: int
    rand_seconds: int
    files: int
    missing: int          # unique missing names per repeat
    repeat_names: int     # distinct missing names in the repeated-miss loop
    repeat_passes: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(3, 1024 * MiB, 20, 10_000, 50_000, 100, 200)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(1, 256 * MiB, 5, 2_000, 10_000, 100, 50)


# =========================================================================== helpers


def drop_caches(level: int = 3) -> None:
    if level & 1:
        os.sync()
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text(f"{level}\n")


def rss_kb(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def fio(args: list[str], timeout: float) -> dict[str, Any]:
    cmd = ["fio", "--output-format=json", "--ioengine=psync", "--numjobs=1",
           "--fallocate=none", "--invalidate=1", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"fio failed ({out.returncode}): {' '.join(cmd)}\n"
                           f"{out.stderr.strip()[-2000:]}")
    text = out.stdout
    data = json.loads(text[text.index("{"):])
    job = data["jobs"][0]
    if job.get("error"):
        raise RuntimeError(f"fio job error {job['error']}: {' '.join(cmd)}")
    return job


class Mounted:
    """Mount a graph with glupy.process.mount_graph; always unmount."""

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


# =========================================================================== workloads


@dataclass
class Env:
    sizes: Sizes
    direct: bool = True     # fio direct=1 works on the mount
    rep: int = 0


def wl_io(m: Mounted, env: Env) -> dict[str, float]:
    """fio: sequential write, sequential read (bs 1M), then 4 KiB random read/write."""
    s = env.sizes
    f = str(m.mp / "fio.dat")
    size = f"--size={s.seq_bytes}"
    io_timeout = 600
    res: dict[str, float] = {}
    if env.direct:
        w = fio(["--name=seqwrite", f"--filename={f}", "--rw=write", "--bs=1M", size,
                 "--direct=1"], io_timeout)
    else:
        w = fio(["--name=seqwrite", f"--filename={f}", "--rw=write", "--bs=1M", size,
                 "--end_fsync=1"], io_timeout)
    res["seq_write_MBps"] = w["write"]["bw_bytes"] / 1e6
    if env.direct:
        r = fio(["--name=seqread", f"--filename={f}", "--rw=read", "--bs=1M", size,
                 "--direct=1"], io_timeout)
    else:
        drop_caches(3)
        r = fio(["--name=seqread", f"--filename={f}", "--rw=read", "--bs=1M", size],
                io_timeout)
    res["seq_read_MBps"] = r["read"]["bw_bytes"] / 1e6
    if not env.direct:
        drop_caches(3)
    rr = fio(["--name=randrw", f"--filename={f}", "--rw=randrw", "--rwmixread=50",
              "--bs=4k", size, "--time_based", f"--runtime={s.rand_seconds}",
              "--randrepeat=1", f"--direct={1 if env.direct else 0}"],
             s.rand_seconds + io_timeout)
    res["rand_read_iops"] = rr["read"]["iops"]
    res["rand_write_iops"] = rr["write"]["iops"]
    return res


def wl_meta(m: Mounted, env: Env) -> dict[str, float]:
    """Small files: create (4 KiB each), stat, unlink N files in one directory."""
    n = env.sizes.files
    d = m.mp / "meta"
    os.mkdir(d)
    names = [str(d / f"f{i:06d}") for i in range(n)]
    payload = b"g" * 4096
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    t0 = time.perf_counter()
    for p in names:
        fd = os.open(p, flags, 0o644)
        os.write(fd, payload)
        os.close(fd)
    t1 = time.perf_counter()
    drop_caches(2)   # forget dentries/inodes so every stat is a lookup in the graph
    t2 = time.perf_counter()
    for p in names:
        os.stat(p)
    t3 = time.perf_counter()
    for p in names:
        os.unlink(p)
    t4 = time.perf_counter()
    os.rmdir(d)
    create, stat, unlink = t1 - t0, t3 - t2, t4 - t3
    return {
        "create_per_s": n / create,
        "stat_per_s": n / stat,
        "unlink_per_s": n / unlink,
        "meta_total_per_s": 3 * n / (create + stat + unlink),
    }


def _missing_loop(paths: list[str]) -> float:
    t0 = time.perf_counter()
    for p in paths:
        try:
            os.stat(p)
        except FileNotFoundError:
            pass
        else:
            raise RuntimeError(f"{p} exists")
    return time.perf_counter() - t0


def wl_neglookup(m: Mounted, env: Env) -> dict[str, float]:
    """stat of missing names: unique names (every stat is one lookup in the graph) and a
    small set of names stat'ed over and over (what a negative-lookup cache can answer)."""
    s = env.sizes
    uniq = [str(m.mp / f"nx-{env.rep}-{i}") for i in range(s.missing)]
    before = _counters(m.mp)
    dt = _missing_loop(uniq)
    after = _counters(m.mp)
    rep_names = [str(m.mp / f"ny-{i}") for i in range(s.repeat_names)]
    dt2 = _missing_loop(rep_names * s.repeat_passes)
    ops = s.missing / dt
    res = {
        "missing_stat_per_s": ops,
        "missing_stat_us": 1e6 / ops,
        "missing_repeat_per_s": len(rep_names) * s.repeat_passes / dt2,
    }
    if before is not None and after is not None:
        # PassThrough counts every fop it handles: how many lookups one stat costs
        res["py_lookups_per_stat"] = (after.get("lookup", 0) - before.get("lookup", 0)) / s.missing
    return res


def _counters(mp: Path) -> dict[str, int] | None:
    """glupy.library.passthrough's per-fop call counters (None on other graphs)."""
    try:
        return json.loads(os.getxattr(str(mp), "glupy.counters"))
    except (OSError, ValueError):
        return None


WORKLOADS: dict[str, Callable[[Mounted, Env], dict[str, float]]] = {
    "io": wl_io,
    "meta": wl_meta,
    "neglookup": wl_neglookup,
}

# metric -> (label, unit, higher is better, workload)
METRICS: dict[str, tuple[str, str, bool, str]] = {
    "seq_write_MBps": ("sequential write (fio bs=1M)", "MB/s", True, "io"),
    "seq_read_MBps": ("sequential read (fio bs=1M)", "MB/s", True, "io"),
    "rand_read_iops": ("4 KiB random read (fio randrw 50/50)", "IOPS", True, "io"),
    "rand_write_iops": ("4 KiB random write (fio randrw 50/50)", "IOPS", True, "io"),
    "create_per_s": ("create 4 KiB files", "files/s", True, "meta"),
    "stat_per_s": ("stat existing files (dentries dropped)", "files/s", True, "meta"),
    "unlink_per_s": ("unlink files", "files/s", True, "meta"),
    "meta_total_per_s": ("small-file metadata, all three phases", "ops/s", True, "meta"),
    "missing_stat_per_s": ("stat of unique missing names", "ops/s", True, "neglookup"),
    "missing_stat_us": ("latency per missing-name stat (1/ops)", "µs", False, "neglookup"),
    "missing_repeat_per_s": ("stat of 100 missing names, repeated", "ops/s", True, "neglookup"),
    "py_lookups_per_stat": ("lookups reaching Python per missing-name stat (PassThrough "
                            "counters)", "fops", False, "neglookup"),
}


# =========================================================================== setup


def build_c_passthrough(build_dir: Path) -> Path:
    build_dir.mkdir(parents=True, exist_ok=True)
    so = build_dir / "bench_c_passthrough.so"
    cc = os.environ.get("CC", "cc")
    cmd = [cc, *CFLAGS, "-o", str(so), str(C_SRC), "-lglusterfs"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"building the C pass-through failed:\n{' '.join(cmd)}\n{out.stderr}")
    return so


def relative_type(so: Path) -> str:
    """Volfile `type` that loads an uninstalled .so: a path relative to the xlator dir
    (GlusterFS appends ".so"), as glupy.volfile.bridge_type() does for the bridge."""
    stem = so.absolute().with_suffix("")
    return os.path.relpath(stem, volfile.xlatordir())


def check_direct_io(ctx: Ctx, workdir: Path) -> tuple[bool, str]:
    """Does fio direct=1 work through a FUSE mount of the 'none' graph?"""
    src, mp, st = workdir / "probe-src", workdir / "probe-mnt", workdir / "probe-state"
    for p in (src, mp):
        p.mkdir()
    try:
        with Mounted(GRAPHS["none"].build(ctx, str(src)), mp, src, st):
            try:
                fio(["--name=probe", f"--filename={mp / 'probe.dat'}", "--rw=write",
                     "--bs=1M", "--size=8M", "--direct=1"], 120)
                fio(["--name=probe", f"--filename={mp / 'probe.dat'}", "--rw=read",
                     "--bs=1M", "--size=8M", "--direct=1"], 120)
                return True, "fio direct=1 works on the FUSE mount"
            except Exception as e:
                return False, f"fio direct=1 failed ({e}); using end_fsync=1 + drop_caches"
    finally:
        shutil.rmtree(src, ignore_errors=True)


# =========================================================================== stats


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def analyse(runs: list[dict[str, Any]], graphs: list[str]) -> dict[str, Any]:
    """Per metric and graph: median/min/max over repeats, paired ratios vs none and vs C."""
    by: dict[tuple[str, str, int], dict[str, float]] = {}
    rss: dict[tuple[str, str], list[int]] = {}
    for r in runs:
        if r.get("metrics"):
            by[(r["workload"], r["graph"], r["rep"])] = r["metrics"]
        if r.get("rss_kb") is not None:
            rss.setdefault((r["workload"], r["graph"]), []).append(r["rss_kb"])
    out: dict[str, Any] = {"metrics": {}, "rss_kb": {}}
    for metric, (_label, _unit, higher, wl) in METRICS.items():
        per_graph: dict[str, Any] = {}
        for g in graphs:
            vals, r_none, r_c, added_none, added_c = [], [], [], [], []
            for (w, gg, rep), m in by.items():
                if w != wl or gg != g or metric not in m:
                    continue
                v = m[metric]
                vals.append(v)
                for ref, ratios, added in (("none", r_none, added_none),
                                           ("c-passthrough", r_c, added_c)):
                    rm = by.get((wl, ref, rep), {})
                    if rm.get(metric):
                        ratios.append(v / rm[metric])
                        if metric == "missing_stat_us":
                            added.append(v - rm[metric])
            if not vals:
                continue
            entry: dict[str, Any] = {"value": summarize(vals), "higher_is_better": higher,
                                     "vs_none": summarize(r_none),
                                     "vs_c_passthrough": summarize(r_c)}
            if metric == "missing_stat_us":
                entry["added_us_vs_none"] = summarize(added_none)
                entry["added_us_vs_c_passthrough"] = summarize(added_c)
            per_graph[g] = entry
        if per_graph:
            out["metrics"][metric] = per_graph
    for (wl, g), vals in rss.items():
        out["rss_kb"].setdefault(wl, {})[g] = summarize([float(v) for v in vals])
    return out


def targets(summary: dict[str, Any], graphs: list[str]) -> list[dict[str, Any]]:
    m = summary["metrics"]

    def ratio(metric: str, g: str, ref: str = "vs_none") -> tuple[float | None, str]:
        e = m.get(metric, {}).get(g)
        s = e and e.get(ref)
        if not s:
            return None, "not measured"
        return s["median"], f"{s['median']:.2f}× (min–max {s['min']:.2f}–{s['max']:.2f})"

    def ctx_c(metric: str) -> str:
        v, txt = ratio(metric, "c-passthrough")
        return f"C pass-through in the same run: {txt}" if v is not None else ""

    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, ok: bool | None, shown: str, note: str = "") -> None:
        status = "N/A" if value is None else ("PASS" if ok else "FAIL")
        out.append({"target": name, "status": status, "value": value, "shown": shown,
                    "note": note})

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
    for g in ("py-passthrough", "py-lookup-only"):
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
    if "py-crypt" in graphs and "seq_write_MBps" in m:
        for metric in ("seq_write_MBps", "seq_read_MBps"):
            v, txt = ratio(metric, "py-crypt")
            add(f"crypt ≥ 0.7× none on {METRICS[metric][0]}", v,
                v is not None and v >= 0.7, txt, ctx_c(metric))
    return out


# =========================================================================== report


def fmt(v: float, unit: str) -> str:
    if unit == "µs":
        return f"{v:.1f}"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def fmt_ratio(s: dict[str, float] | None) -> str:
    if not s:
        return "–"
    if s["n"] == 1:
        return f"{s['median']:.2f}×"
    return f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})"


def render_md(result: dict[str, Any]) -> str:
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
    fails = [t for t in result["targets"] if t["status"] == "FAIL"]
    lines.append("")
    if fails:
        lines.append(f"**{len(fails)} target(s) not met** in this run; to be profiled "
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
    for metric, per in summary["metrics"].items():
        label, unit, higher, wl = METRICS[metric]
        better = "higher is better" if higher else "lower is better"
        lines += [f"### {label} ({unit}, {better})", "",
                  "| graph | median | min–max | × none | × C pass-through |"
                  + (" added µs vs none | added µs vs C |" if metric == "missing_stat_us" else ""),
                  "|---|---:|---:|---:|---:|"
                  + ("---:|---:|" if metric == "missing_stat_us" else "")]
        for g in graphs:
            e = per.get(g)
            if not e:
                continue
            v = e["value"]
            row = (f"| {g} | {fmt(v['median'], unit)} | {fmt(v['min'], unit)}–"
                   f"{fmt(v['max'], unit)} | {fmt_ratio(e['vs_none'])} | "
                   f"{fmt_ratio(e['vs_c_passthrough'])} |")
            if metric == "missing_stat_us":
                for k in ("added_us_vs_none", "added_us_vs_c_passthrough"):
                    a = e.get(k)
                    row += (f" {a['median']:+.1f} ({a['min']:+.1f}–{a['max']:+.1f}) |"
                            if a else " – |")
            lines.append(row)
        lines.append("")
    lines += ["### Resident memory of the glusterfs process after each workload (VmRSS, MiB)",
              "", "| graph | " + " | ".join(WORKLOADS) + " |",
              "|---|" + "---:|" * len(WORKLOADS)]
    for g in graphs:
        cells = []
        for wl in WORKLOADS:
            s = summary["rss_kb"].get(wl, {}).get(g)
            cells.append(f"{s['median'] / 1024:.1f} ({s['min'] / 1024:.1f}–"
                         f"{s['max'] / 1024:.1f})" if s else "–")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
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
    lines += ["Raw per-repeat values, run order and environment: `bench/results.json`.", ""]
    analysis = BENCH_DIR / "ANALYSIS.md"  # hand-written: what the numbers mean, kept across runs
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]
    return "\n".join(lines)


# =========================================================================== main


def select_graphs(requested: list[str] | None) -> tuple[list[str], dict[str, str]]:
    skipped: dict[str, str] = {}
    if requested:
        names = []
        for g in requested:
            if g not in GRAPHS:
                raise SystemExit(f"unknown graph {g!r}; known: {', '.join(GRAPHS)}")
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
        (args.out / "RESULTS.md").write_text(render_md(result))
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
    for w in workloads:
        if w not in WORKLOADS:
            raise SystemExit(f"unknown workload {w!r}; known: {', '.join(WORKLOADS)}")

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
                todo = [g for g in graphs
                        if GRAPHS[g].workloads is None or wl in GRAPHS[g].workloads]
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
                            rec["metrics"] = WORKLOADS[wl](m, env)
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
        (args.out / "RESULTS.md").write_text(render_md(result))
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
