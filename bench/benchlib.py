# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into the .md files)
"""Shared by the benchmark scripts (run.py, replica.py, gfapi_latency.py): sizes, the
workloads (fio sequential/random I/O, small-file metadata, missing-name stats), building
C xlators, paired statistics and the Markdown tables.

A workload is ``fn(directory, env) -> {metric: value}``: it runs in ``directory`` (the
root of a mount, or a fresh directory on one) and leaves nothing behind there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from glupy.local import volfile  # noqa: E402

C_SRC = BENCH_DIR / "c_passthrough" / "passthrough.c"
PY_TRANSLATORS = BENCH_DIR / "translators"
CFLAGS = ["-O2", "-Wall", "-D_FILE_OFFSET_BITS=64", "-D_GNU_SOURCE", "-DGF_LINUX_HOST_OS",
          "-DHAVE_ATOMIC_BUILTINS=1", "-DSIZEOF_LONG=8", "-shared", "-fPIC"]

MiB = 1 << 20


def interrupt_on_signals() -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so that a cluster bench tears its
    glusterd cluster down and writes partial results.  SIGINT too: started in the
    background by a non-interactive shell it arrives ignored, and Python keeps SIG_IGN."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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
    import_runs: int      # fresh interpreters in the Python-import workload

    @classmethod
    def full(cls) -> Sizes:
        return cls(3, 1024 * MiB, 20, 10_000, 50_000, 100, 200, 10)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(1, 256 * MiB, 5, 2_000, 10_000, 100, 50, 3)


# =========================================================================== helpers


def drop_caches(level: int = 3) -> None:
    if level & 1:
        os.sync()
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text(f"{level}\n")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far; 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

# =========================================================================== workloads


@dataclass
class Env:
    sizes: Sizes
    direct: bool = True     # fio direct=1 works on the mount
    rep: int = 0
    pid: int | None = None  # the mount's glusterfs process (its CPU time)


def wl_io(mp: Path, env: Env) -> dict[str, float]:
    """fio: sequential write, sequential read (bs 1M), then 4 KiB random read/write."""
    s = env.sizes
    f = str(mp / "fio.dat")
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
    cpu0 = cpu_seconds(env.pid)
    rr = fio(["--name=randrw", f"--filename={f}", "--rw=randrw", "--rwmixread=50",
              "--bs=4k", size, "--time_based", f"--runtime={s.rand_seconds}",
              "--randrepeat=1", f"--direct={1 if env.direct else 0}"],
             s.rand_seconds + io_timeout)
    res["rand_read_iops"] = rr["read"]["iops"]
    res["rand_write_iops"] = rr["write"]["iops"]
    ios = rr["read"]["total_ios"] + rr["write"]["total_ios"]
    if env.pid is not None and ios:
        res["rand_cpu_us"] = (cpu_seconds(env.pid) - cpu0) * 1e6 / ios
    return res


def wl_meta(mp: Path, env: Env) -> dict[str, float]:
    """Small files: create (4 KiB each), stat, unlink N files in one directory."""
    n = env.sizes.files
    d = mp / "meta"
    os.mkdir(d)
    names = [str(d / f"f{i:06d}") for i in range(n)]
    payload = b"g" * 4096
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    # Every graph's creates start from the same cache state.  ext4 without a journal
    # (these VMs' root filesystem) allocates an inode by skipping those deleted in the
    # last 60 s (300 s while dirty) whose inode table block is still cached
    # (ialloc.c, recently_deleted()), so the graph measured right after another one's
    # unlinks paid for them (perf: 20-40 % of glusterfs's samples in that scan).
    drop_caches(3)
    cpu = [cpu_seconds(env.pid)]
    t0 = time.perf_counter()
    for p in names:
        fd = os.open(p, flags, 0o644)
        os.write(fd, payload)
        os.close(fd)
    t1 = time.perf_counter()
    cpu.append(cpu_seconds(env.pid))
    drop_caches(2)   # forget dentries/inodes so every stat is a lookup in the graph
    cpu.append(cpu_seconds(env.pid))
    t2 = time.perf_counter()
    for p in names:
        os.stat(p)
    t3 = time.perf_counter()
    cpu.append(cpu_seconds(env.pid))
    for p in names:
        os.unlink(p)
    t4 = time.perf_counter()
    cpu.append(cpu_seconds(env.pid))
    os.rmdir(d)
    create, stat, unlink = t1 - t0, t3 - t2, t4 - t3
    res = {
        "create_per_s": n / create,
        "stat_per_s": n / stat,
        "unlink_per_s": n / unlink,
        "meta_total_per_s": 3 * n / (create + stat + unlink),
    }
    if env.pid is not None:  # the glusterfs process's CPU per file and phase: less noisy
        res["create_cpu_us"] = (cpu[1] - cpu[0]) * 1e6 / n
        res["stat_cpu_us"] = (cpu[3] - cpu[2]) * 1e6 / n
        res["unlink_cpu_us"] = (cpu[4] - cpu[3]) * 1e6 / n
    return res


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


# The Python-import workload: a long sys.path of directories on the mount, the modules in
# the last one.  Python 3's FileFinder lists each directory once per process and answers
# misses from that listing; what reaches the filesystem per import is a stat of every
# sys.path directory (its mtime), the module's stat/open/read, and the missing
# __pycache__/<name>.cpython-3X.pyc (-B: never written) -- one negative lookup each.
IMPORT_DIRS = 20
IMPORT_MODULES = 100


def _import_tree(root: Path) -> str:
    """Make the sys.path directories and modules under ``root``; returns the script."""
    dirs = [root / f"d{i:02d}" for i in range(IMPORT_DIRS)]
    for d in dirs:
        d.mkdir(parents=True)
    for j in range(IMPORT_MODULES):
        (dirs[-1] / f"mod{j:03d}.py").write_text(f"X = {j}\n")
    head = f"import sys\nsys.path[:0] = {[str(d) for d in dirs]!r}\n"
    return head + "".join(f"import mod{j:03d}\n" for j in range(IMPORT_MODULES))


def _import_runs(script: str, runs: int) -> float:
    # -I -S: nothing of the interpreter's own comes from the mount; -B: no .pyc written
    cmd = [sys.executable, "-I", "-S", "-B", "-c", script]
    t0 = time.perf_counter()
    for _ in range(runs):
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0


def wl_neglookup(mp: Path, env: Env) -> dict[str, float]:
    """stat of missing names: unique names (every stat is one lookup in the graph) and a
    small set of names stat'ed over and over (what a negative-lookup cache can answer)."""
    s = env.sizes
    uniq = [str(mp / f"nx-{env.rep}-{i}") for i in range(s.missing)]
    before = _counters(mp)
    dt = _missing_loop(uniq)
    after = _counters(mp)
    rep_names = [str(mp / f"ny-{i}") for i in range(s.repeat_names)]
    dt2 = _missing_loop(rep_names * s.repeat_passes)
    script = _import_tree(mp / f"pyimport-{env.rep}")
    dt3 = _import_runs(script, s.import_runs)
    ops = s.missing / dt
    res = {
        "pyimport_per_s": s.import_runs * IMPORT_MODULES / dt3,
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


WORKLOADS: dict[str, Callable[[Path, Env], dict[str, float]]] = {
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
    "rand_cpu_us": ("glusterfs CPU per 4 KiB random I/O", "µs", False, "io"),
    "create_per_s": ("create 4 KiB files", "files/s", True, "meta"),
    "stat_per_s": ("stat existing files (dentries dropped)", "files/s", True, "meta"),
    "unlink_per_s": ("unlink files", "files/s", True, "meta"),
    "meta_total_per_s": ("small-file metadata, all three phases", "ops/s", True, "meta"),
    "create_cpu_us": ("glusterfs CPU per file created", "µs", False, "meta"),
    "stat_cpu_us": ("glusterfs CPU per file stat", "µs", False, "meta"),
    "unlink_cpu_us": ("glusterfs CPU per file unlinked", "µs", False, "meta"),
    "missing_stat_per_s": ("stat of unique missing names", "ops/s", True, "neglookup"),
    "missing_stat_us": ("latency per missing-name stat (1/ops)", "µs", False, "neglookup"),
    "missing_repeat_per_s": ("stat of 100 missing names, repeated", "ops/s", True, "neglookup"),
    "pyimport_per_s": (f"Python imports, sys.path of {IMPORT_DIRS} dirs on the mount (fresh "
                       "interpreters, startup included)", "imports/s", True, "neglookup"),
    "py_lookups_per_stat": ("lookups reaching Python per missing-name stat (PassThrough "
                            "counters)", "fops", False, "neglookup"),
}


# =========================================================================== setup


def build_xlator(src: Path, so: Path, extra: list[str] | None = None) -> Path:
    """Compile one C translator (against the installed GlusterFS headers) into ``so``."""
    so.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, *CFLAGS, *(extra or []), "-o", str(so), str(src), "-lglusterfs"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"building {src.name} failed:\n{' '.join(cmd)}\n{out.stderr}")
    return so


