#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into the .md)
"""Headline numbers on a glusterd replica-2 volume: none vs C pass-through vs Python.

    sudo .venv/bin/python bench/replica.py            # full: 3 repeats, 1 GiB, 10k files
    sudo .venv/bin/python bench/replica.py --quick    # 1 repeat, 256 MiB, 2k files

A throw-away glusterd (tests/cluster/pool.py: its own network namespace, working, run
and log directories and brick ports under a fresh temp dir; nothing else on the machine
is touched) serves one replica-2 volume (2 bricks) PER GRAPH, all created at the start:

* ``none``            the volume as glusterd generates it;
* ``c-passthrough``   bench/c_passthrough inserted client side by a volfile filter of
                      this run (bench/replica_filter.py) where ``glupy attach`` puts a
                      client-side translator (right above the top cluster translator);
* ``py-passthrough``  ``glupy attach VOL glupy.library.passthrough:PassThrough --side client``;
* ``py-lookup-only``  ``glupy attach VOL lookup_only:LookupOnly --side client``;
* ``*-brick``         the same three on the brick side (above storage/posix in both
                      bricks; ``glupy attach --side brick`` restarts the bricks).

Every measurement is a fresh FUSE mount (``glusterfs --volfile-server``, which fetches
the client volfile from glusterd) and a fresh directory on the volume; the workloads are
bench/benchlib.py's (the same as bench/run.py: fio sequential write/read 1 MiB, fio 4 KiB
random read/write, small-file create/stat/unlink), in a rotating graph order per
workload and repeat.  Values: median (min-max) over repeats; ratios are PAIRED (each
repeat divided by none's value in the same repeat).  Also the VmRSS of the client
glusterfs process (and of the bricks) after each workload.

Writes OUT/REPLICA_RESULTS.md and OUT/replica_results.json.  Everything (mounts,
glusterd, bricks, netns, the filters installed here) is removed at the end, also on
errors and Ctrl-C / SIGTERM (partial results are still written).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    interrupt_on_signals,
    log,
    ratio_text,
    relative_type,
    render_metric_tables,
    render_rss_table,
    rss_kb,
    source_state,
    target,
)

sys.path.insert(0, str(REPO / "tests" / "cluster"))

import replica_filter
from pool import Pool, kill_pids, wait_for

from glupy.deploy import filter as gfilter
from glupy.local import volfile

HOST = "127.1.1.1"


@dataclass
class Config:
    volume: str
    description: str
    kind: str = "none"          # none | c | py
    side: str = "client"        # client | brick
    module: str = ""            # py: the module spec given to glupy attach
    c_ref: str = "c-passthrough"

    @property
    def xlator(self) -> str | None:
        """Name of the inserted volume in the volfiles (None: nothing inserted)."""
        if self.kind == "c":
            return self.volume + replica_filter.XL_SUFFIX
        if self.kind == "py":
            return f"{self.volume}-glupy-bench"
        return None


GRAPHS: dict[str, Config] = {
    "none": Config("bnone", "the volume as glusterd generates it (no translator)"),
    "c-passthrough": Config(
        "bcpt", "C pass-through (bench/c_passthrough) inserted client side by "
        "bench/replica_filter.py, where glupy attach puts a client-side translator", "c"),
    "py-passthrough": Config(
        "bpypt", "glupy attach glupy.library.passthrough:PassThrough --side client "
        "(every fop in Python)", "py", module="glupy.library.passthrough:PassThrough"),
    "py-lookup-only": Config(
        "bpylk", "glupy attach lookup_only:LookupOnly --side client (only lookup in Python)",
        "py", module="lookup_only:LookupOnly"),
    "c-passthrough-brick": Config(
        "bcptb", "C pass-through above storage/posix in both bricks (replica_filter.py)",
        "c", side="brick", c_ref="c-passthrough-brick"),
    "py-passthrough-brick": Config(
        "bpyptb", "glupy attach glupy.library.passthrough:PassThrough --side brick",
        "py", side="brick", module="glupy.library.passthrough:PassThrough",
        c_ref="c-passthrough-brick"),
    "py-lookup-only-brick": Config(
        "bpylkb", "glupy attach lookup_only:LookupOnly --side brick", "py", side="brick",
        module="lookup_only:LookupOnly", c_ref="c-passthrough-brick"),
}
CLIENT_SIDE = ["none", "c-passthrough", "py-passthrough", "py-lookup-only"]
BRICK_SIDE = ["c-passthrough-brick", "py-passthrough-brick", "py-lookup-only-brick"]
REPLICA_WORKLOADS = ["io", "meta"]


# =========================================================================== the pool


class Cluster:
    """One glusterd (tests/cluster/pool.py) with one replica-2 volume per graph."""

    def __init__(self, root: Path, cpt_type: str) -> None:
        self.root = root
        self.pool = Pool(root / "pool", npeers=1)
        self.cpt_type = cpt_type
        self.filter_paths: list[Path] = []
        self._glupy_filter_before: str | None = None   # its text, restored at the end
        self._filter_dir_preexisting = True

    @property
    def peer(self) -> Any:
        return self.pool.peers[0]

    def install_filters(self, graphs: list[str]) -> None:
        fpath = gfilter.filter_path()
        self._filter_dir_preexisting = fpath.parent.exists()
        if fpath.exists():
            self._glupy_filter_before = fpath.read_text()
        # (re)installed for THIS checkout's glupy (glupy attach would do the same)
        gfilter.install(fpath)
        sides = {GRAPHS[g].volume: GRAPHS[g].side for g in graphs if GRAPHS[g].kind == "c"}
        if sides:
            p = fpath.parent / f"glupy-bench-cpt-{os.getpid()}"
            p.write_text(replica_filter.script_text(self.pool.root, sys.executable, REPO,
                                                    self.cpt_type, sides))
            p.chmod(0o755)
            self.filter_paths.append(p)

    def remove_filters(self) -> None:
        for p in self.filter_paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        fpath = gfilter.filter_path()
        if self._glupy_filter_before is None:
            with contextlib.suppress(Exception):
                gfilter.uninstall(fpath)
        elif fpath.read_text() != self._glupy_filter_before:
            fpath.write_text(self._glupy_filter_before)
        if not self._filter_dir_preexisting:
            with contextlib.suppress(OSError):
                fpath.parent.rmdir()

    def start(self) -> None:
        self.pool.start()

    def create(self, g: str) -> None:
        c = GRAPHS[g]
        bricks = []
        for i in (1, 2):
            path = self.pool.root / "bricks" / c.volume / f"b{i}"
            path.parent.mkdir(parents=True, exist_ok=True)
            bricks.append(f"{HOST}:{path}")
        self.peer.cli("volume", "create", c.volume, "replica", "2", *bricks, "force")
        self.peer.cli("volume", "start", c.volume)
        self.pool.wait_bricks_online(c.volume, count=2)
        if c.kind == "py":
            self.glupy("attach", c.volume, c.module, "--side", c.side, "--name", "bench",
                       "--python-path", str(PY_TRANSLATORS))
            self.pool.wait_bricks_online(c.volume, count=2)

    def glupy(self, *args: str) -> str:
        env = dict(os.environ, **self.pool.env)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"]
                                         if env.get("PYTHONPATH") else "")
        res = subprocess.run([sys.executable, "-m", "glupy.cli", *args], capture_output=True,
                             text=True, env=env, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"glupy {' '.join(args)} failed ({res.returncode}):\n"
                               f"{res.stdout}{res.stderr}")
        return res.stdout

    def volfiles(self, g: str) -> dict[str, str]:
        vdir = self.peer.wd / "vols" / GRAPHS[g].volume
        return {p.name: p.read_text() for p in sorted(vdir.glob("*.vol"))}

    def brick_pids(self, g: str) -> list[int]:
        return sorted(self.pool.brick_processes(GRAPHS[g].volume).values())

    def check_bricks(self, g: str) -> None:
        """Brick-side graphs: both running bricks loaded the translator (their logs show
        it in the final graph); client-side graphs: the bricks do not have it."""
        c = GRAPHS[g]
        want = c.side == "brick" and c.xlator is not None
        for pid in self.brick_pids(g):
            cl = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            logf = next((cl[i + 1].decode() for i, a in enumerate(cl[:-1])
                         if a in (b"-l", b"--log-file")), None)
            text = Path(logf).read_text(errors="replace") if logf else ""
            last = text[text.rfind("Final graph:"):] if "Final graph:" in text else ""
            has = bool(c.xlator) and f"volume {c.xlator}\n" in last
            if has != want:
                raise RuntimeError(f"{g}: brick pid {pid} {'lacks' if want else 'has'} "
                                   f"{c.xlator} in its graph (log {logf})")

    def mount(self, g: str) -> tuple[Path, int | None]:
        mnt = self.pool.mount(GRAPHS[g].volume, timeout=60)
        pidfile = self.pool.root / (mnt.name + ".pid")
        pid = None
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().strip())
        c = GRAPHS[g]
        if c.side == "client" and c.xlator:
            wait_for(f"{c.xlator} in the client graph",
                     lambda: (mnt / ".meta" / "graphs" / "active" / c.xlator).is_dir(), 30)
        active = {p.name for p in (mnt / ".meta" / "graphs" / "active").iterdir()}
        others = {GRAPHS[o].xlator for o in GRAPHS if GRAPHS[o].xlator} - {c.xlator}
        if active & others:
            raise RuntimeError(f"{g}: unexpected {sorted(active & others)} in the client graph")
        return mnt, pid

    def unmount(self, mnt: Path, pid: int | None) -> None:
        res = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        if res.returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        if pid is not None:
            try:
                wait_for(f"glusterfs {pid} to exit", lambda: not Path(f"/proc/{pid}").exists(),
                         15)
            except Exception:
                kill_pids([pid])
        with contextlib.suppress(OSError):
            mnt.rmdir()

    def stop(self) -> None:
        self.pool.stop()


# =========================================================================== report


def targets(summary: dict[str, Any], graphs: list[str]) -> list[dict[str, Any]]:
    out = []
    for g, where in (("py-passthrough", "client side"), ("py-passthrough-brick", "brick side")):
        if g not in graphs:
            continue
        cref = GRAPHS[g].c_ref

        def c_note(metric: str, cref: str = cref, where: str = where) -> str:
            v, txt = ratio_text(summary, metric, cref)
            return f"C pass-through ({where}) in the same run: {txt}" if v is not None else ""

        for metric in ("seq_write_MBps", "seq_read_MBps"):
            v, txt = ratio_text(summary, metric, g)
            out.append(target(f"replica 2, {where}: Python pass-through ≥ 0.90× none on "
                              f"{METRICS[metric][0]}", v, v is not None and v >= 0.90, txt,
                              c_note(metric)))
        v, txt = ratio_text(summary, "meta_total_per_s", g)
        phases = "; ".join(f"{METRICS[k][0]}: {ratio_text(summary, k, g)[1]}"
                           for k in ("create_per_s", "stat_per_s", "unlink_per_s"))
        note = "; ".join(x for x in (c_note("meta_total_per_s"), f"per phase: {phases}") if x)
        out.append(target(f"replica 2, {where}: Python pass-through ≥ 0.75× none on small-file "
                          "metadata (create+stat+unlink)", v, v is not None and v >= 0.75, txt,
                          note))
    return out


def render_md(result: dict[str, Any]) -> str:
    meta, summary, graphs = result["meta"], result["summary"], result["graphs"]
    lines = [
        "# glupy on a glusterd replica-2 volume",
        "",
        f"Generated by `bench/replica.py{' --quick' if meta['quick'] else ''}` on "
        f"{meta['date']} ({meta['host']}, {meta['cpus']} CPUs, load average before the run "
        f"{meta['loadavg_before']}, after {meta.get('loadavg_after', '?')}; glupy "
        f"{meta.get('source', '?')}; {meta.get('glusterfs', '')}). Duration "
        f"{meta.get('duration_s', 0) / 60:.1f} min (pool and volumes set up in "
        f"{meta.get('setup_s', 0):.0f} s).",
        "",
        f"Mode: **{'quick' if meta['quick'] else 'full'}**: {meta['repeats']} repeat(s), "
        f"sequential {meta['seq_bytes'] // MiB} MiB, random I/O {meta['rand_seconds']} s, "
        f"{meta['files']} small files. I/O mode: {meta.get('direct_io_note', '?')}.",
        "",
        "One glusterd (tests/cluster/pool.py, its own network namespace and directories) "
        "serves one replica-2 volume (2 bricks on the same local filesystem, loopback TCP) "
        "per graph; every measurement is a fresh FUSE mount (`glusterfs --volfile-server`: "
        "the client volfile comes from glusterd, with the translator inserted by `glupy "
        "attach`'s volfile filter, or for the C pass-through by `bench/replica_filter.py` at "
        "the same place) and a fresh directory. Default volume options (the client graph "
        "has glusterd's default performance translators). Workloads as in `bench/run.py`, "
        "graphs in rotating order per workload and repeat; values are the median over "
        "repeats with (min–max); ratios are paired (each repeat divided by the reference "
        "measured in the same repeat), median (min–max). A single quick repeat is an "
        "indication only: these machines vary ±20 % run to run.",
        "",
        "## Targets",
        "",
    ]
    for t in result["targets"]:
        note = f" — {t['note']}" if t["note"] else ""
        lines.append(f"- **{t['status']}** {t['target']}: {t['shown']}{note}")
    lines += ["", "## Graphs", ""]
    for g in graphs:
        c = GRAPHS[g]
        lines.append(f"- `{g}` (volume `{c.volume}`): {c.description}")
    lines += ["", "## Results", ""]
    lines += render_metric_tables(summary, graphs,
                                  c_label="× C pass-through (same side)")
    lines += ["### Resident memory after each workload (VmRSS, MiB)", "",
              "Client: the FUSE `glusterfs` process of the mount.", ""]
    wls = meta["workloads"]
    lines += render_rss_table(summary["rss_kb"], graphs, wls)
    lines += ["", "Bricks: the larger of the volume's two `glusterfsd` processes.", ""]
    lines += render_rss_table(summary["brick_rss_kb"], graphs, wls)
    lines.append("")
    if result.get("volfile_excerpts"):
        lines += ["## Where the translators sit (client volfile from glusterd)", ""]
        for g, chain in result["volfile_excerpts"].items():
            lines.append(f"- `{g}`: {chain}")
        lines.append("")
    errors = [r for r in result["runs"] if r.get("error")]
    if errors or meta.get("error"):
        lines += ["## Errors", ""]
        for r in errors:
            text = r["error"].strip().splitlines() or ["?"]
            why = text[-1] if text[0].startswith("Traceback") else text[0]
            lines.append(f"- rep {r['rep'] + 1} {r['workload']} on {r['graph']}: {why}")
        if meta.get("error"):
            lines += ["", "```", meta["error"].strip()[-3000:], "```"]
        lines.append("")
    lines += ["## Caveats", "",
              "- Both bricks, glusterd and the client share one 2-core VM and talk over "
              "loopback: a network round trip costs far less than between real hosts, so a "
              "translator's CPU cost weighs more here than it would in production.",
              "- Compare only within one run; the C pass-through's ratio shows the run's "
              "noise (it should be ~1.0×).", "",
              "Raw per-repeat values, run order and environment: `bench/replica_results.json`.",
              ""]
    return "\n".join(lines)


def client_chain(text: str) -> str:
    """The client volfile's volumes from the top down to the replica set."""
    graph = volfile.parse(text)
    names, node = [], graph.top
    while len(node.subvolumes) == 1:
        names.append(f"{node.name} ({node.type.rsplit('/', 1)[-1]})")
        node = graph[node.subvolumes[0]]
    names.append(f"{node.name} ({node.type.rsplit('/', 1)[-1]} of "
                 f"{', '.join(node.subvolumes) or 'nothing'})")
    return " → ".join(names)


