"""A child's failure, whatever code surrounds the ``await`` (tests/bridge/translators/
failpaths.py): the caller gets the right errno, ``except``/``finally``/``async with``
in the translator run as Python promises, and where nothing in the coroutine could
see the error it is not raised through the coroutine's frame at all (task.c,
glupy_finish_unhandled; counted by ``glupy status`` as failures_finished_in_c)."""

from __future__ import annotations

import errno
import json
import os
import sys
import sysconfig
from pathlib import Path

import pytest

from glupy.runtime import control

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
# CPython 3.11-3.13 (task.c glupy_finish_unhandled reads their frames): other versions,
# and free-threaded builds, which leave it out, raise every failure through the frame
FINISHED_IN_C = ((3, 11) <= sys.version_info[:2] <= (3, 13)
                 and not sysconfig.get_config_var("Py_GIL_DISABLED"))


def _stat_errno(path: Path) -> int:
    with pytest.raises(OSError) as e:
        os.stat(path)
    return e.value.errno


def _finished_in_c(pid: int) -> int:
    return control.request(pid, {"cmd": "status"})["failures_finished_in_c"]


def _counts(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, "user.failpaths"))


@pytest.fixture
def mounted(glupy_mount):
    return glupy_mount([("failpaths:FailPaths", {})], python_path=[TRANSLATORS])


def test_an_unhandled_failure_fails_the_fop_without_a_raise(mounted):
    before = _finished_in_c(mounted.pid)
    for i in range(20):
        assert _stat_errno(mounted.mountpoint / f"plain-{i}") == errno.ENOENT
    finished = _finished_in_c(mounted.pid) - before
    # two lookups per FUSE stat of a missing name (resolve, then lookup)
    assert finished >= 20 if FINISHED_IN_C else finished == 0
    assert "Traceback" not in mounted.log_path.read_text()


def test_handlers_around_the_await_still_see_the_failure(mounted):
    before = _finished_in_c(mounted.pid)
    for i in range(5):
        assert _stat_errno(mounted.mountpoint / f"caught-{i}") == errno.EACCES
        assert _stat_errno(mounted.mountpoint / f"finally-{i}") == errno.ENOENT
        assert _stat_errno(mounted.mountpoint / f"nested-{i}") == errno.ENOENT
        # a glupy.Lock held around the failing wind is released (__aexit__ ran):
        # the next lookups under the same lock do not wait forever
        assert _stat_errno(mounted.mountpoint / f"locked-{i}") == errno.ENOENT
    counts = _counts(mounted.mountpoint)
    assert counts["caught"] >= 5 and counts["finally"] >= 5
    # none of these may skip the frame: each has a handler or awaits a coroutine
    assert _finished_in_c(mounted.pid) == before


def test_a_handled_failure_then_an_unhandled_one(mounted):
    before = _finished_in_c(mounted.pid)
    for i in range(5):
        assert _stat_errno(mounted.mountpoint / f"twice-{i}") == errno.ENOENT
    assert _counts(mounted.mountpoint)["after"] >= 5
    finished = _finished_in_c(mounted.pid) - before
    assert finished >= 5 if FINISHED_IN_C else finished == 0


def test_files_that_exist_are_not_affected(mounted):
    (mounted.mountpoint / "plain-here").write_bytes(b"abc")
    assert (mounted.mountpoint / "plain-here").read_bytes() == b"abc"
    assert os.stat(mounted.mountpoint / "plain-here").st_size == 3