def build_c_passthrough(build_dir: Path) -> Path:
    """bench/c_passthrough/passthrough.c -> BUILD_DIR/bench_c_passthrough.so"""
    return build_xlator(C_SRC, build_dir / "bench_c_passthrough.so")


def relative_type(so: Path) -> str:
    """Volfile `type` that loads an uninstalled .so: a path relative to the xlator dir
    (GlusterFS appends ".so"), as glupy.local.volfile.bridge_type() does for the bridge."""
    stem = so.absolute().with_suffix("")
    return os.path.relpath(stem, volfile.xlatordir())


def source_state() -> str:
    """Which glupy sources were measured: the git commit of REPO, marked when glupy/ has
    uncommitted changes ($GLUPY_BENCH_SOURCE when REPO is not a git checkout)."""
    def git(*a: str) -> str:
        out = subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            raise OSError(out.stderr.strip())
        return out.stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "glupy")
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("GLUPY_BENCH_SOURCE", "unknown (not a git checkout)")
    return f"{head} + uncommitted changes in glupy/" if dirty else head


def fio_direct_probe(mp: Path) -> tuple[bool, str]:
    """Does fio direct=1 work on the mount at ``mp``? (bool, note for the report)"""
    probe = mp / "probe.dat"
    try:
        for rw in ("write", "read"):
            fio(["--name=probe", f"--filename={probe}", f"--rw={rw}", "--bs=1M", "--size=8M",
                 "--direct=1"], 120)
        return True, "fio direct=1 works on the FUSE mount"
    except Exception as e:
        return False, f"fio direct=1 failed ({e}); using end_fsync=1 + drop_caches"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


