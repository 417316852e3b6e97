"""Views detached in C (glupy/_bridge/src/detach.c), through FUSE -> Python -> posix.

A fop's argument views point into memory the caller frees once the fop call returns;
then they take a reference or a copy, which they own and drop
when they are freed (glupy._core's view, core.h), but only when the task outlives
the fop's entry: a child that answers inside it needs no copy.  A child's reply kept
across another wind is detached the same way."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")


def _mount(tmp_path, threads: bool):
    require_mount_privileges()
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    below = g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    if threads:  # replies come back on io-threads' workers, after the entry returned
        below = g.add(Volume("iot", "performance/io-threads", {}, [below.name]))
    g.add(Volume("detaching", bridge_type(),
                 {"module": "detaching:Detaching", "python-path": TRANSLATORS}, [below.name]))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "s")
    (mnt / "f").write_bytes(b"data")
    return mnt


@pytest.fixture(params=[False, True], ids=["posix-in-the-entry", "io-threads"])
def mounted(request, tmp_path):
    mnt = _mount(tmp_path, request.param)
    try:
        yield mnt, request.param
    finally:
        process.unmount(mnt)


@pytest.mark.parametrize("call", ["first", "second"])
def test_views_own_a_copy_when_they_outlive_the_entry_and_free_it_with_the_view(mounted, call):
    """The first call of a fop leaves the arguments as they are until its entry
    ends; after one outlived its entry, the next ones are detached when they first
    suspend (task.c, done_in_entry): both ways end the same."""
    mnt, threads = mounted
    if call == "second":
        os.getxattr(mnt / "f", "user.detach")
    seen = json.loads(os.getxattr(mnt / "f", "user.detach"))
    assert seen["path"] == "/f"
    assert seen["owns_before"] is False  # a fop's argument, not yet detached
    # a loc detached: its own loc_t copy (another pointer, same path), which holds a
    # reference on the inode until the view is freed
    assert seen["extra"] == [True, True, "/f", 1]
    assert seen["ref_after_free"] == 0
    # an inode detached: a reference on the same inode, dropped with the view
    assert seen["inode"] == [True, True, 1]
    assert seen["inode_after_free"] == 0
    if threads:
        # the coroutine went on in a worker thread: the argument was detached in C
        # (its own loc_t, the same loc)
        assert seen["owns_after"] is True
        assert seen["copy"] == [True, "/f", True]
    else:
        # posix answered inside the entry: the caller's loc was valid throughout
        assert seen["owns_after"] is False
        assert seen["copy"] == [False, "/f", True]
    # a reply kept across another wind: its iatt copied, values unchanged
    assert seen["reply"] == [True, True, True]
