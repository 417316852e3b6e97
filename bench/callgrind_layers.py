#!/usr/bin/env python3
# ruff: noqa: RUF001  (multiplication signs and en dashes are meant: they go into the .md)
"""Instructions per Python-handled fop, by layer (callgrind).

    sudo .venv/bin/python bench/callgrind_layers.py              # N = 1000 and 3000 (~6 min)
    sudo .venv/bin/python bench/callgrind_layers.py --n 300,900  # quicker, less exact

Each graph is a single-process FUSE mount (``glusterfs -N -f``: ``fuse -> [translator]
-> storage/posix`` over a fresh directory) run under ``valgrind --tool=callgrind``:
mount, N ``os.stat`` of missing names (a new name each), unmount; at two values of N.
Instruction counts do not depend on the machine's load, so they compare where wall or
CPU time cannot.  Per call: (count at N2 - count at N1) / (N2 - N1), for the process
and for each function, so start-up and shutdown cancel out (PYTHONHASHSEED=0 makes
the interpreter's start-up the same in both runs).

Graphs: none (plain posix), C pass-through (bench/c_passthrough), Python pass-through
(glupy.library.passthrough:PassThrough).  The fops that entered Python are counted
by the bridge (glupy status ``python_calls``, read with a getxattr before unmounting),
so the Python graph's added cost is divided by what actually entered Python (--op rw:
readv and writev; --op files: create, writev, flush, lookup, unlink ...).

A Python fop's path is split into layers by the bridge's own C functions
(LAYER_FUNCTIONS, and FOP_LAYERS for every fop's own; named here for lookup):
C entry (``glupy_c_lookup``: GIL, argument views), driver / task
(``glupy_start``, ``glupy_run``, ``glupy_reply`` ...), wind (``glupy_wind_lookup``,
``glupy_do_wind_lookup``: the STACK_WIND with its new frame), unwind
(``glupy_c_lookup_cbk``, ``glupy_unwind_reply_lookup``, ``glupy_unwind_lookup``,
``glupy_tail_run``).  A layer is its functions' own instructions plus the inclusive cost
of the calls they make to anything else (libc, libglusterfs, the interpreter's
object allocation ...), except: calls into other translators (the child's lookup,
FUSE's callback, where the second lookup of a stat nests) are left out; calls that
enter the interpreter to run the translator's code (``PyIter_Send``, the method call
that makes the coroutine) are the **Python method** layer (``async def lookup``,
``Child.lookup``, the await); GIL take/release calls are their own line.  What the
Python graph adds outside these (GlusterFS's code around one more translator, other
threads) is the difference with the layers' sum.

Writes OUT/callgrind_results.json and OUT/CALLGRIND_RESULTS.md (OUT: bench/).
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    PY_TRANSLATORS,
    REPO,
    Env,
    Sizes,
    build_c_passthrough,
    log,
    relative_type,
    source_state,
    wl_meta,
)

from glupy.local import volfile
from glupy.local.volfile import Graph, Volume
from glupy.runtime.procstatus import STATUS_XATTR

# --op missing: a new missing name per stat; --op repeated: 100 missing names in turn
MISSING_NAMES = {"missing": lambda i: f"missing-{i}", "repeated": lambda i: f"missing-{i % 100}"}

GRAPHS = {
    "none": "fuse -> storage/posix",
    "c-passthrough": "C pass-through (bench/c_passthrough)",
    "py-passthrough": "glupy.library.passthrough:PassThrough (every fop in Python)",
    "py-lookup-only": "bench/translators/lookup_only.py (only lookup in Python)",
    "py-handing-off": "bench/translators/handing_off.py (lookup, readv, writev in Python, "
                      "each handed off: the bridge's floor)",
    "py-handoff": "PassThrough with hand-off on (every fop in Python, handed off to the "
                  "child: its reply goes up in C)",
    "py-negative-lookup": "glupy.library.negative_lookup:NegativeLookup",
    "py-audit": "glupy.library.audit:Audit (records in C, a Python thread writes them)",
    "nl-cache": "C performance/nl-cache",
}
PY_SPECS = {"py-passthrough": "glupy.library.passthrough:PassThrough",
            "py-handoff": "glupy.library.passthrough:PassThrough",
            "py-lookup-only": "lookup_only:LookupOnly",
            "py-handing-off": "handing_off:HandingOff",
            "py-negative-lookup": "glupy.library.negative_lookup:NegativeLookup",
            "py-audit": "glupy.library.audit:Audit"}
PY_OPTIONS = {"py-handoff": {"hand-off": "on"}}  # volfile options of a graph's translator


# =========================================================================== running


def graph_for(g: str, backend: Path, cpt: Path) -> Graph:
    graph = Graph()
    below = graph.add(Volume("cg-posix", "storage/posix", {"directory": str(backend)}))
    if g == "c-passthrough":
        graph.add(Volume("cg-cpt", relative_type(cpt), {}, [below.name]))
    elif g == "nl-cache":
        graph.add(Volume("cg-nlc", "performance/nl-cache", {}, [below.name]))
    elif g in PY_SPECS:
        options = {"module": PY_SPECS[g], "python-path": str(PY_TRANSLATORS)}
        if g == "py-audit":
            options["log-file"] = str(backend.parent / f"{backend.name}.audit.jsonl")
        options.update(PY_OPTIONS.get(g, {}))
        graph.add(Volume("cg-py", volfile.bridge_type(), options, [below.name]))
    graph.validate()
    return graph


def fuse_mounted(mp: Path) -> bool:
    with open("/proc/mounts") as f:
        return any(line.split()[1] == str(mp) and line.split()[2].startswith("fuse")
                   for line in f)


OPS = {"missing": "`os.stat` of a missing name (a new name each)",
       "getxattr": "`os.getxattr` of an ordinary key (user.bench) of the mount's root",
       "files": "per file: create and write 4 KiB, close; then (dentries dropped) stat; "
                "then unlink (bench/run.py's meta workload)",
       "repeated": "`os.stat` of one of 100 missing names, in turn (run.py's repeated misses)",
       "rw": "4 KiB O_DIRECT `os.preadv`/`os.pwritev` at random offsets of a 16 MiB file, "
             "in turn (run.py's 4 KiB random read/write)"}
RW_FILE_BYTES, RW_BLOCK = 16 << 20, 4096


def _rw_loop(mp: Path, n: int) -> None:
    """n 4 KiB O_DIRECT reads and writes, alternating, at random aligned offsets."""
    import mmap
    import random
    path = mp / "rw.dat"
    with open(path, "wb") as f:
        f.truncate(RW_FILE_BYTES)
    buf = mmap.mmap(-1, RW_BLOCK)  # page-aligned, as O_DIRECT needs
    buf.write(b"g" * RW_BLOCK)
    rnd = random.Random(1)
    fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    try:
        for i in range(n):
            off = rnd.randrange(RW_FILE_BYTES // RW_BLOCK) * RW_BLOCK
            if i % 2:
                os.pwritev(fd, [buf], off)
            else:
                os.preadv(fd, [buf], off)
    finally:
        os.close(fd)


def run_one(g: str, n: int, work: Path, cpt: Path, op: str = "missing") -> dict[str, Any]:
    """Mount g under callgrind, n calls of op, unmount; the parsed profile."""
    tag = f"{g}-{op}-{n}"
    backend, mp = work / f"backend-{tag}", work / f"mnt-{tag}"
    backend.mkdir()
    mp.mkdir()
    vol = work / f"{tag}.vol"
    vol.write_text(graph_for(g, backend, cpt).render())
    out = work / f"callgrind.{tag}.out"
    cmd = ["env", "PYTHONHASHSEED=0",  # the same dict probes in every run: start-up cancels
           "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           "--dump-line=no", "--compress-pos=no", "glusterfs", "-N", f"--volfile={vol}",
           f"--log-file={work / (tag + '.log')}", str(mp)]
    with open(work / f"{tag}.vg", "w") as vg_log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=vg_log,
                                start_new_session=True)
    python_calls: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 300
        while not fuse_mounted(mp):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{tag}: glusterfs under callgrind did not mount "
                                   f"(see {work / (tag + '.log')})")
            time.sleep(0.5)
        while True:  # the first fops wait for the graph to come up
            try:
                os.stat(mp)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        if op == "getxattr":
            os.setxattr(backend, "user.bench", b"yes")
            for _ in range(n):
                os.getxattr(mp, "user.bench")
        if op == "files":  # run.py's meta workload itself, with n files
            wl_meta(mp, Env(dataclasses.replace(Sizes.quick(), files=n)))
        if op == "rw":
            _rw_loop(mp, n)
        if op in MISSING_NAMES:
            for i in range(n):
                name = MISSING_NAMES[op](i)
                try:
                    os.stat(mp / name)
                    raise RuntimeError(f"{name} exists")
                except FileNotFoundError:
                    pass
        if g.startswith("py"):
            status = json.loads(os.getxattr(mp, STATUS_XATTR))
            python_calls = status["translators"][0].get("python_calls", {})
    finally:
        subprocess.run(["umount", str(mp)], capture_output=True)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=60)
    profile = parse_callgrind(out)
    profile["python_calls"] = python_calls
    return profile


# =========================================================================== parsing

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")
# GCC's clones (foo.lto_priv.0, foo.constprop.0 ...) and callgrind's recursion levels
# (foo'2) are the same function
_CLONE = re.compile(r"(\.(lto_priv|constprop|isra|part|cold)\.\d+)+|'\d+$")


def _plain(fn: str) -> str:
    return _CLONE.sub("", fn)


def parse_callgrind(path: Path) -> dict[str, Any]:
    """Total Ir, and per function (by name): self Ir and inclusive Ir per callee edge."""
    names: dict[str, dict[str, str]] = defaultdict(dict)  # kind -> id -> name

    def name(kind: str, text: str) -> str:
        m = _NAME.match(text)
        if not m:
            return text
        ident, value = m.groups()
        if value is not None:
            names[kind][ident] = value
        return names[kind].get(ident, text)

    self_ir: dict[str, int] = defaultdict(int)
    edges: dict[tuple[str, str], int] = defaultdict(int)
    obj_of: dict[str, str] = {}
    fn = ob = cfn = ""
    cob: str | None = None  # the next call's object, when it is not the caller's
    pending_call = False
    total = 0
    with open(path) as f:
        for line in f:
            if line[0].isdigit() or line[0] in "+-*":
                ir = int(line.split()[-1]) if len(line.split()) > 1 else 0
                if pending_call:
                    edges[(fn, cfn)] += ir
                    pending_call = False
                else:
                    self_ir[fn] += ir
                    total += ir
                continue
            key, _, value = line.rstrip("\n").partition("=")
            if key == "ob":
                ob = name("ob", value)
            elif key == "fn":
                fn = _plain(name("fn", value))
                obj_of.setdefault(fn, ob)
            elif key == "cob":
                cob = name("ob", value)
            elif key == "cfn":
                cfn = _plain(name("fn", value))
                obj_of.setdefault(cfn, cob if cob is not None else ob)
            elif key == "calls":
                pending_call = True
                cob = None
            elif key == "summary" or key == "totals":
                total = int(value.split()[0])
    return {"total": total, "self": dict(self_ir),
            "edges": {f"{a} -> {b}": v for (a, b), v in edges.items()},
            "objects": obj_of}


# =========================================================================== analysis


def _per_call(p1: dict[str, Any], p2: dict[str, Any], dn: int) -> dict[str, Any]:
    def diff(a: dict[str, int], b: dict[str, int]) -> dict[str, float]:
        return {k: (b.get(k, 0) - a.get(k, 0)) / dn for k in set(a) | set(b)}
    return {"total": (p2["total"] - p1["total"]) / dn, "self": diff(p1["self"], p2["self"]),
            "edges": diff(p1["edges"], p2["edges"]), "objects": {**p1["objects"], **p2["objects"]}}


# The bridge's C functions on a fop's path, by layer (static ones may be inlined: then
# their cost is their caller's).  Every other glupy function runs inside the
# interpreter (Child.lookup, the await iterator, reply fields) and is counted there.
# The per-fop functions of every fop (glupy_c_F, glupy_wind_F ...) are in FOP_LAYERS.
LAYER_FUNCTIONS = {
    "C entry": ("glupy_view", "glupy_str", "glupy_vector", "glupy_enter_thread_first",
                "glupy_attr_cache_lookup"),
    "driver / task": ("glupy_start", "glupy_run", "glupy_step", "glupy_issue", "glupy_deliver",
                      "glupy_reply", "glupy_finish", "glupy_finish_part", "glupy_task_new",
                      "glupy_task_unref", "glupy_task_done", "glupy_collect", "glupy_clean_raw",
                      "glupy_tail_set", "glupy_unwind_raw", "glupy_crash", "glupy_fail",
                      "glupy_finish_unhandled", "glupy_handler_covers", "glupy_detach"),
    "wind": ("glupy_arg_view", "glupy_arg_other", "glupy_arg_str", "glupy_arg_vector",
             "glupy_arg_int", "glupy_arg_uint", "glupy_tail_wind", "glupy_wind_target",
             "glupy_hand_off", "glupy_args_in_caller_memory"),
    "unwind": ("glupy_raw_new", "glupy_tail_run", "glupy_unwind_error",
               "glupy_unwind_strerror"),
}
FOP_LAYERS = {"C entry": ("glupy_c_{}",),
              "wind": ("glupy_wind_{}", "glupy_do_wind_{}", "glupy_do_hand_off_{}"),
              "unwind": ("glupy_c_{}_cbk", "glupy_unwind_reply_{}", "glupy_unwind_{}",
                         "glupy_c_{}_passed")}


def _layer_of() -> dict[str, str]:
    from glupy.fops import FOP_NAMES
    out = {f: layer for layer, fns in LAYER_FUNCTIONS.items() for f in fns}
    for layer, patterns in FOP_LAYERS.items():
        out.update((p.format(fop), layer) for p in patterns for fop in FOP_NAMES)
    return out


# where the driver enters the interpreter to run the translator's code
INTERPRETER_ENTRIES = frozenset({
    "PyIter_Send", "PyObject_Vectorcall", "_PyObject_Vectorcall", "method_vectorcall",
    "_PyFunction_Vectorcall", "_PyObject_MakeTpCall", "PyObject_CallOneArg",
    "PyObject_CallMethodOneArg", "PyObject_VectorcallMethod", "PyObject_Call",
    "_PyObject_Call", "PyObject_CallNoArgs"})
GIL_FUNCTIONS = frozenset({"PyEval_RestoreThread", "PyEval_SaveThread", "take_gil",
                           "drop_gil", "PyGILState_Ensure", "PyGILState_Release"})


def layers(d: dict[str, Any]) -> dict[str, float]:
    """Per call, the instructions of the Python fops' path by layer: each listed
    function's own instructions plus its calls outside the listed functions (their
    inclusive cost), except calls into other translators (the child's lookup, FUSE's
    callback: not the bridge's cost, and where the second lookup of a stat nests)."""
    return layer_parts(d)[0]


def layer_parts(d: dict[str, Any]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(instructions per layer, per layer: its parts, "own f" or "f -> callee")."""
    layer_of = _layer_of()
    out = {layer: 0.0 for layer in LAYER_FUNCTIONS}
    out["Python method"] = 0.0
    out["GIL take/release"] = 0.0
    parts: dict[str, dict[str, float]] = {k: defaultdict(float) for k in out}
    for f, v in d["self"].items():
        if f in layer_of:
            out[layer_of[f]] += v
            parts[layer_of[f]][f"own {f}"] += v
    for k, v in d["edges"].items():
        caller, _, callee = k.partition(" -> ")
        if caller not in layer_of or callee in layer_of:
            continue
        if "/xlator/" in d["objects"].get(callee, ""):
            continue  # another translator: the child's fop, FUSE's callback
        layer = ("Python method" if callee in INTERPRETER_ENTRIES else
                 "GIL take/release" if callee in GIL_FUNCTIONS else layer_of[caller])
        out[layer] += v
        parts[layer][k] += v
    out["all layers"] = sum(out.values())
    return out, {k: dict(v) for k, v in parts.items()}


def by_object(d: dict[str, Any]) -> dict[str, float]:
    """Self instructions per call by shared object (basename)."""
    out: dict[str, float] = defaultdict(float)
    for f, v in d["self"].items():
        out[d["objects"].get(f, "?").rsplit("/", 1)[-1]] += v
    return out


def analyse(profiles: dict[str, dict[int, dict[str, Any]]], n1: int, n2: int) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for g, by_n in profiles.items():
        if n1 not in by_n or n2 not in by_n:
            continue
        d = _per_call(by_n[n1], by_n[n2], n2 - n1)
        e: dict[str, Any] = {"ir_per_call": d["total"]}
        pf1, pf2 = by_n[n1].get("python_calls", {}), by_n[n2].get("python_calls", {})
        if pf2:
            by_fop = {f: (pf2.get(f, 0) - pf1.get(f, 0)) / (n2 - n1) for f in pf2}
            e["python_calls_per_call"] = {f: v for f, v in by_fop.items() if v}
            e["python_fops_per_call"] = sum(by_fop.values())
        if e.get("python_fops_per_call", 0) >= 0.5:  # the layers are the Python fops'
            e["layers_per_call"], e["layer_parts_per_call"] = layer_parts(d)
        e["self_by_object_per_call"] = dict(sorted(by_object(d).items(), key=lambda kv: -kv[1]))
        e["self_per_call"] = {f: v for f, v in d["self"].items() if abs(v) >= 20}
        per[g] = e
    none = per.get("none", {}).get("ir_per_call")
    cpt = per.get("c-passthrough", {}).get("ir_per_call")
    for e in per.values():
        if none is not None:
            e["added_per_call_vs_none"] = e["ir_per_call"] - none
            lk = e.get("python_fops_per_call", 0) >= 0.5 and e["python_fops_per_call"]
            if lk and cpt is not None:
                e["added_per_python_fop_vs_c"] = (e["ir_per_call"] - cpt) / lk
            if lk:
                e["added_per_python_fop_vs_none"] = e["added_per_call_vs_none"] / lk
                e["layers_per_python_fop"] = {k: v / lk
                                              for k, v in e["layers_per_call"].items()}
                e["layer_parts_per_python_fop"] = {
                    layer: {k: v / lk for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}
                    for layer, parts in e["layer_parts_per_call"].items()}
    return per


def render(result: dict[str, Any]) -> str:
    meta, per = result["meta"], result["summary"]
    for e in per.values():  # results written before every Python fop was counted
        for k in [k for k in e if "python_lookup" in k]:
            new = k.replace("python_lookups", "python_fops").replace("python_lookup", "python_fop")
            e.setdefault(new, e[k])
    n1, n2 = meta["n"]
    lines = [
        "# Instructions per Python-handled fop, by layer (bench/callgrind_layers.py)",
        "",
        f"Generated on {meta['date']} ({meta['host']}; glupy {meta['source']}; Python "
        f"{meta['python']}; {meta['valgrind']}). Each graph is a single-process FUSE mount "
        f"(`glusterfs -N -f`) under callgrind: mount, N × {OPS[meta.get('op', 'missing')]}, "
        f"unmount, at N = {n1:,} and N = {n2:,}; per call = difference ÷ {n2 - n1:,}, so "
        "start-up and shutdown cancel. Instructions (Ir) of the whole glusterfs process, all "
        "threads.",
        "",
        "| graph | instructions per call | added vs none | Python fops per call (counted) "
        "| added per Python fop vs none | vs C pass-through |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for g, e in per.items():
        lk = e.get("python_fops_per_call")
        a, c = e.get("added_per_python_fop_vs_none"), e.get("added_per_python_fop_vs_c")
        lines.append(f"| {g} | {e['ir_per_call']:,.0f} | {e.get('added_per_call_vs_none', 0):+,.0f} | "
                     f"{'–' if lk is None else f'{lk:.2f}'} | {'–' if a is None else f'{a:+,.0f}'} | "
                     f"{'–' if c is None else f'{c:+,.0f}'} |")
    lines.append("")
    for g, e in per.items():
        lay = e.get("layers_per_python_fop")
        if not lay:
            continue
        lines += [f"## {g}: one Python fop by layer (instructions)", "",
                  "| layer | instructions | largest parts (own instructions, or a call's inclusive) |",
                  "|---|---:|---|"]
        parts = e.get("layer_parts_per_python_fop", {})
        for k, v in lay.items():
            top = ", ".join(f"`{p}` {x:,.0f}" for p, x in list(parts.get(k, {}).items())[:5])
            lines.append(f"| {k} | {v:,.0f} | {top} |")
        lines.append("")
        added = e.get("added_per_python_fop_vs_none")
        if added is not None:
            lines.append(f"Added per Python fop vs none: {added:+,.0f}; the layers account for "
                         f"{lay['all layers']:,.0f}; the rest ({added - lay['all layers']:+,.0f}) "
                         "is outside the bridge's path (GlusterFS's code around one more "
                         "translator, other threads).")
            lines.append("")
        lk = e.get("python_fops_per_call")
        ref = per.get("none")
        if lk and ref:
            mine, base = e["self_by_object_per_call"], ref["self_by_object_per_call"]
            diff = {o: (mine.get(o, 0) - base.get(o, 0)) / lk for o in set(mine) | set(base)}
            lines += [f"Where the added instructions run (own instructions by shared object, "
                      f"{g} − none, per Python fop): " + ", ".join(
                          f"{o} {v:+,.0f}" for o, v in sorted(diff.items(), key=lambda kv: -kv[1])
                          if abs(v) >= 50) + ".", ""]
            fmine, fbase = e["self_per_call"], ref["self_per_call"]
            fdiff = {f: (fmine.get(f, 0) - fbase.get(f, 0)) / lk for f in set(fmine) | set(fbase)}
            top = sorted(fdiff.items(), key=lambda kv: -kv[1])[:20]
            lines += ["The 20 functions that add the most (own instructions per Python fop): "
                      + ", ".join(f"`{f}` {v:+,.0f}" for f, v in top) + ".", ""]
    lines.append("Raw values: `bench/callgrind_results.json`.")
    earlier = sorted(n for n in (BENCH_DIR / "history").glob("*/NOTES.md")
                     if "callgrind_layers.py" in n.read_text())
    if earlier:
        lines += ["", "Before/after runs of changes measured with this script: "
                  + ", ".join(f"`{n.relative_to(BENCH_DIR.parent)}`" for n in earlier) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="1000,3000", help="the two numbers of calls (N1,N2)")
    ap.add_argument("--graphs", default=",".join(GRAPHS))
    ap.add_argument("--op", default="missing", choices=list(OPS),
                    help="the call repeated N times (default: missing-name stat)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR,
                    help="where the results go (--op getxattr: write elsewhere, the committed "
                         "results are the missing-name stat's)")
    ap.add_argument("--keep", action="store_true", help="keep the callgrind files")
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args(argv)
    if args.render_only:
        result = json.loads((args.out / "callgrind_results.json").read_text())
        (args.out / "CALLGRIND_RESULTS.md").write_text(render(result))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("run as root (FUSE mounts)")
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    n1, n2 = (int(x) for x in args.n.split(","))
    graphs = args.graphs.split(",")
    work = Path(tempfile.mkdtemp(prefix="glupy-callgrind-", dir="/var/tmp"))
    vg = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
            "source": source_state(), "python": sys.version.split()[0], "valgrind": vg,
            "n": [n1, n2], "graphs": graphs, "op": args.op}
    profiles: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    # the same start-up in every run: else the first Python graph's first run also
    # compiles what changed since (a fresh copy of the tree: all of glupy, ~90M Ir)
    for tree in (REPO / "glupy", PY_TRANSLATORS):
        compileall.compile_dir(tree, quiet=1)
    try:
        cpt = build_c_passthrough(work / "build")
        for g in graphs:
            for n in (n1, n2):
                t0 = time.monotonic()
                p = run_one(g, n, work, cpt, args.op)
                profiles[g][n] = p
                log(f"{g} N={n}: {p['total']:,} Ir ({time.monotonic() - t0:.0f} s) "
                    f"python_calls {p['python_calls']}")
    finally:
        summary = analyse(profiles, n1, n2)
        result = {"meta": meta, "summary": summary}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "callgrind_results.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "CALLGRIND_RESULTS.md").write_text(render(result))
        log(f"wrote {args.out / 'CALLGRIND_RESULTS.md'}")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
