"""GlusterFS code that a Python thread of the translator runs (threading, not a
GlusterFS thread): dropping the last reference of a detached fd view destroys the fd
there, and GlusterFS calls the translator's ``release`` cbk on that thread.  The
bridge adopts the thread's own Python thread state (task.c, glupy_enter_thread_first)
and leaves it as it found it, so Python goes on running on that thread."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_free_threaded_switch import FREE_THREADED_CPYTHON
from test_refs import wait_until

TRANSLATORS = str(Path(__file__).parent / "translators")


@pytest.fixture
def mnt(glupy_mount):
    return glupy_mount([("threadrelease:ThreadRelease", {})], [TRANSLATORS]).mountpoint


def _released(mnt: Path) -> list[str]:
    return json.loads(os.getxattr(mnt, "user.released"))


@pytest.mark.parametrize("how", ["user.drop", "user.drop-in-gc"])
def test_a_python_thread_that_drops_the_last_fd_reference_runs_on(mnt, how):
    for i in range(3):
        (mnt / f"f{i}").write_bytes(b"x")
        assert (mnt / f"f{i}").read_bytes() == b"x"  # an open; FUSE released its fd: ours remains
    assert _released(mnt) == []
    seen = json.loads(os.getxattr(mnt, how))
    assert seen == {"kept": 0, "after": [sum(len(str(i)) for i in range(1000))]}
    if how == "user.drop" and FREE_THREADED_CPYTHON:
        # a view that its maker thread still counts is freed when that thread next
        # runs Python (biased reference counting): FUSE's, asking user.released
        assert wait_until(lambda: len(_released(mnt)) == 3, 10, 0.2), _released(mnt)
    else:
        assert _released(mnt) == ["dropper"] * 3
    # the process still serves fops, and a second round works the same way
    (mnt / "g").write_bytes(b"y")
    assert (mnt / "g").read_bytes() == b"y"
    assert json.loads(os.getxattr(mnt, how))["kept"] == 0
    assert wait_until(lambda: len(_released(mnt)) == 4, 10, 0.2), _released(mnt)
