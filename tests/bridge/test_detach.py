"""Views detached in C (glupy/_bridge/src/detach.c), through FUSE -> Python -> posix.

A fop's argument views point into memory the caller frees once the fop call returns;
then they take a reference or a copy, which they own and drop
when they are freed (glupy._core's view, core.h), but only when the task outlives
the fop's entry: a child that answers inside it needs no copy.  A child's reply kept
across another wind is detached the same way."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")


def _mount(tmp_path, threads: bool, above: bool = False):
    require_mount_privileges()
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    below = g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    if threads:  # replies come back on io-threads' workers, after the entry returned
        below = g.add(Volume("iot", "performance/io-threads", {}, [below.name]))
    top = g.add(Volume("detaching", bridge_type(),
                       {"module": "detaching:Detaching", "python-path": TRANSLATORS},
                       [below.name]))
    if above:  # its call stub (the loc) is destroyed as soon as the entry returns
        g.add(Volume("iot-above", "performance/io-threads", {}, [top.name]))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "s",
                        extra_args=["--reader-thread-count=4"])
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


def test_a_view_the_translator_keeps_is_not_reused_for_later_fops(mounted):
    """The task's argument views that nothing else holds are reused for the next fops'
    (convert.c glupy_arg_drop): one the translator kept stays its own."""
    mnt, _ = mounted
    with pytest.raises(OSError):  # posix has no user.none
        os.getxattr(mnt / "f", "user.detach-keep")
    for i in range(4):
        (mnt / f"g{i}").write_bytes(b"x")
        os.stat(mnt / f"g{i}")
        with pytest.raises(FileNotFoundError):
            os.stat(mnt / f"missing{i}")
    kept = json.loads(os.getxattr(mnt / "g3", "user.detach-kept"))
    assert kept == ["/f", True, "/g3"]


def test_a_loc_read_after_its_entry_returned_is_the_detached_copy(tmp_path, monkeypatch):
    """io-threads above destroys the call stub (the loc) once the entry returns; io-threads
    below makes the coroutine go on after that, on a worker: the loc it reads there must be
    the copy the entry's end made (without it: freed memory, which MALLOC_PERTURB_ fills).
    A getxattr answered inside its entry before each one makes it the lazy case (task.c
    done_in_entry), whose copy glupy_entry_end makes."""
    monkeypatch.setenv("MALLOC_PERTURB_", "165")  # for the glusterfs process
    mnt = _mount(tmp_path, threads=True, above=True)
    try:
        names = [f"f{i}" for i in range(8)]
        for n in names:
            (mnt / n).write_bytes(b"x")
        bad: list[str] = []

        def worker(n: str) -> None:
            try:
                for _ in range(40):
                    os.getxattr(mnt / n, "user.detach-sync")
                    value = os.getxattr(mnt / n, "user.detach-late")
                    if value != b"ok":
                        bad.append(value.decode(errors="replace"))
            except OSError as e:
                bad.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a getxattr hung"
        assert not bad, bad[:3]
    finally:
        process.unmount(mnt)