# =========================================================================== main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, 256 MiB, 2k files")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--graphs", help="comma-separated subset of: " + ", ".join(GRAPHS))
    ap.add_argument("--client-only", action="store_true", help="skip the *-brick graphs")
    ap.add_argument("--workloads", default=",".join(REPLICA_WORKLOADS),
                    help="comma-separated subset of: " + ", ".join(WORKLOADS))
    ap.add_argument("--out", type=Path, default=BENCH_DIR)
    ap.add_argument("--workdir", type=Path, default=Path("/var/tmp"),
                    help="parent of the temp dir (bricks live there: local fs with xattrs)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir's logs and volfiles (processes still stopped)")
    ap.add_argument("--render-only", action="store_true",
                    help="only rewrite REPLICA_RESULTS.md from OUT/replica_results.json")
    args = ap.parse_args(argv)

    if args.render_only:
        result = json.loads((args.out / "replica_results.json").read_text())
        result["summary"] = analyse(result["runs"], result["graphs"],
                                    {g: GRAPHS[g].c_ref for g in result["graphs"]},
                                    ("rss_kb", "brick_rss_kb"))
        result["targets"] = targets(result["summary"], result["graphs"])
        (args.out / "replica_results.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "REPLICA_RESULTS.md").write_text(render_md(result))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("run as root (glusterd, network namespace, FUSE)")
    for tool in ("fio", "glusterd", "glusterfs"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (scripts/setup.sh installs it)")
    if not volfile.bridge_so_path().exists():
        raise SystemExit(f"glupy bridge not built ({volfile.bridge_so_path()}): "
                         "python -m glupy._build")
    sizes = Sizes.quick() if args.quick else Sizes.full()
    if args.repeats:
        sizes.repeats = args.repeats
    graphs = (args.graphs.split(",") if args.graphs
              else CLIENT_SIDE + ([] if args.client_only else BRICK_SIDE))
    if "none" not in graphs:
        graphs.insert(0, "none")
    check_names("graph", graphs, GRAPHS)
    workloads = args.workloads.split(",")
    check_names("workload", workloads, WORKLOADS)

    interrupt_on_signals()

    started = time.time()
    base = Path(tempfile.mkdtemp(prefix="glupy-bench-replica-", dir=args.workdir))
    gv = subprocess.run(["glusterfs", "--version"], capture_output=True, text=True).stdout
    meta: dict[str, Any] = {
        "quick": args.quick, "repeats": sizes.repeats, "seq_bytes": sizes.seq_bytes,
        "rand_seconds": sizes.rand_seconds, "files": sizes.files, "workloads": workloads,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
        "cpus": os.cpu_count(), "kernel": platform.release(),
        "python": sys.version.split()[0], "source": source_state(),
        "glusterfs": (gv.splitlines() or ["glusterfs ?"])[0],
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "volumes": {g: GRAPHS[g].volume for g in graphs},
    }
    runs: list[dict[str, Any]] = []
    excerpts: dict[str, str] = {}
    env = Env(sizes=sizes)
    cpt = build_c_passthrough(base / "build") if any(GRAPHS[g].kind == "c" for g in graphs) \
        else None
    cluster = Cluster(base, relative_type(cpt) if cpt else "")
    log(f"work dir {base}; graphs {graphs}; workloads {workloads}; {sizes}")
    try:
        cluster.install_filters(graphs)
        t0 = time.monotonic()
        cluster.start()
        for g in graphs:
            cluster.create(g)
            cluster.check_bricks(g)
            vf = cluster.volfiles(g)
            client = vf.get(f"trusted-{GRAPHS[g].volume}.tcp-fuse.vol", "")
            if client:
                excerpts[g] = client_chain(client)
            log(f"volume {GRAPHS[g].volume} ({g}) ready")
        meta["setup_s"] = round(time.monotonic() - t0, 1)
        mnt, pid = cluster.mount("none")
        try:
            env.direct, meta["direct_io_note"] = fio_direct_probe(mnt)
        finally:
            cluster.unmount(mnt, pid)
        log(meta["direct_io_note"])
        n = 0
        for rep in range(sizes.repeats):
            env.rep = rep
            for wi, wl in enumerate(workloads):
                k = (rep + wi) % len(graphs)
                for pos, g in enumerate(graphs[k:] + graphs[:k]):
                    n += 1
                    rec: dict[str, Any] = {"rep": rep, "workload": wl, "graph": g,
                                           "position": pos, "seq": n}
                    runs.append(rec)
                    t1 = time.perf_counter()
                    mounted: tuple[Path, int | None] | None = None
                    try:
                        mounted = cluster.mount(g)
                        mnt, pid = mounted
                        d = mnt / f"bench-{n}"
                        d.mkdir()
                        rec["metrics"] = WORKLOADS[wl](d, env)
                        rec["rss_kb"] = rss_kb(pid)
                        brss = [r for r in (rss_kb(p) for p in cluster.brick_pids(g)) if r]
                        rec["brick_rss_kb"] = max(brss) if brss else None
                        shutil.rmtree(d)
                    except Exception as e:
                        rec["error"] = "".join(traceback.format_exception(e))
                        log(f"FAILED {wl} on {g}: {e}")
                    finally:
                        if mounted is not None:
                            cluster.unmount(*mounted)
                        rec["seconds"] = round(time.perf_counter() - t1, 2)
                    shown = ", ".join(f"{k}={v:.4g}" for k, v in rec.get("metrics", {}).items())
                    log(f"rep {rep + 1}/{sizes.repeats} {wl:5s} {g:21s} {rec['seconds']:6.1f}s "
                        f"{shown}{' ERROR' if 'error' in rec else ''}")
    except KeyboardInterrupt:
        log("interrupted: writing partial results")
        meta["interrupted"] = True
    except Exception:
        meta["error"] = traceback.format_exc()
        log(f"ERROR: {meta['error']}")
    finally:
        log("tearing down")
        try:
            cluster.stop()
        except Exception:
            meta["teardown_error"] = traceback.format_exc()
            log(f"teardown: {meta['teardown_error']}")
        cluster.remove_filters()
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
        meta["duration_s"] = round(time.time() - started, 1)
        meta["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        summary = analyse(runs, graphs, {g: GRAPHS[g].c_ref for g in graphs},
                          ("rss_kb", "brick_rss_kb"))
        result = {"meta": meta, "graphs": graphs, "summary": summary, "runs": runs,
                  "volfile_excerpts": excerpts}
        result["targets"] = targets(summary, graphs)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "replica_results.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "REPLICA_RESULTS.md").write_text(render_md(result))
        log(f"wrote {args.out / 'REPLICA_RESULTS.md'} and {args.out / 'replica_results.json'}")
    for t in result["targets"]:
        print(f"{t['status']:4s} {t['target']}: {t['shown']}")
    return 1 if meta.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
