#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into the .md)
"""The GIL, measured: a brick with io-threads serving concurrent clients through a
Python pass-through, against the same brick without Python and with a C pass-through.

    sudo .venv/bin/python bench/gil.py            # 3 repeats, 8 s per measurement (~5 min)
    sudo .venv/bin/python bench/gil.py --quick    # 1 repeat, 3 s (~1 min)

Each graph is one glusterfsd (glupy.local.brick, no glusterd) on a fresh directory::

    protocol/server -> performance/io-threads -> [translator] -> storage/posix

so the translator runs on io-threads' worker threads, several fops at once; a Python
translator's fops take turns on the GIL.  Graphs: none, C pass-through
(bench/c_passthrough), Python pass-through (glupy.library.passthrough:PassThrough,
every fop in Python), and a Python pass-through with ~60 µs of Python work per lookup
and readv (bench/translators/busy.py: where the GIL's ceiling shows).  Clients are
gfapi processes (bench/gfapi/gilclient.c, a C loop: protocol/client -> the brick over
TCP on 127.0.0.1), 1 and 4 at once, each on its own 1 MiB file, started together;
workloads ``stat`` (glfs_stat: a lookup per call) and ``read4k`` (glfs_pread of 4 KiB
at random offsets: a readv per call).

Measured per run: total throughput (calls/s, all clients), the brick process's CPU
time per call (utime + stime from /proc over the timed window), its CPU utilisation
(CPU seconds per wall second: how many cores it used), the clients' CPU per call.
Ratios are paired: each repeat divided by none / the C pass-through of the same
repeat.  The scaling column is 4-client throughput ÷ 1-client throughput of the same
graph and repeat: with the GIL, a Python graph scales less than none when the brick,
not the clients, is the bottleneck.  The bridge's own count of the fops that entered
Python (getxattr glupy.status, ``python_calls``) is recorded per Python brick.

Writes OUT/gil_results.json and OUT/GIL_RESULTS.md (OUT: bench/ by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    PY_TRANSLATORS,
    build_c_passthrough,
    check_names,
    log,
    relative_type,
    source_state,
    summarize,
)

from glupy.local import brick, volfile
from glupy.local.volfile import Graph, Volume

CLIENT_SRC = BENCH_DIR / "gfapi" / "gilclient.c"
GRAPHS = {
    "none": "protocol/server -> io-threads -> storage/posix",
    "c-passthrough": "C pass-through (bench/c_passthrough) under io-threads",
    "py-passthrough": "glupy.library.passthrough:PassThrough (every fop in Python) under io-threads",
    "py-busy": "bench/translators/busy.py: a Python pass-through that also runs ~60 µs of Python "
               "per lookup and readv (3000 loop iterations), under io-threads",
}
WORKLOADS = {"stat": "glfs_stat of an existing file (a lookup per call)",
             "read4k": "glfs_pread 4 KiB at random offsets (a readv per call)"}
PY_SPECS = {"py-passthrough": "glupy.library.passthrough:PassThrough", "py-busy": "busy:Busy"}
CLIENTS = (1, 4)
TICKS = os.sysconf("SC_CLK_TCK")


def build_tools(build: Path) -> dict[str, Path]:
    build.mkdir(parents=True, exist_ok=True)
    exe = build / "gilclient"
    cmd = [os.environ.get("CC", "cc"), "-O2", "-Wall", "-o", str(exe), str(CLIENT_SRC),
           "-lgfapi"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"building gilclient failed (needs libglusterfs-dev):\n{out.stderr}")
    return {"client": exe, "cpt": build_c_passthrough(build)}


def brick_graph(g: str, backend: Path, port: int, tools: dict[str, Path]) -> Graph:
    graph = Graph()
    below = graph.add(Volume("gil-posix", "storage/posix", {"directory": str(backend)}))
    if g == "c-passthrough":
        below = graph.add(Volume("gil-cpt", relative_type(tools["cpt"]), {}, [below.name]))
    elif g in PY_SPECS:
        below = graph.add(Volume("gil-py", volfile.bridge_type(),
                                 {"module": PY_SPECS[g], "python-path": str(PY_TRANSLATORS)},
                                 [below.name]))
    below = graph.add(Volume("gil-iot", "performance/io-threads", {}, [below.name]))
    graph.add(Volume("gil-server", "protocol/server", {
        "transport-type": "tcp", "transport.address-family": "inet",
        "transport.socket.bind-address": brick.HOST,
        "transport.socket.listen-port": str(port),
        f"auth.addr.{below.name}.allow": "*"}, [below.name]))
    graph.validate()
    return graph


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def run_clients(tools: dict[str, Path], vol: Path, base: Path, op: str, n: int,
                seconds: float, pid: int) -> dict[str, Any]:
    procs = []
    try:
        for i in range(n):
            procs.append(subprocess.Popen(
                [str(tools["client"]), str(vol), str(base / f"client-{i}.log"), op,
                 str(seconds), str(i)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True))
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"client not ready: {line!r} {p.stderr.read() if p.stderr else ''}")
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=seconds + 60)
            if p.returncode != 0:
                raise RuntimeError(f"client exited {p.returncode}: {err.strip()[-800:]}")
            outs.append(json.loads(out.strip().splitlines()[-1]))
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    ops = sum(o["ops"] for o in outs)
    rate = sum(o["ops"] / o["seconds"] for o in outs)
    return {"ops": ops, "ops_per_s": rate, "brick_cpu_us_per_op": cpu / ops * 1e6,
            "brick_cores": cpu / wall,
            "client_cpu_us_per_op": sum(o["cpu_s"] for o in outs) / ops * 1e6}


def python_status(tools: dict[str, Path], vol: Path, base: Path) -> dict[str, Any]:
    out = subprocess.run([str(tools["client"]), str(vol), str(base / "status.log"), "status",
                          "0", "0"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-400:]}
    status = json.loads(out.stdout)
    return {t["name"]: t.get("python_calls", {}) for t in status["translators"]}


def run_graph(g: str, rep: int, base: Path, tools: dict[str, Path], seconds: float,
              order: list[tuple[str, int]]) -> dict[str, Any]:
    work = base / f"{rep}-{g}"
    backend = work / "backend"
    backend.mkdir(parents=True)
    for attempt in range(3):
        graph = brick_graph(g, backend, brick.free_port(), tools)
        try:
            state = brick.start_brick(graph, work / "state", backend_dir=backend)
            break
        except brick.BrickError:
            if attempt == 2:
                raise
    rec: dict[str, Any] = {"results": {}}
    try:
        assert state.pid is not None
        vol = work / "client.vol"
        vol.write_text(brick.client_graph(state.port, brick.exported_volume(graph)).render())
        before = python_status(tools, vol, work) if g.startswith("py") else None
        for op, n in order:
            r = run_clients(tools, vol, work, op, n, seconds, state.pid)
            rec["results"][f"{op}/{n}"] = r
            log(f"rep {rep + 1} {g:15s} {op:7s} x{n}: {r['ops_per_s']:9.0f} calls/s, brick "
                f"{r['brick_cpu_us_per_op']:6.1f} CPU µs/call, {r['brick_cores']:.2f} cores")
        if before is not None:
            after = python_status(tools, vol, work)
            rec["python_calls"] = {"before": before, "after": after}
    finally:
        brick.stop_brick(state)
        shutil.rmtree(backend, ignore_errors=True)
    return rec


# =========================================================================== analysis

METRICS = ("ops_per_s", "brick_cpu_us_per_op", "brick_cores", "client_cpu_us_per_op")


def analyse(runs: list[dict[str, Any]], graphs: list[str]) -> dict[str, Any]:
    by = {(r["rep"], r["graph"]): r["results"] for r in runs if "results" in r}
    out: dict[str, Any] = {}
    for key in (f"{op}/{n}" for op in WORKLOADS for n in CLIENTS):
        per: dict[str, Any] = {}
        for g in graphs:
            reps = [rep for (rep, gg) in by if gg == g and key in by[(rep, gg)]]
            if not reps:
                continue
            e: dict[str, Any] = {m: summarize([by[(r, g)][key][m] for r in reps]) for m in METRICS}
            for ref in ("none", "c-passthrough"):
                pairs = [(by[(r, g)][key], by[(r, ref)][key]) for r in reps
                         if key in by.get((r, ref), {})]
                e[f"ops_x_{ref}"] = summarize([a["ops_per_s"] / b["ops_per_s"] for a, b in pairs])
                e[f"cpu_added_us_vs_{ref}"] = summarize(
                    [a["brick_cpu_us_per_op"] - b["brick_cpu_us_per_op"] for a, b in pairs])
            op, n = key.split("/")
            if n != "1":
                one = [(by[(r, g)][key], by[(r, g)].get(f"{op}/1")) for r in reps]
                e["scaling_vs_1_client"] = summarize(
                    [a["ops_per_s"] / b["ops_per_s"] for a, b in one if b])
            per[g] = e
        out[key] = per
    return out


def _s(s: dict[str, float] | None, f: str = "{:.2f}") -> str:
    if not s:
        return "–"
    if s["n"] == 1:
        return f.format(s["median"])
    return f"{f.format(s['median'])} ({f.format(s['min'])}–{f.format(s['max'])})"


def render(result: dict[str, Any]) -> str:
    meta, summary, graphs = result["meta"], result["summary"], result["graphs"]
    lines = [
        "# The GIL, measured: a brick with io-threads and concurrent clients (bench/gil.py)",
        "",
        f"Generated by `bench/gil.py{' --quick' if meta['quick'] else ''}` on {meta['date']} "
        f"({meta['host']}, {meta['cpus']} CPUs, load average before {meta['loadavg_before']}, "
        f"after {meta.get('loadavg_after', '?')}; glupy {meta['source']}; Python "
        f"{meta['python']}). {meta['repeats']} repeat(s), {meta['seconds']:g} s per "
        "measurement; a fresh glusterfsd per (repeat, graph), graphs in rotating order.",
        "",
        "Brick: `protocol/server -> performance/io-threads -> [translator] -> storage/posix`"
        " (glusterfsd without glusterd); clients: gfapi processes running a C loop "
        "(`bench/gfapi/gilclient.c`, protocol/client over TCP on 127.0.0.1), each on its "
        "own file, started together. Values: median (min–max) over repeats; ratios paired "
        "with the reference of the same repeat. Brick CPU: utime + stime of the glusterfsd "
        "process over the timed window; cores = brick CPU seconds per wall second.",
        "",
        "Graphs: " + "; ".join(f"`{g}`: {GRAPHS[g]}" for g in graphs) + ".",
        "",
    ]
    for op, label in WORKLOADS.items():
        for n in CLIENTS:
            per = summary.get(f"{op}/{n}", {})
            if not per:
                continue
            lines += [f"## {label}, {n} client{'s' if n > 1 else ''}", "",
                      "| graph | calls/s | × none | × C pass-through | scaling 4 ÷ 1 client | "
                      "brick CPU µs per call | added vs none | added vs C | brick cores | "
                      "client CPU µs per call |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for g in graphs:
                e = per.get(g)
                if not e:
                    continue
                lines.append(
                    f"| {g} | {_s(e['ops_per_s'], '{:,.0f}')} | {_s(e['ops_x_none'])} | "
                    f"{_s(e['ops_x_c-passthrough'])} | {_s(e.get('scaling_vs_1_client'))} | "
                    f"{_s(e['brick_cpu_us_per_op'], '{:.1f}')} | "
                    f"{_s(e['cpu_added_us_vs_none'], '{:+.1f}')} | "
                    f"{_s(e['cpu_added_us_vs_c-passthrough'], '{:+.1f}')} | "
                    f"{_s(e['brick_cores'])} | {_s(e['client_cpu_us_per_op'], '{:.1f}')} |")
            lines.append("")
    counted = [r for r in result["runs"] if r.get("python_calls")]
    if counted:
        r = counted[-1]
        after = next(iter(r["python_calls"]["after"].values()), {})
        before = next(iter(r["python_calls"]["before"].values()), {})
        delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
        lines += ["Fops that entered Python in the last Python brick (glupy status "
                  "`python_calls`, during the measurements): "
                  + ", ".join(f"{k} {v:,}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1]))
                  + ".", ""]
    errors = [r for r in result["runs"] if r.get("error")]
    if errors:
        lines.append("Errors: " + "; ".join(f"rep {r['rep'] + 1} {r['graph']}: "
                                            f"{r['error'].strip().splitlines()[-1]}" for r in errors))
        lines.append("")
    lines.append("Raw values: `bench/gil_results.json`.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, 3 s per measurement")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--graphs", help="comma-separated subset of: " + ", ".join(GRAPHS))
    ap.add_argument("--out", type=Path, default=BENCH_DIR)
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args(argv)
    if args.render_only:
        result = json.loads((args.out / "gil_results.json").read_text())
        (args.out / "GIL_RESULTS.md").write_text(render(result))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("run as root (glusterfsd, storage/posix's trusted.* xattrs)")
    repeats = args.repeats or (1 if args.quick else 3)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    graphs = args.graphs.split(",") if args.graphs else list(GRAPHS)
    check_names("graph", graphs, GRAPHS)
    meta: dict[str, Any] = {
        "quick": args.quick, "repeats": repeats, "seconds": seconds,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
        "cpus": os.cpu_count(), "python": sys.version.split()[0], "source": source_state(),
        "loadavg_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    base = Path(tempfile.mkdtemp(prefix="glupy-gil-", dir="/var/tmp"))
    runs: list[dict[str, Any]] = []
    started = time.time()
    try:
        tools = build_tools(base / "build")
        order = [(op, n) for op in WORKLOADS for n in CLIENTS]
        for rep in range(repeats):
            k = rep % len(graphs)
            for g in graphs[k:] + graphs[:k]:
                rec: dict[str, Any] = {"rep": rep, "graph": g}
                runs.append(rec)
                try:
                    rec.update(run_graph(g, rep, base, tools, seconds, order))
                except Exception as e:
                    rec["error"] = "".join(traceback.format_exception_only(e))
                    log(f"FAILED {g}: {e}")
    except KeyboardInterrupt:
        log("interrupted: writing partial results")
        meta["interrupted"] = True
    finally:
        meta["duration_s"] = round(time.time() - started, 1)
        meta["loadavg_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        result = {"meta": meta, "graphs": graphs, "runs": runs,
                  "summary": analyse(runs, graphs)}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gil_results.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "GIL_RESULTS.md").write_text(render(result))
        log(f"wrote {args.out / 'GIL_RESULTS.md'}")
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
