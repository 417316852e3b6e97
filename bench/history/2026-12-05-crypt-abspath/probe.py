"""Per-phase rate and syscalls per file (strace -c of the glusterfs process) for N
create/stat/unlink in one directory, as bench/benchlib.wl_meta does, on one graph of
bench/run.py.  Run from the repository root:

    python bench/history/2026-12-05-crypt-abspath/probe.py py-crypt 300 strace
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path.cwd() / "bench"))
import run
from benchlib import drop_caches

SYSCALLS = {"readlinkat", "newfstatat", "lstat", "stat", "fstat", "openat", "lgetxattr",
            "fgetxattr", "getxattr", "lsetxattr", "fsetxattr", "unlinkat", "linkat", "mkdirat",
            "statx", "readlink"}


def main() -> None:
    graph_name, n, use_strace = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "strace"
    base = Path(tempfile.mkdtemp(prefix="cp-probe-"))
    ctx = run.Ctx(base=base)
    ctx.glupy_type = run.volfile.bridge_type()
    ctx.python_path = f"{run.REPO}:{run.PY_TRANSLATORS}"
    key = base / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    ctx.key_file = str(key)
    src, mp = base / "src", base / "mnt"
    src.mkdir()
    mp.mkdir()
    graph = run.GRAPHS[graph_name].build(ctx, str(src))
    with run.Mounted(graph, mp, src, base / "state") as m:

        def phase(label: str, fn: Callable[[], None]) -> None:
            out = base / f"strace-{label}.txt"
            tracer = None
            if use_strace:
                tracer = subprocess.Popen(["strace", "-c", "-f", "-o", str(out), "-p",
                                           str(m.pid)], stderr=subprocess.DEVNULL)
                time.sleep(1.0)
            t0 = time.perf_counter()
            fn()
            t = time.perf_counter() - t0
            if tracer is None:
                print(f"{graph_name} {label}: {n / t:.0f}/s, {t * 1e6 / n:.0f} us/op")
                return
            time.sleep(0.3)
            tracer.terminate()
            tracer.wait()
            counts = {}
            for line in out.read_text().splitlines()[2:]:
                f = line.split()
                if len(f) >= 5 and f[0][0].isdigit() and f[-1] in SYSCALLS:
                    counts[f[-1]] = int(f[3])
            print(f"{graph_name} {label}: {n / t:.0f}/s (under strace); per op: "
                  + ", ".join(f"{k} {v / n:.2f}"
                              for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))

        d = mp / "meta"
        os.mkdir(d)
        names = [str(d / f"f{i:06d}") for i in range(n)]

        def create() -> None:
            for p in names:
                fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                os.write(fd, b"g" * 4096)
                os.close(fd)

        def stat() -> None:
            for p in names:
                os.stat(p)

        def unlink() -> None:
            for p in names:
                os.unlink(p)

        phase("create", create)
        drop_caches(2)
        phase("stat", stat)
        phase("unlink", unlink)
        os.rmdir(d)


if __name__ == "__main__":
    main()
