"""A reply that points into a copied argument (features/locks answers lk with the
flock it was given), unwound after the callback dropped the wind's arguments: what
the views owned is released after that unwind (detach.c glupy_tail_take_releases),
not with them.

Brick graph protocol/server -> Gate (Python) -> features/locks -> posix.  The first lk
parks on the translator's glupy.Lock until a getxattr releases it, so its task outlives
its entry; the next lks of the instance then copy their arguments when they first
suspend (task.c done_in_entry), wind the copies as the entry's tail, and features/locks
answers inside that wind with the copied flock.  With the copy freed before the unwind,
protocol/server read a freed lock ("Unknown lock type", the lock calls failed);
MALLOC_PERTURB_ makes freed memory read as garbage."""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from pathlib import Path

TRANSLATORS = str(Path(__file__).parent / "translators")


def test_lock_replies_that_point_into_copied_arguments_unwind_intact(glupy_brick_mount,
                                                                      monkeypatch):
    monkeypatch.setenv("MALLOC_PERTURB_", "165")  # for glusterfsd
    m = glupy_brick_mount([("gate:Gate", {})], python_path=[TRANSLATORS])
    f = m.mountpoint / "locked"
    f.write_bytes(b"x" * 100)
    fd = os.open(f, os.O_RDWR)
    try:
        for i in range(10):
            _park_one_lk(f, fd)
            # the lk right after one that outlived its entry copies its flock; F_GETLK's
            # reply is that flock, which protocol/server reads after the unwind
            probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, i, 1, 0)
            got = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))
            assert got[0] == fcntl.F_UNLCK, (i, got)
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, 50)
    finally:
        os.close(fd)


def _park_one_lk(f: Path, fd: int) -> None:
    """A lk that parks on the gate until a getxattr opens it: its task outlives its entry."""
    os.getxattr(f, "user.close-gate")
    errors: list[BaseException] = []

    def parked() -> None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 50)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=parked)
    t.start()
    deadline = time.monotonic() + 10
    while os.getxattr(f, "user.waiters") != b"1":
        assert time.monotonic() < deadline, "the lk never parked on the gate"
        time.sleep(0.02)
    os.getxattr(f, "user.open-gate")
    t.join(10)
    assert not t.is_alive() and not errors, errors