# =========================================================================== stats


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def analyse(runs: list[dict[str, Any]], graphs: list[str],
            c_ref: dict[str, str] | None = None,
            rss_keys: tuple[str, ...] = ("rss_kb",)) -> dict[str, Any]:
    """Per metric and graph: median/min/max over repeats, and PAIRED ratios: each repeat's
    value divided by the reference's value in the same repeat, against "none" and against
    the graph's C reference (``c_ref[graph]``, default "c-passthrough")."""
    c_ref = c_ref or {}
    by: dict[tuple[str, str, int], dict[str, float]] = {}
    rss: dict[tuple[str, str, str], list[float]] = {}
    for r in runs:
        if r.get("metrics"):
            by[(r["workload"], r["graph"], r["rep"])] = r["metrics"]
        for key in rss_keys:
            if r.get(key) is not None:
                rss.setdefault((key, r["workload"], r["graph"]), []).append(float(r[key]))
    out: dict[str, Any] = {"metrics": {}, **{key: {} for key in rss_keys}}
    for metric, (_label, _unit, higher, wl) in METRICS.items():
        per_graph: dict[str, Any] = {}
        for g in graphs:
            vals: list[float] = []
            r_none: list[float] = []
            r_c: list[float] = []
            added_none: list[float] = []
            added_c: list[float] = []
            for (w, gg, rep), m in by.items():
                if w != wl or gg != g or metric not in m:
                    continue
                v = m[metric]
                vals.append(v)
                for ref, ratios, added in (("none", r_none, added_none),
                                           (c_ref.get(g, "c-passthrough"), r_c, added_c)):
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
    for (key, wl, g), vals in rss.items():
        out[key].setdefault(wl, {})[g] = summarize(vals)
    return out


