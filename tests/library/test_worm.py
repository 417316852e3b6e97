"""worm on a real graph (FUSE -> worm -> posix), and the same scenario on
GlusterFS's C ``features/worm`` (``option worm on``) with the differences asserted."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glupy.library.worm import WORM_XATTR
from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

Mounter = Callable[..., tuple[Path, Path]]


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Mounter]:
    require_mount_privileges()
    done: list[tuple[Path, Path]] = []

    def factory(kind: str = "py", options: dict[str, str] | None = None,
                prepare: Callable[[Path], None] | None = None) -> tuple[Path, Path]:
        n = len(done)
        backend, mnt, state = tmp_path / f"{kind}{n}-b", tmp_path / f"{kind}{n}-m", tmp_path / f"{kind}{n}-s"
        backend.mkdir()
        mnt.mkdir()
        if prepare is not None:
            prepare(backend)
        g = Graph()
        g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
        if kind == "c":
            g.add(Volume("worm", "features/worm", {"worm": "on", **(options or {})}, ["posix"]))
        else:
            g.add(Volume("worm", bridge_type(), {"module": "glupy.library.worm:Worm", **(options or {})},
                         ["posix"]))
        process.mount_graph(g, mnt, source_dir=backend, state_dir=state)
        done.append((mnt, state))
        return mnt, backend

    yield factory
    for mnt, state in reversed(done):
        process.unmount(mnt, state_dir=state)


def outcome(fn: Callable[[], object]) -> str:
    try:
        fn()
    except OSError as e:
        return errno.errorcode.get(e.errno or 0, str(e.errno))
    return "ok"


def write_open(p: Path, flags: int = os.O_WRONLY) -> None:
    fd = os.open(p, flags)
    os.close(fd)


def append(p: Path) -> None:
    with open(p, "ab") as fh:
        fh.write(b"more")


def atime_only(p: Path, when: float) -> None:
    """utimensat() changing atime only (mtime UTIME_OMIT)."""
    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
    utime_omit = (1 << 30) - 2
    times = (Timespec * 2)(Timespec(int(when), 0), Timespec(0, utime_omit))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.utimensat(-100, os.fsencode(p), times, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(p))


def test_a_written_and_closed_file_is_immutable(mount: Mounter) -> None:
    mnt, backend = mount()
    f = mnt / "doc"
    with open(f, "wb") as fh:
        fh.write(b"version 1")
        fh.write(b", still writable while open")
    assert os.getxattr(backend / "doc", WORM_XATTR)
    assert f.read_bytes() == b"version 1, still writable while open"
    for name, op in {
        "open-wronly": lambda: write_open(f),
        "open-rdwr": lambda: write_open(f, os.O_RDWR),
        "open-trunc": lambda: write_open(f, os.O_RDONLY | os.O_TRUNC),
        "append": lambda: append(f),
        "truncate": lambda: os.truncate(f, 0),
        "chmod": lambda: os.chmod(f, 0o777),
        "chown": lambda: os.chown(f, 1, 1),
        "utime": lambda: os.utime(f, (1, 1)),
        "setxattr": lambda: os.setxattr(f, "user.x", b"1"),
        "unlink": lambda: os.unlink(f),
        "rename": lambda: os.rename(f, mnt / "moved"),
        "link": lambda: os.link(f, mnt / "hard"),
    }.items():
        assert outcome(op) == "EROFS", name
    (mnt / "other").write_bytes(b"o")  # committed too
    assert outcome(lambda: os.rename(mnt / "plain-new", f)) == "ENOENT"
    open(mnt / "fresh", "x").close()  # created, not written: still mutable
    assert outcome(lambda: os.rename(mnt / "fresh", f)) == "EROFS"  # would delete "doc"
    # the commit marker cannot be forged or removed
    assert outcome(lambda: os.removexattr(f, WORM_XATTR)) == "EPERM"
    assert outcome(lambda: os.setxattr(mnt / "fresh", WORM_XATTR, b"0")) == "EPERM"
    # reads and atime-only updates still work
    assert f.read_bytes() == b"version 1, still writable while open"
    atime_only(f, 1_000_000)
    assert os.stat(f).st_atime == 1_000_000
    assert os.getxattr(f, WORM_XATTR)
    assert backend.joinpath("doc").read_bytes() == b"version 1, still writable while open"


def test_unwritten_files_stay_mutable_and_directories_are_free(mount: Mounter) -> None:
    mnt, _ = mount(prepare=lambda b: (b / "old").write_bytes(b"pre-existing"))
    # a pre-existing file never written through the translator is mutable
    with open(mnt / "old", "r+b") as fh:
        fh.write(b"PRE")
    assert outcome(lambda: append(mnt / "old")) == "EROFS"  # ... until that close
    open(mnt / "empty", "w").close()
    os.chmod(mnt / "empty", 0o600)
    os.rename(mnt / "empty", mnt / "empty2")
    os.unlink(mnt / "empty2")
    (mnt / "d").mkdir()
    (mnt / "d" / "x").write_bytes(b"x")
    os.rename(mnt / "d", mnt / "d2")  # renaming the directory is fine
    assert (mnt / "d2" / "x").read_bytes() == b"x"
    assert outcome(lambda: os.unlink(mnt / "d2" / "x")) == "EROFS"
    os.symlink("x", mnt / "d2" / "l")
    os.unlink(mnt / "d2" / "l")
    (mnt / "e").mkdir()
    os.rmdir(mnt / "e")


def test_commit_survives_a_remount(mount: Mounter, tmp_path: Path) -> None:
    mnt, backend = mount()
    (mnt / "kept").write_bytes(b"k")
    # a second mount over the same backend: state comes from the xattr
    state = tmp_path / "again-s"
    again = tmp_path / "again-m"
    again.mkdir()
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("worm", bridge_type(), {"module": "glupy.library.worm:Worm"}, ["posix"]))
    process.mount_graph(g, again, source_dir=backend, state_dir=state)
    try:
        assert outcome(lambda: append(again / "kept")) == "EROFS"
        assert outcome(lambda: os.unlink(again / "kept")) == "EROFS"
        # readdirp hands out inodes without a lookup: the getxattr fallback
        assert sorted(os.listdir(again)) == ["kept"]
        assert outcome(lambda: os.truncate(again / "kept", 0)) == "EROFS"
    finally:
        process.unmount(again, state_dir=state)


def test_retention_allows_deletion_after_it_passes(mount: Mounter) -> None:
    mnt, _ = mount(options={"retention": "1"})
    (mnt / "r").write_bytes(b"r")
    assert outcome(lambda: os.unlink(mnt / "r")) == "EROFS"
    time.sleep(1.2)
    assert outcome(lambda: append(mnt / "r")) == "EROFS"  # still immutable
    os.unlink(mnt / "r")
    assert not (mnt / "r").exists()


# The same scenario on both translators: (step, glupy outcome, C worm-on outcome).
SCENARIO: list[tuple[str, str, str]] = [
    ("create-write-close new", "ok", "ok"),
    ("read new", "ok", "ok"),
    ("open-wronly new", "EROFS", "EROFS"),
    ("append new", "EROFS", "EROFS"),
    ("truncate new", "EROFS", "EROFS"),
    ("unlink new", "EROFS", "EROFS"),
    ("rename new", "EROFS", "EROFS"),
    ("link new", "EROFS", "EROFS"),
    ("chmod new", "EROFS", "ok"),
    ("utime new", "EROFS", "ok"),
    ("setxattr new", "EROFS", "ok"),
    ("removexattr new", "EROFS", "EROFS"),
    ("open-wronly old", "ok", "EROFS"),
    ("truncate old", "ok", "EROFS"),
    ("rename old", "ok", "EROFS"),
    ("unlink old2", "ok", "EROFS"),
    ("create-close empty", "ok", "ok"),
    ("open-wronly empty", "ok", "EROFS"),
    ("mkdir", "ok", "ok"),
    ("symlink", "ok", "ok"),
    ("rmdir", "ok", "EROFS"),
]


def _step(mnt: Path, step: str) -> None:
    new, old, empty = mnt / "new", mnt / "old", mnt / "empty"
    actions: dict[str, Callable[[], object]] = {
        "create-write-close new": lambda: new.write_bytes(b"data"),
        "read new": lambda: new.read_bytes(),
        "open-wronly new": lambda: write_open(new),
        "append new": lambda: append(new),
        "truncate new": lambda: os.truncate(new, 0),
        "unlink new": lambda: os.unlink(new),
        "rename new": lambda: os.rename(new, mnt / "new-moved"),
        "link new": lambda: os.link(new, mnt / "new-link"),
        "chmod new": lambda: os.chmod(new, 0o600),
        "utime new": lambda: os.utime(new, (5, 5)),
        "setxattr new": lambda: os.setxattr(new, "user.y", b"1"),
        "removexattr new": lambda: os.removexattr(new, "user.y"),
        "open-wronly old": lambda: write_open(old),
        "truncate old": lambda: os.truncate(old, 1),
        "rename old": lambda: os.rename(old, mnt / "old-moved"),
        "unlink old2": lambda: os.unlink(mnt / "old2"),
        "create-close empty": lambda: open(empty, "x").close(),
        "open-wronly empty": lambda: write_open(empty),
        "mkdir": lambda: os.mkdir(mnt / "dir"),
        "symlink": lambda: os.symlink("new", mnt / "sym"),
        "rmdir": lambda: os.rmdir(mnt / "dir"),
    }
    actions[step]()


def _prepare(backend: Path) -> None:
    (backend / "old").write_bytes(b"old")
    (backend / "old2").write_bytes(b"old2")


def test_compared_with_c_worm(mount: Mounter) -> None:
    mounts = {"py": mount("py", prepare=_prepare)[0], "c": mount("c", prepare=_prepare)[0]}
    got: dict[str, list[str]] = {}
    for kind, mnt in mounts.items():
        got[kind] = [outcome(functools.partial(_step, mnt, step)) for step, _, _ in SCENARIO]
    table = [(step, got["py"][i], got["c"][i]) for i, (step, _, _) in enumerate(SCENARIO)]
    assert table == SCENARIO


def test_reads_uncommitted_writes_and_refusals_cost_no_python(glupy_mount, tmp_path: Path) -> None:
    """Through FUSE: reads, writes into files that are not committed and the refusals of
    committed files are decided in C (the bridge's per-fop count of fops that entered
    Python); only the commit (flush of a written fd) and a delete of a committed file do."""
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / "old").write_bytes(b"pre-existing")
    m = glupy_mount([("glupy.library.worm:Worm", {})], backend_dir=backend)
    root = m.mountpoint
    # reads of a file never written through the translator, and writes into it
    assert (root / "old").read_bytes() == b"pre-existing"
    os.stat(root / "old")
    assert os.listdir(root) == ["old"]
    os.listxattr(root / "old")
    fd = os.open(root / "old", os.O_RDWR)
    try:
        os.pwrite(fd, b"PRE", 0)
        os.ftruncate(fd, 20)
        assert os.pread(fd, 3, 0) == b"PRE"
        assert m.python_calls() == {}, "reads and uncommitted writes entered Python"
    finally:
        os.close(fd)
    assert m.python_calls() == {"flush": 1}  # the commit
    # a committed file: reads and refusals without Python
    assert (root / "old").read_bytes()[:3] == b"PRE"
    for op in (lambda: write_open(root / "old"), lambda: append(root / "old"),
               lambda: os.truncate(root / "old", 0), lambda: os.chmod(root / "old", 0o600),
               lambda: os.link(root / "old", root / "hard")):
        assert outcome(op) == "EROFS"
    atime_only(root / "old", 1_000_000)
    # a new file: create, writes, reads in C; its close commits in Python
    with open(root / "new", "wb") as fh:
        fh.write(b"new data")
        fh.flush()
        assert m.python_calls() == {"flush": 1}
    assert (root / "new").read_bytes() == b"new data"
    open(root / "empty", "x").close()  # closed unwritten: no commit, no Python
    os.chmod(root / "empty", 0o600)
    os.unlink(root / "empty")
    assert m.python_calls() == {"flush": 2}
    assert outcome(lambda: os.unlink(root / "new")) == "EROFS"  # committed: Python checks retention
    assert m.python_calls() == {"flush": 2, "unlink": 1}
