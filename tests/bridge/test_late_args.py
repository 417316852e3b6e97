"""Argument views stay valid after a translator's coroutine first suspends.

GlusterFS callers free what they passed to a fop as soon as the fop call returns,
which for a glupy translator is right after its coroutine's first suspension:
io-threads and write-behind destroy their call stubs (loc, fd, iatt, xdata, the
written iobufs), md-cache and utime unref the xdata they made.  A translator may still
read its arguments after a wind, and wind the caller's xdata down (crypt does both).

FUSE -> md-cache -> io-threads -> write-behind -> utime -> LateArgs (Python) -> posix,
with several FUSE reader threads and 8 client threads creating, writing, reading,
chmod-ing, touching, setting xattrs on and unlinking files.  LateArgs reads each
fop's arguments before and after a side wind and fails the fop (EIO) if they differ;
the test also checks every byte read back, that nothing failed or hung, and that the
glusterfs process is still alive.  The side winds wait on a glupy.Lock, so many tasks
outlive their fop's entry: the bridge must copy their argument views then (detach.c,
glupy_task_detach_args in task.c).  Without that copy the views read freed, recycled
memory: mismatches, EIO, a crash (ENOTCONN) or a hang (checked by making
glupy_task_detach_args release the views without copying: the glusterfs process died).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")
THREADS, FILES = 8, 60
JOIN_TIMEOUT = 120.0


def _graph(backend: Path) -> Graph:
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("lateargs", bridge_type(), {"module": "lateargs:LateArgs",
                                             "python-path": TRANSLATORS}, ["posix"]))
    g.add(Volume("utime", "features/utime", {}, ["lateargs"]))
    g.add(Volume("wb", "performance/write-behind", {}, ["utime"]))
    g.add(Volume("iot", "performance/io-threads", {"thread-count": "8"}, ["wb"]))
    g.add(Volume("mdc", "performance/md-cache", {"cache-xattrs": "on"}, ["iot"]))
    return g


def _work(mnt: Path, worker: int, errors: list[BaseException]) -> None:
    try:
        d = mnt / f"w{worker}"
        d.mkdir()
        for i in range(FILES):
            p = d / f"file-{i}-{'x' * (i % 40)}"
            data = os.urandom(1000 + 977 * i % 20000)
            with open(p, "wb") as f:
                f.write(data[:500])
                f.write(data[500:])
            os.chmod(p, 0o600 + i % 64)
            os.utime(p, ns=(i * 1_000_000_007, i * 2_000_000_011))
            os.setxattr(p, "user.note", f"{worker}:{i}".encode() * (1 + i % 7))
            st = p.stat()
            assert st.st_size == len(data) and st.st_mtime_ns == i * 2_000_000_011, p
            assert p.read_bytes() == data, p
            assert os.getxattr(p, "user.note") == f"{worker}:{i}".encode() * (1 + i % 7)
            if i % 3:
                p.unlink()
    except BaseException as e:  # handed to the main thread
        errors.append(e)


def test_arguments_read_after_a_wind_are_the_callers(tmp_path: Path) -> None:
    require_mount_privileges()
    backend, mnt, state = tmp_path / "b", tmp_path / "m", tmp_path / "s"
    backend.mkdir()
    mnt.mkdir()
    process.mount_graph(_graph(backend), mnt, source_dir=backend, state_dir=state,
                        extra_args=["--reader-thread-count=4"])
    try:
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_work, args=(mnt, w, errors), daemon=True)
                   for w in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN_TIMEOUT)
        assert not [t for t in threads if t.is_alive()], "a fop hung"
        assert not errors, errors[:3]
        report = json.loads(os.getxattr(mnt, "glupy.lateargs"))
        assert report["mismatches"] == [], report["mismatches"][:5]
        for fop in ("lookup", "create", "writev", "readv", "setattr", "setxattr", "unlink",
                    "getxattr"):
            assert report["checked"].get(fop, 0) >= THREADS, (fop, report["checked"])
    finally:
        process.unmount(mnt, state_dir=state)