def ratio_text(summary: dict[str, Any], metric: str, g: str,
               ref: str = "vs_none") -> tuple[float | None, str]:
    """(median paired ratio, "0.91x (min-max 0.88-0.95)") or (None, "not measured")."""
    e = summary["metrics"].get(metric, {}).get(g)
    s = e and e.get(ref)
    if not s:
        return None, "not measured"
    return s["median"], f"{s['median']:.2f}× (min–max {s['min']:.2f}–{s['max']:.2f})"


def target(name: str, value: float | None, ok: bool | None, shown: str,
           note: str = "") -> dict[str, Any]:
    """One PASS/FAIL/N/A line of a report."""
    status = "N/A" if value is None else ("PASS" if ok else "FAIL")
    return {"target": name, "status": status, "value": value, "shown": shown, "note": note}


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


def render_metric_tables(summary: dict[str, Any], graphs: list[str],
                         c_label: str = "× C pass-through") -> list[str]:
    """One Markdown table per metric: median, min-max, paired ratios (and added µs)."""
    lines: list[str] = []
    for metric, per in summary["metrics"].items():
        label, unit, higher, _wl = METRICS[metric]
        better = "higher is better" if higher else "lower is better"
        us = metric == "missing_stat_us"
        lines += [f"### {label} ({unit}, {better})", "",
                  f"| graph | median | min–max | × none | {c_label} |"
                  + (" added µs vs none | added µs vs C |" if us else ""),
                  "|---|---:|---:|---:|---:|" + ("---:|---:|" if us else "")]
        for g in graphs:
            e = per.get(g)
            if not e:
                continue
            v = e["value"]
            row = (f"| {g} | {fmt(v['median'], unit)} | {fmt(v['min'], unit)}–"
                   f"{fmt(v['max'], unit)} | {fmt_ratio(e['vs_none'])} | "
                   f"{fmt_ratio(e['vs_c_passthrough'])} |")
            if us:
                for k in ("added_us_vs_none", "added_us_vs_c_passthrough"):
                    a = e.get(k)
                    row += (f" {a['median']:+.1f} ({a['min']:+.1f}–{a['max']:+.1f}) |"
                            if a else " – |")
            lines.append(row)
        lines.append("")
    return lines


def render_rss_table(rss: dict[str, Any], graphs: list[str], workloads: list[str]) -> list[str]:
    """VmRSS (MiB) per graph and workload: median (min-max)."""
    lines = ["| graph | " + " | ".join(workloads) + " |", "|---|" + "---:|" * len(workloads)]
    for g in graphs:
        cells = []
        for wl in workloads:
            s = rss.get(wl, {}).get(g)
            cells.append(f"{s['median'] / 1024:.1f} ({s['min'] / 1024:.1f}–"
                         f"{s['max'] / 1024:.1f})" if s else "–")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    return lines


def check_names(what: str, names: list[str], known: Any) -> list[str]:
    """``names`` (from a comma-separated option), or exit naming the unknown one."""
    for n in names:
        if n not in known:
            raise SystemExit(f"unknown {what} {n!r}; known: {', '.join(known)}")
    return names
