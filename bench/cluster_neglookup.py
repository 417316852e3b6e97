#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into the .md)
"""Negative-lookup benchmark on a real glusterd volume (3 peers, 3 x 2 distributed-replicated).

    sudo /work/main/.venv/bin/python bench/cluster_neglookup.py   # ~3-6 min

Reuses tests/cluster/pool.py: 3 glusterd peers in a fresh network namespace, volume "tv",
FUSE-mounted on the host.  On that one mount, three client configurations are measured in
the same run, interleaved (order rotated per repeat), R repeats (default 3), median:

* ``none``               the plain volume (default client graph);
* ``nl-cache``           C ``performance/nl-cache`` (``performance.nl-cache on``,
                         ``performance.nl-cache-timeout 60``), turned off afterwards;
* ``negative_lookup``    ``glupy attach tv glupy.library.negative_lookup --side client
                         --name nl --position POS -o timeout=60``, detached afterwards.
                         POS (``--position``) defaults to ``above:performance/quick-read``,
                         the spot volgen gives nl-cache (above quick-read, below md-cache),
                         so both caches are compared at the same point of the graph.

Each configuration is switched on live (client graph switch; the script waits until
``MOUNT/.meta/graphs/active`` shows the translator and the new graph's protocol/clients are
connected) and measured in a fresh directory:

* ``repeat_missing_per_s``: 100 missing names, os.stat'ed 50 times each (5000 stats);
* ``unique_missing_per_s``: 5000 unique missing names, os.stat'ed once each.

Then, on a second mount with ``--attribute-timeout=0 --entry-timeout=0`` (so the kernel's own
1 s caches do not hide the translators), with ``features.cache-invalidation on``
(``-timeout 600``), three metadata-cache configurations, same interleaving:

* ``none``        ``performance.stat-prefetch off`` (md-cache out of the graph);
* ``md-cache``    C md-cache with ``performance.cache-invalidation on``,
                  ``performance.md-cache-timeout 600``;
* ``stat_cache``  stat-prefetch off + ``glupy attach tv glupy.library.stat_cache --side client
                  --name sc --position top -o timeout=600``.

* ``stat_existing_per_s``: 1000 existing files, os.stat'ed relative to an open directory
  (one lookup each) 10 times each after a warm-up pass.

Writes bench/CLUSTER_RESULTS.md and bench/cluster_results.json.  Everything (mount,
processes, netns, brick sockets, the glupy volfile filter if installed here) is torn down
at the end, also on errors and Ctrl-C / SIGTERM (partial results are still written).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
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
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "cluster"))

from benchlib import interrupt_on_signals  # noqa: E402
from pool import Pool, wait_for  # noqa: E402

from glupy.deploy import filter as gfilter  # noqa: E402

VOLUME = "tv"
CONFIGS = ["none", "nl-cache", "negative_lookup"]
NLC_XL = f"{VOLUME}-nl-cache"
GLUPY_NAME = "nl"
GLUPY_XL = f"{VOLUME}-glupy-{GLUPY_NAME}"
METRICS = ["repeat_missing_per_s", "unique_missing_per_s"]
TARGETS = {"none": 3.0, "nl-cache": 1.0}  # negative_lookup / X on repeat_missing_per_s
STAT_CONFIGS = ["none", "md-cache", "stat_cache"]
STAT_METRIC = "stat_existing_per_s"
STAT_TARGETS = {"none": 2.0, "md-cache": 1.0}  # stat_cache / X
MDC_XL = f"{VOLUME}-md-cache"
SC_NAME = "sc"
SC_XL = f"{VOLUME}-glupy-{SC_NAME}"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def glupy_cli(pool: Pool, *args: str, timeout: float = 180) -> str:
    env = dict(os.environ, **pool.env)
    res = subprocess.run([sys.executable, "-m", "glupy.cli", *args], capture_output=True, text=True,
                         env=env, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"glupy {' '.join(args)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


def active_has(mnt: Path, xl: str) -> bool:
    return (mnt / ".meta" / "graphs" / "active" / xl).is_dir()


def wait_graph(pool: Pool, mnt: Path, xl: str, present: bool, timeout: float = 60) -> None:
    wait_for(f"{xl} {'in' if present else 'out of'} the active client graph",
             lambda: active_has(mnt, xl) == present, timeout)
    pool.wait_client_connected(mnt, timeout)


def enable(pool: Pool, mnt: Path, cfg: str, position: str) -> None:
    if cfg == "nl-cache":
        pool.peers[0].cli("volume", "set", VOLUME, "performance.nl-cache-timeout", "60")
        pool.peers[0].cli("volume", "set", VOLUME, "performance.nl-cache", "on")
        wait_graph(pool, mnt, NLC_XL, True)
    elif cfg == "negative_lookup":
        glupy_cli(pool, "attach", VOLUME, "glupy.library.negative_lookup", "--side", "client",
                  "--name", GLUPY_NAME, "--position", position, "-o", "timeout=60")
        wait_graph(pool, mnt, GLUPY_XL, True)
    for other in (NLC_XL, GLUPY_XL):
        want = (other == NLC_XL and cfg == "nl-cache") or (other == GLUPY_XL and cfg == "negative_lookup")
        if active_has(mnt, other) != want:
            raise RuntimeError(f"{cfg}: {other} {'missing from' if want else 'present in'} the active graph")


def disable(pool: Pool, mnt: Path, cfg: str) -> None:
    if cfg == "nl-cache":
        pool.peers[0].cli("volume", "set", VOLUME, "performance.nl-cache", "off")
        wait_graph(pool, mnt, NLC_XL, False)
    elif cfg == "negative_lookup":
        glupy_cli(pool, "detach", VOLUME, GLUPY_NAME)
        wait_graph(pool, mnt, GLUPY_XL, False)


def enable_stat(pool: Pool, mnts: list[Path], cfg: str) -> None:
    cli = pool.peers[0].cli
    if cfg in ("none", "stat_cache"):
        cli("volume", "set", VOLUME, "performance.stat-prefetch", "off")
        for m in mnts:
            wait_graph(pool, m, MDC_XL, False)
    if cfg == "stat_cache":
        glupy_cli(pool, "attach", VOLUME, "glupy.library.stat_cache", "--side", "client",
                  "--name", SC_NAME, "--position", "top", "-o", "timeout=600")
        for m in mnts:
            wait_graph(pool, m, SC_XL, True)
    if cfg == "md-cache":
        cli("volume", "set", VOLUME, "performance.cache-invalidation", "on")
        cli("volume", "set", VOLUME, "performance.md-cache-timeout", "600")
        for m in mnts:
            wait_graph(pool, m, MDC_XL, True)
    time.sleep(2)  # option-only changes are reconfigured in place
    for m in mnts:
        want = {MDC_XL: cfg == "md-cache", SC_XL: cfg == "stat_cache"}
        for xl, present in want.items():
            if active_has(m, xl) != present:
                raise RuntimeError(f"{cfg}: {xl} {'missing from' if present else 'present in'} {m}")


def disable_stat(pool: Pool, mnts: list[Path], cfg: str) -> None:
    cli = pool.peers[0].cli
    if cfg == "stat_cache":
        glupy_cli(pool, "detach", VOLUME, SC_NAME)
        for m in mnts:
            wait_graph(pool, m, SC_XL, False)
    if cfg == "md-cache":
        cli("volume", "reset", VOLUME, "performance.md-cache-timeout")
        cli("volume", "reset", VOLUME, "performance.cache-invalidation")
    cli("volume", "reset", VOLUME, "performance.stat-prefetch")
    for m in mnts:
        wait_graph(pool, m, MDC_XL, True)


def mount_uncached(pool: Pool) -> Path:
    """A second client with the kernel's attribute and entry caches off."""
    mnt = pool.root / "mnt-stat"
    mnt.mkdir()
    subprocess.run(["nsenter", f"--net=/run/netns/{pool.netns}", "glusterfs",
                    f"--volfile-server={pool.peers[0].host}", f"--volfile-id={VOLUME}",
                    "--attribute-timeout=0", "--entry-timeout=0", "--negative-timeout=0",
                    f"--log-file={pool.root / 'mnt-stat.log'}",
                    f"--pid-file={pool.root / 'mnt-stat.pid'}", str(mnt)], check=True)
    pool.mounts.append(mnt)
    pool.wait_client_connected(mnt, 60)
    return mnt


