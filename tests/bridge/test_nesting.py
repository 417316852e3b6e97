"""The nesting trampoline (GLUPY_MAX_NESTING, glupy/_bridge/src/glupy.h).

A child that replies in the caller's thread (posix answers stat there) runs the
translator's next step inside the wind that asked: one C call deeper per wind,
both for a reply resumed in place inside the task's step and for a wind issued
as the tail of the previous callback.  Each is bounded by GLUPY_MAX_NESTING;
past it, a reply is detached and left for the level below, which loops, so a
translator winding thousands of times in a row does not overflow the thread's
stack (it did: the tail winds were not counted, and 3,000 stats in a row
killed the glusterfs process).  Through FUSE -> Python -> posix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from glupy._build import codegen
from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")
ROUNDS = 3000  # killed glusterfs before the tail winds were counted (200 did not)


def _max_nesting() -> int:
    header = (codegen.SOURCE_DIR / "glupy.h").read_text()
    m = re.search(r"#define GLUPY_MAX_NESTING (\d+)", header)
    assert m
    return int(m.group(1))


@pytest.fixture
def mnt(tmp_path):
    require_mount_privileges()
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("nesting", bridge_type(), {"module": "nesting:Nesting", "python-path": TRANSLATORS,
                                            "rounds": str(ROUNDS)}, ["posix"]))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "s")
    try:
        (mnt / "f").write_bytes(b"")
        yield mnt
    finally:
        process.unmount(mnt)


def test_glupy_max_nesting_bounds_the_stack_of_synchronous_replies(mnt):
    limit = _max_nesting()
    value = os.getxattr(mnt / "f", "user.nesting").decode()
    detached = [int(i) for i in value.split(",") if i]
    assert detached, "no reply was ever deferred: the stack grew by one level per wind"
    # tail winds up to the limit, then replies resumed in place up to the limit ...
    assert limit <= detached[0] <= 2 * limit
    # ... then every reply is left to the loop at that depth: no deeper
    assert detached == list(range(detached[0], ROUNDS))
