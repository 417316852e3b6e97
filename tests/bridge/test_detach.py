"""Views detached in C (glupy/_bridge/src/detach.c), through FUSE -> Python -> posix.

A fop's argument views point into memory the caller frees once the fop call returns;
when the coroutine suspends they take a reference or a copy, which they own and drop
when they are freed (glupy._core's view, core.h).  A child's reply kept across
another wind is detached the same way."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")


@pytest.fixture
def mnt(tmp_path):
    require_mount_privileges()
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("detaching", bridge_type(),
                 {"module": "detaching:Detaching", "python-path": TRANSLATORS}, ["posix"]))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "s")
    try:
        (mnt / "f").write_bytes(b"data")
        yield mnt
    finally:
        process.unmount(mnt)


def test_views_own_their_copy_once_the_coroutine_suspends_and_free_it_with_the_view(mnt):
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
    # the argument after the first suspension: detached in C, still the same loc
    assert seen["owns_after"] is True
    assert seen["copy"] == [True, "/f", True]
    # a reply kept across another wind: its iatt copied, values unchanged
    assert seen["reply"] == [True, True, True]
