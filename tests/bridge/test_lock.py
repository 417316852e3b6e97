"""glupy.Lock serialises read-modify-write across winds without blocking threads.

FUSE -> Counter (Python) -> io-threads -> posix, with the FUSE reader and io
threads in play: 8 client threads increment one xattr counter 40 times each
(a getxattr "user.incr" makes the translator wind getxattr then setxattr).
With the lock every increment survives; without it, increments are lost
(which shows the test can fail)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")
THREADS, EACH = 8, 40


def _mount(tmp_path: Path, locked: bool):
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("iot", "performance/io-threads", {"thread-count": "8"}, ["posix"]))
    g.add(Volume("counter", bridge_type(), {"module": "counter:Counter", "python-path": TRANSLATORS,
                                            "locked": "on" if locked else "off"}, ["iot"]))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "s",
                        extra_args=["--reader-thread-count=4"])
    return mnt


def _hammer(mnt: Path, name: str = "f") -> int:
    f = mnt / name
    f.write_bytes(b"")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(EACH):
                os.getxattr(f, "user.incr")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return int(os.getxattr(f, "user.counter"))


@pytest.mark.parametrize("locked", [True, False])
def test_lock_serialises_increments(tmp_path, locked):
    require_mount_privileges()
    mnt = _mount(tmp_path, locked)
    try:
        if locked:
            # fops really queued on the lock (parked, not blocking threads); on a loaded
            # machine the threads may happen not to overlap in one round, so up to three
            for i in range(3):
                assert _hammer(mnt, f"f{i}") == THREADS * EACH
                if int(os.getxattr(mnt, "user.max-waiters")) >= 1:
                    break
            assert int(os.getxattr(mnt, "user.max-waiters")) >= 1
        else:
            # the race is probabilistic: a few attempts must show a lost update
            counts = [_hammer(mnt, f"f{i}") for i in range(3)]
            assert min(counts) < THREADS * EACH, \
                f"no lost update without the lock in {counts}: the test proves nothing"
    finally:
        process.unmount(mnt, state_dir=tmp_path / "s")