def measure_stat(mnt: Path, tag: str, files: int, passes: int) -> dict[str, float]:
    d = mnt / "bench-stat" / tag
    d.mkdir(parents=True)
    names = [f"f{i:05d}" for i in range(files)]
    for n in names:
        (d / n).write_bytes(b"x")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        st = os.stat
        for n in names:  # warm-up: the caches fill
            st(n, dir_fd=fd)
        seq = names * passes
        t0 = time.perf_counter()
        for n in seq:
            st(n, dir_fd=fd)
        return {STAT_METRIC: len(seq) / (time.perf_counter() - t0)}
    finally:
        os.close(fd)


def sc_stats(mnt: Path) -> Any:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(os.getxattr(mnt, "glupy.stat_cache.stats"))
    return None


def summarize_stat(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, dict[int, float]] = {}
    for r in runs:
        by.setdefault(r["config"], {})[r["repeat"]] = r["values"][STAT_METRIC]
    out: dict[str, Any] = {"configs": {}, "ratios": {}}
    for cfg in STAT_CONFIGS:
        v = list(by.get(cfg, {}).values())
        if v:
            out["configs"][cfg] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                                   "n": len(v)}
    sc = by.get("stat_cache", {})
    for ref in ("none", "md-cache"):
        refd = by.get(ref, {})
        paired = [sc[r] / refd[r] for r in sorted(sc) if r in refd]
        if paired:
            out["ratios"][ref] = {"median": statistics.median(paired), "min": min(paired),
                                  "max": max(paired), "paired": paired}
    return out


