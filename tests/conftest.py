"""Shared test configuration: the glupy pytest plugin (mount fixtures, logs on failure),
and the lock every test that runs glusterd or fills GlusterFS's global filter and user
xlator directories holds."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["glupy.testing", "pytester"]

GLUSTERD_LOCK = "/tmp/glupy-glusterd.lock"


def _flock_holders(inode: int) -> set[int]:
    """Pids holding a flock on ``inode`` (/proc/locks; waiters are marked '->')."""
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
            holders.add(int(parts[4]))
    return holders


def _ancestors() -> Iterator[int]:
    pid = os.getppid()
    while pid > 1:
        yield pid
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        pid = int(stat.rsplit(")", 1)[1].split()[1])


@pytest.fixture(scope="session")
def glusterd_lock() -> Iterator[None]:
    """Held for the session: one glusterd-using test run at a time on this machine
    (the filter directory and user/ links are global).  Already held by an ancestor
    (``flock /tmp/glupy-glusterd.lock pytest ...``): nothing to take."""
    with open(GLUSTERD_LOCK, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holders = _flock_holders(os.fstat(f.fileno()).st_ino)
            if not holders & set(_ancestors()):
                fcntl.flock(f, fcntl.LOCK_EX)
        yield
