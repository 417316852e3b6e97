"""negative_lookup on a real graph: FUSE -> NegativeLookup [-> PassThrough] -> posix.

Mounted with ``--entry-timeout=0 --negative-timeout=0`` so that the kernel sends
every stat down as a lookup: otherwise the kernel's own dentry cache would hide
a missing invalidation (a file created through the mount gets a positive dentry
from the create reply, and nothing would ask the translator again for a second).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from glupy.local import process, volfile
from glupy.testing import require_mount_privileges

NLC = "glupy.library.negative_lookup:NegativeLookup"
PT = "glupy.library.passthrough:PassThrough"

Mounter = Callable[..., tuple[Path, Path]]


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Mounter]:
    require_mount_privileges()
    done: list[tuple[Path, Path]] = []

    def factory(translators: list[tuple[str, dict[str, Any]]], tag: str = "m") -> tuple[Path, Path]:
        backend, mnt, state = tmp_path / f"{tag}-backend", tmp_path / f"{tag}-mnt", tmp_path / f"{tag}-state"
        backend.mkdir()
        mnt.mkdir()
        graph = volfile.single_process_graph(backend, [(s, {k: str(v) for k, v in o.items()})
                                                       for s, o in translators])
        process.mount_graph(graph, mnt, source_dir=backend, state_dir=state,
                            extra_args=["--entry-timeout=0", "--negative-timeout=0"])
        done.append((mnt, state))
        return mnt, backend

    yield factory
    for mnt, state in reversed(done):
        process.unmount(mnt, state_dir=state)


def counters(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, "glupy.counters"))


def nlc_stats(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, "glupy.negative_lookup.stats"))


def missing(p: Path) -> bool:
    try:
        os.stat(p, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return False


def _create(d: Path, name: str) -> None:
    (d / name).write_text("x")


def _mkdir(d: Path, name: str) -> None:
    (d / name).mkdir()


def _symlink(d: Path, name: str) -> None:
    (d / name).symlink_to("target-of-" + name)


def _link(d: Path, name: str) -> None:
    (d / f"src-{name}").write_text("x")
    os.link(d / f"src-{name}", d / name)


def _rename(d: Path, name: str) -> None:
    (d / f"src-{name}").write_text("x")
    os.rename(d / f"src-{name}", d / name)


def _mknod(d: Path, name: str) -> None:
    os.mkfifo(d / name)


MAKERS = {"create": _create, "mkdir": _mkdir, "symlink": _symlink, "link": _link, "rename": _rename,
          "mknod": _mknod}


def test_names_created_through_the_mount_are_visible_at_once(mount: Mounter) -> None:
    mnt, _ = mount([(NLC, {"timeout": 3600})])
    sub = mnt / "sub"
    sub.mkdir()
    for where in (mnt, sub):
        for how, make in MAKERS.items():
            name = f"n-{how}"
            for _ in range(3):  # cached as missing
                assert missing(where / name)
            make(where, name)
            assert not missing(where / name), (where, how)
            assert name in os.listdir(where)
            if how == "mkdir":
                assert (where / name).is_dir()
                os.listdir(where / name)
            elif how in ("create", "link", "rename"):
                assert (where / name).read_text() == "x"
            elif how == "symlink":
                assert os.readlink(where / name) == "target-of-" + name
    assert nlc_stats(mnt)["hits"] >= 2 * 2 * len(MAKERS)  # the misses were served from the cache


def test_renamed_directory_keeps_its_entries_and_rmdir_drops_them(mount: Mounter) -> None:
    mnt, _ = mount([(NLC, {})])
    (mnt / "d").mkdir()
    assert missing(mnt / "d" / "x")
    os.rename(mnt / "d", mnt / "e")
    assert missing(mnt / "e" / "x")
    (mnt / "e" / "x").write_text("y")
    assert (mnt / "e" / "x").read_text() == "y"
    os.unlink(mnt / "e" / "x")
    assert missing(mnt / "e" / "y")
    before = nlc_stats(mnt)["entries"]
    os.rmdir(mnt / "e")
    assert nlc_stats(mnt)["entries"] < before


def _stat_workload(mnt: Path, names: int = 2000, rounds: int = 5) -> None:
    for _ in range(rounds):
        for i in range(names):
            assert missing(mnt / f"missing-{i}")


def test_lookups_reaching_the_child_drop_at_least_4x(mount: Mounter) -> None:
    plain, _ = mount([(PT, {})], tag="plain")
    cached, _ = mount([(NLC, {}), (PT, {})], tag="cached")
    base_plain = counters(plain).get("lookup", 0)
    base_cached = counters(cached).get("lookup", 0)
    _stat_workload(plain)
    _stat_workload(cached)
    without = counters(plain)["lookup"] - base_plain
    with_cache = counters(cached)["lookup"] - base_cached
    # the kernel sends every stat (negative-timeout 0); each missing name costs 2 lookups
    # without the cache (fuse's resolver looks it up, then fuse's lookup proper): ~20000
    assert without >= 10000
    print("lookups reaching PassThrough without/with the cache:", without, with_cache)
    assert with_cache * 4 <= without, (without, with_cache)
    assert with_cache <= 2000 + 50


def test_names_are_invalidated_in_c_without_entering_python(mount: Mounter) -> None:
    """The bridge forgets the name before, and the parent's misses after, every fop
    that creates a name: none of them reaches Python (its per-fop count), yet the
    names cached as missing show at once."""
    mnt, _ = mount([(NLC, {"timeout": 3600})])
    for how, make in MAKERS.items():
        name = f"i-{how}"
        assert missing(mnt / name) and missing(mnt / name)
        make(mnt, name)
        assert not missing(mnt / name), how
    os.listdir(mnt)
    (t,) = json.loads(os.getxattr(mnt, "glupy.status"))["translators"]
    assert t["python_calls"].get("readdirp", 0) > 0  # the count counts
    assert not set(t["python_calls"]) & {"create", "mkdir", "mknod", "symlink", "link", "rename",
                                         "lookup"}
    assert nlc_stats(mnt)["invalidations"] >= 2 * len(MAKERS)


def test_cached_misses_are_answered_in_c_without_entering_python(mount: Mounter) -> None:
    mnt, _ = mount([(NLC, {"timeout": 3600}), (PT, {})])
    for i in range(50):
        assert missing(mnt / f"c-{i}")
    before, child = nlc_stats(mnt), counters(mnt)["lookup"]
    assert before["entries"] == 50
    for _ in range(4):
        for i in range(50):
            assert missing(mnt / f"c-{i}")
    after = nlc_stats(mnt)
    assert counters(mnt)["lookup"] == child  # nothing reached the child
    assert after["hits"] - before["hits"] >= 200  # each stat was answered from the table ...
    # ... by the bridge's C lookup entry: no lookup entered Python, not even the first misses
    (t,) = [t for t in json.loads(os.getxattr(mnt, "glupy.status"))["translators"]
            if t["module"].startswith("glupy.library.negative_lookup")]
    assert "lookup" not in t["python_calls"], t["python_calls"]


def test_a_miss_expires_after_timeout(mount: Mounter) -> None:
    mnt, backend = mount([(NLC, {"timeout": 0.5})])
    assert missing(mnt / "late")
    (backend / "late").write_text("behind the mount")
    assert missing(mnt / "late")  # still answered from the cache
    time.sleep(0.7)
    assert (mnt / "late").read_text() == "behind the mount"


def test_readdirp_listing_a_cached_miss_drops_it(mount: Mounter) -> None:
    mnt, backend = mount([(NLC, {"timeout": 3600})])
    assert missing(mnt / "behind")
    (backend / "behind").write_text("z")
    assert "behind" in os.listdir(mnt)
    assert (mnt / "behind").read_text() == "z"


def test_max_entries_bounds_the_cache(mount: Mounter) -> None:
    mnt, _ = mount([(NLC, {"max-entries": 100}), (PT, {})])
    for i in range(500):
        assert missing(mnt / f"m{i}")
    st = nlc_stats(mnt)
    assert st["entries"] == 100
    assert st["evicted"] == 400
    # the newest 100 are cached, the oldest were evicted
    before = counters(mnt)["lookup"]
    for i in range(400, 500):
        assert missing(mnt / f"m{i}")
    assert counters(mnt)["lookup"] == before
    for i in range(100):
        assert missing(mnt / f"m{i}")
    assert counters(mnt)["lookup"] == before + 100
    assert nlc_stats(mnt)["entries"] == 100


def test_zero_timeout_caches_nothing(mount: Mounter) -> None:
    mnt, _ = mount([(NLC, {"timeout": 0}), (PT, {})])
    before = counters(mnt).get("lookup", 0)
    for _ in range(3):
        assert missing(mnt / "never")
    # each missing stat reaches the child (twice, in fact: fuse's resolver looks the
    # name up first, then fuse's lookup proper)
    assert counters(mnt)["lookup"] - before >= 3
    st = nlc_stats(mnt)
    assert st["entries"] == 0
    assert st["hits"] == 0


def test_lookups_racing_with_creates_leave_no_stale_miss(mount: Mounter) -> None:
    """Threads stat names while another thread creates them: once a create has
    returned, the name must be visible (no miss cached by a racing lookup)."""
    mnt, _ = mount([(NLC, {"timeout": 3600})])
    names = [f"race-{i}" for i in range(300)]
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            for n in names:
                missing(mnt / n)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in names:
            (mnt / n).write_text(n)
            assert not missing(mnt / n), n
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert [n for n in names if missing(mnt / n)] == []