def stat_missing(paths: list[str]) -> float:
    """os.stat every path (all must be missing); return ops/s."""
    st = os.stat
    t0 = time.perf_counter()
    for p in paths:
        try:
            st(p)
        except FileNotFoundError:
            pass
        else:
            raise RuntimeError(f"{p} exists")
    return len(paths) / (time.perf_counter() - t0)


def measure(mnt: Path, tag: str, names: int, passes: int, unique: int) -> dict[str, float]:
    d = mnt / "bench" / tag
    d.mkdir(parents=True)
    rep_dir = d / "repeat"
    uni_dir = d / "unique"
    rep_dir.mkdir()
    uni_dir.mkdir()
    # a few real files next to the missing names, as in a real directory
    for i in range(10):
        (rep_dir / f"present{i}").write_bytes(b"x")
        (uni_dir / f"present{i}").write_bytes(b"x")
    base = [str(rep_dir / f"missing-{i:04d}.py") for i in range(names)]
    out = {"repeat_missing_per_s": stat_missing(base * passes)}
    out["unique_missing_per_s"] = stat_missing([str(uni_dir / f"u-{i:06d}.so") for i in range(unique)])
    return out


def nl_stats(mnt: Path) -> Any:
    with contextlib.suppress(OSError, ValueError):
        raw = os.getxattr(mnt, "glupy.negative_lookup.stats")
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")
    return None


def fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, dict[int, dict[str, float]]] = {}
    for r in runs:
        by.setdefault(r["config"], {})[r["repeat"]] = r["values"]
    summary: dict[str, Any] = {"configs": {}, "ratios": {}}
    for cfg in CONFIGS:
        reps = by.get(cfg, {})
        summary["configs"][cfg] = {
            m: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
            for m in METRICS if (v := [vals[m] for vals in reps.values()])}
    nl = by.get("negative_lookup", {})
    for ref in ("none", "nl-cache"):
        refd = by.get(ref, {})
        summary["ratios"][ref] = {}
        for m in METRICS:
            paired = [nl[r][m] / refd[r][m] for r in sorted(nl) if r in refd]
            if paired:
                summary["ratios"][ref][m] = {"median": statistics.median(paired), "min": min(paired),
                                             "max": max(paired), "paired": paired}
    return summary


def write_results(out: Path, meta: dict[str, Any], runs: list[dict[str, Any]], summary: dict[str, Any],
                  error: str | None, stat_runs: list[dict[str, Any]] | None = None,
                  stat_summary: dict[str, Any] | None = None) -> None:
    doc = {**meta, "runs": runs, "summary": summary, "stat_runs": stat_runs or [],
           "stat_summary": stat_summary or {}, "error": error}
    (out / "cluster_results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    a = meta["args"]
    lines = [
        "# Negative lookups on a glusterd volume: glupy negative_lookup vs C nl-cache",
        "",
        f"Date: {meta['date']} · host: {meta['host']} · {meta['glusterfs']} · Python {meta['python']}",
        f"· total run time {meta.get('elapsed_s', 0):.0f} s (pool start {meta.get('pool_start_s', 0):.0f} s)",
        "",
        "Generated by `bench/cluster_neglookup.py`; raw per-repeat values in `cluster_results.json`.",
        "",
        "## Method",
        "",
        "- Pool: `tests/cluster/pool.py` — 3 glusterd peers (127.1.1.1–3) in a fresh network namespace,",
        f"  volume `{VOLUME}` 3 × 2 distributed-replicated (6 bricks, replica 2), FUSE-mounted on the host",
        "  (glusterfs client in the namespace's network). All traffic is loopback TCP on one VM.",
        "- One mount; the client configuration is switched live (client graph switch); the script",
        "  waits until `MOUNT/.meta/graphs/active` contains the translator (`tv-nl-cache` /",
        f"  `{GLUPY_XL}`) and all the new graph's protocol/clients are connected, then measures.",
        "  - `none`: default client graph of the volume.",
        "  - `nl-cache`: `gluster volume set tv performance.nl-cache-timeout 60` +",
        "    `performance.nl-cache on`; `performance.nl-cache off` afterwards.",
        "  - `negative_lookup`: `glupy attach tv glupy.library.negative_lookup --side client --name nl",
        f"    --position {a.get('position', 'default')} -o timeout=60` (client side only, no brick",
        "    restarts); `glupy detach tv nl` afterwards.  `above:performance/quick-read` is where",
        "    volgen puts nl-cache (above quick-read, below md-cache): both caches at the same point.",
        "- Workloads (Python `os.stat` loop, fresh directory per measurement with 10 real files):",
        f"  - repeated misses: {a['names']} missing names stat'ed {a['passes']} times each "
        f"({a['names'] * a['passes']} stats, first pass included);",
        f"  - unique misses: {a['unique']} distinct missing names stat'ed once.",
        f"- {a['repeats']} repeats; configurations interleaved, order rotated per repeat. Median (min–max).",
        "  Ratios are paired (each repeat's negative_lookup over the reference measured in the same",
        "  repeat), median (min–max).",
        "",
        "## Results (stats of missing names per second)",
        "",
        "| config | repeated misses /s | unique misses /s |",
        "|---|---:|---:|",
    ]
    for cfg in CONFIGS:
        c = summary.get("configs", {}).get(cfg, {})
        cells = []
        for m in METRICS:
            s = c.get(m)
            cells.append(f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})" if s else "n/a")
        lines.append(f"| `{cfg}` | {cells[0]} | {cells[1]} |")
    lines += ["", "## Ratios (negative_lookup / reference)", "",
              "| reference | repeated misses | unique misses |", "|---|---:|---:|"]
    for ref in ("none", "nl-cache"):
        r = summary.get("ratios", {}).get(ref, {})
        cells = [f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})" if (s := r.get(m)) else "n/a"
                 for m in METRICS]
        lines.append(f"| `{ref}` | {cells[0]} | {cells[1]} |")
    lines += ["", "## Targets (repeated missing names)", ""]
    for ref, target in TARGETS.items():
        s = summary.get("ratios", {}).get(ref, {}).get("repeat_missing_per_s")
        if s:
            verdict = "PASS" if s["median"] >= target else "FAIL"
            lines.append(f"- **{verdict}**: negative_lookup ≥ {target:.1f}× {ref}: "
                         f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})")
        else:
            lines.append(f"- **FAIL** (not measured): negative_lookup ≥ {target:.1f}× {ref}")
    switch = meta.get("switch_s", {})
    if switch:
        lines += ["", "## Graph switch times (s, median)", ""]
        for k, v in switch.items():
            if v:
                lines.append(f"- {k}: {statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})")
    st = meta.get("negative_lookup_stats")
    if st:
        lines += ["", "`glupy.negative_lookup.stats` after the last negative_lookup measurement:", "",
                  "```", json.dumps(st, indent=1) if not isinstance(st, str) else st, "```"]
    if stat_summary is not None:
        a2 = meta["args"]
        lines += ["", "# Stat of existing files: glupy stat_cache vs C md-cache", "",
                  "- Second FUSE client of the same volume mounted with `--attribute-timeout=0",
                  "  --entry-timeout=0 --negative-timeout=0` (the kernel's 1 s caches would otherwise",
                  "  answer most stats themselves, for every configuration alike).",
                  "- `features.cache-invalidation on`, `features.cache-invalidation-timeout 600` for all.",
                  "  - `none`: `performance.stat-prefetch off` (md-cache out of the graph);",
                  "  - `md-cache`: `performance.cache-invalidation on`, `performance.md-cache-timeout 600`;",
                  "  - `stat_cache`: stat-prefetch off + `glupy attach tv glupy.library.stat_cache --side",
                  "    client --name sc --position top -o timeout=600` (under io-stats, md-cache's spot).",
                  f"- Workload: {a2['stat_files']} existing files, `os.stat(name, dir_fd=d)` (one lookup",
                  f"  each) {a2['stat_passes']} times each after one warm-up pass.",
                  f"- {a2['repeats']} repeats, interleaved, order rotated; paired ratios, median (min–max).",
                  "", "| config | stats of existing files /s |", "|---|---:|"]
        for cfg in STAT_CONFIGS:
            c = stat_summary.get("configs", {}).get(cfg)
            lines.append(f"| `{cfg}` | " + (f"{fmt(c['median'])} ({fmt(c['min'])}–{fmt(c['max'])})"
                                           if c else "n/a") + " |")
        lines += ["", "| stat_cache / reference | ratio |", "|---|---:|"]
        for ref in ("none", "md-cache"):
            r = stat_summary.get("ratios", {}).get(ref)
            lines.append(f"| `{ref}` | " + (f"{r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"
                                           if r else "n/a") + " |")
        lines += ["", "Targets:", ""]
        for ref, target in STAT_TARGETS.items():
            r = stat_summary.get("ratios", {}).get(ref)
            verdict = ("PASS" if r["median"] >= target else "FAIL") if r else "FAIL (not measured)"
            lines.append(f"- **{verdict}**: stat_cache ≥ {target:.1f}× {ref}"
                         + (f": {r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})" if r else ""))
        st2 = meta.get("stat_cache_stats")
        if st2:
            lines += ["", "`glupy.stat_cache.stats` after the last stat_cache measurement:", "",
                      "```", json.dumps(st2, indent=1), "```"]
    if error:
        lines += ["", "## Error (run incomplete)", "", "```", error.strip()[-3000:], "```"]
    lines += ["", "## Caveats", "",
              "- 2-core shared VM, all 3 peers and the client on one host over loopback: a network",
              "  round trip here is much cheaper than on real hosts, so caches gain less than in",
              "  production; ±20 % between runs is normal. Compare only within one run.",
              "- The Python stat loop itself costs ~1–2 µs per op.", ""]
    (out / "CLUSTER_RESULTS.md").write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--names", type=int, default=100)
    ap.add_argument("--passes", type=int, default=50)
    ap.add_argument("--unique", type=int, default=5000)
    ap.add_argument("--stat-files", type=int, default=1000)
    ap.add_argument("--stat-passes", type=int, default=10)
    ap.add_argument("--skip-stat", action="store_true", help="only the negative-lookup part")
    ap.add_argument("--skip-negative", action="store_true", help="only the stat_cache part")
    ap.add_argument("--out", type=Path, default=BENCH_DIR)
    ap.add_argument("--position", default="above:performance/quick-read",
                    help="glupy attach --position for negative_lookup (default: nl-cache's spot)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (glusterd pool, network namespace, FUSE)", file=sys.stderr)
        return 2

    interrupt_on_signals()

    t_start = time.monotonic()
    glusterfs_v = subprocess.run(["glusterfs", "--version"], capture_output=True, text=True).stdout
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "glusterfs": (glusterfs_v.splitlines() or ["glusterfs ?"])[0],
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "switch_s": {"nl-cache on": [], "nl-cache off": [], "attach": [], "detach": []},
    }
    runs: list[dict[str, Any]] = []
    stat_runs: list[dict[str, Any]] = []
    error = None

    fpath = gfilter.filter_path()
    f_pre, fdir_pre = fpath.exists(), fpath.parent.exists()
    root = Path(tempfile.mkdtemp(prefix="glupy-bench-pool-", dir="/var/tmp"))
    pool = Pool(root)
    try:
        gfilter.install(fpath)
        log(f"starting pool in {root}")
        t0 = time.monotonic()
        pool.start()
        pool.create_volume(VOLUME)
        mnt = pool.mount(VOLUME)
        meta["pool_start_s"] = time.monotonic() - t0
        log(f"pool up in {meta['pool_start_s']:.1f}s, mount {mnt}")
        # warm-up (first lookups on a fresh mount/volume are slower)
        measure(mnt, "warmup", 20, 5, 200)
        for rep in range(0 if args.skip_negative else args.repeats):
            order = CONFIGS[rep % len(CONFIGS):] + CONFIGS[:rep % len(CONFIGS)]
            for cfg in order:
                ts = time.monotonic()
                enable(pool, mnt, cfg, args.position)
                if cfg != "none":
                    meta["switch_s"]["nl-cache on" if cfg == "nl-cache" else "attach"].append(
                        time.monotonic() - ts)
                try:
                    vals = measure(mnt, f"r{rep}-{cfg}", args.names, args.passes, args.unique)
                    if cfg == "negative_lookup":
                        meta["negative_lookup_stats"] = nl_stats(mnt)
                finally:
                    ts = time.monotonic()
                    disable(pool, mnt, cfg)
                    if cfg != "none":
                        meta["switch_s"]["nl-cache off" if cfg == "nl-cache" else "detach"].append(
                            time.monotonic() - ts)
                runs.append({"repeat": rep, "config": cfg, "values": vals})
                log(f"repeat {rep} {cfg:16s} " + "  ".join(f"{k}={v:,.0f}" for k, v in vals.items()))
        if not args.skip_stat:
            pool.peers[0].cli("volume", "set", VOLUME, "features.cache-invalidation", "on")
            pool.peers[0].cli("volume", "set", VOLUME, "features.cache-invalidation-timeout", "600")
            smnt = mount_uncached(pool)
            mnts = [mnt, smnt]
            measure_stat(smnt, "warmup", 200, 2)
            for rep in range(args.repeats):
                order = STAT_CONFIGS[rep % 3:] + STAT_CONFIGS[:rep % 3]
                for cfg in order:
                    enable_stat(pool, mnts, cfg)
                    try:
                        vals = measure_stat(smnt, f"r{rep}-{cfg}", args.stat_files, args.stat_passes)
                        if cfg == "stat_cache":
                            meta["stat_cache_stats"] = sc_stats(smnt)
                    finally:
                        disable_stat(pool, mnts, cfg)
                    stat_runs.append({"repeat": rep, "config": cfg, "values": vals})
                    log(f"stat repeat {rep} {cfg:12s} {STAT_METRIC}={vals[STAT_METRIC]:,.0f}")
    except BaseException:
        error = traceback.format_exc()
        log(f"ERROR: {error}")
    finally:
        log("tearing down the pool")
        try:
            pool.stop()
        except Exception:
            error = (error or "") + "\nteardown: " + traceback.format_exc()
            log(f"teardown error: {traceback.format_exc()}")
        shutil.rmtree(root, ignore_errors=True)
        if not f_pre:
            with contextlib.suppress(Exception):
                gfilter.uninstall(fpath)
            if not fdir_pre:
                with contextlib.suppress(OSError):
                    fpath.parent.rmdir()
        meta["elapsed_s"] = time.monotonic() - t_start
        summary = summarize(runs)
        write_results(args.out, meta, runs, summary, error, stat_runs,
                      None if args.skip_stat else summarize_stat(stat_runs))
        log(f"wrote {args.out / 'CLUSTER_RESULTS.md'} and {args.out / 'cluster_results.json'}"
            f" ({meta['elapsed_s']:.0f}s)")
    print((args.out / "CLUSTER_RESULTS.md").read_text())
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
