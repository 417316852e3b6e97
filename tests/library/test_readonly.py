"""readonly on a real graph, compared operation by operation with GlusterFS's C
``features/read-only`` (``option read-only on``), both as single-process graphs
over storage/posix with the same pre-populated backend."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glupy.library.readonly import REFUSED
from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges

Op = Callable[[Path], object]


def _populate(backend: Path) -> None:
    (backend / "f").write_bytes(b"hello")
    (backend / "g").write_bytes(b"other")
    (backend / "d").mkdir()
    (backend / "d" / "inner").write_bytes(b"in")
    (backend / "empty").mkdir()
    (backend / "l").symlink_to("f")
    os.setxattr(backend / "f", "user.k", b"v")


def _graph(kind: str, backend: Path, options: dict[str, str] | None = None) -> Graph:
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    if kind == "c":
        g.add(Volume("ro", "features/read-only", {"read-only": "on", **(options or {})}, ["posix"]))
    else:
        g.add(Volume("ro", bridge_type(), {"module": "glupy.library.readonly:ReadOnly",
                                           **(options or {})}, ["posix"]))
    return g


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[dict[str, tuple[Path, Path]]]:
    require_mount_privileges()
    out: dict[str, tuple[Path, Path]] = {}
    try:
        for kind in ("py", "c"):
            backend, mnt = tmp_path / f"{kind}-backend", tmp_path / f"{kind}-mnt"
            backend.mkdir()
            mnt.mkdir()
            _populate(backend)
            process.mount_graph(_graph(kind, backend), mnt, source_dir=backend,
                                state_dir=tmp_path / f"{kind}-state")
            out[kind] = (mnt, backend)
        yield out
    finally:
        for kind, (mnt, _) in out.items():
            process.unmount(mnt, state_dir=tmp_path / f"{kind}-state")


def _open(flags: int) -> Op:
    def op(m: Path) -> object:
        fd = os.open(m / "f", flags)
        try:
            return os.read(fd, 100) if (flags & os.O_ACCMODE) != os.O_WRONLY else b""
        finally:
            os.close(fd)
    return op


def _fsyncdir(m: Path) -> object:
    fd = os.open(m / "d", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return None


def _flock(m: Path) -> object:
    with open(m / "f", "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


OPS: dict[str, Op] = {
    # reads
    "stat": lambda m: os.stat(m / "f").st_size,
    "read": lambda m: (m / "f").read_bytes(),
    "listdir": lambda m: sorted(os.listdir(m)),
    "readlink": lambda m: os.readlink(m / "l"),
    "getxattr": lambda m: os.getxattr(m / "f", "user.k"),
    "listxattr": lambda m: "user.k" in os.listxattr(m / "f"),
    "statvfs": lambda m: os.statvfs(m).f_bsize > 0,
    # the kernel answers access() itself (default_permissions): no access fop is sent
    "access-w": lambda m: os.access(m / "f", os.W_OK),
    "flock": _flock,
    "open-rdonly": _open(os.O_RDONLY),
    "open-rdonly-append": _open(os.O_RDONLY | os.O_APPEND),
    "open-rdonly-creat-existing": _open(os.O_RDONLY | os.O_CREAT),
    # modifications
    "open-wronly": _open(os.O_WRONLY),
    "open-rdwr": _open(os.O_RDWR),
    "open-wronly-append": _open(os.O_WRONLY | os.O_APPEND),
    "open-rdonly-trunc": _open(os.O_RDONLY | os.O_TRUNC),
    "create": lambda m: os.close(os.open(m / "new", os.O_CREAT | os.O_WRONLY, 0o644)),
    "create-rdonly": lambda m: os.close(os.open(m / "new2", os.O_CREAT | os.O_RDONLY, 0o644)),
    "mkdir": lambda m: os.mkdir(m / "newdir"),
    "mkfifo": lambda m: os.mkfifo(m / "fifo"),
    "symlink": lambda m: os.symlink("f", m / "newlink"),
    "link": lambda m: os.link(m / "f", m / "hard"),
    "rename": lambda m: os.rename(m / "f", m / "f2"),
    "rename-over": lambda m: os.rename(m / "g", m / "f"),
    "unlink": lambda m: os.unlink(m / "g"),
    "rmdir": lambda m: os.rmdir(m / "empty"),
    "truncate": lambda m: os.truncate(m / "f", 1),
    "chmod": lambda m: os.chmod(m / "f", 0o600),
    "chown": lambda m: os.chown(m / "f", 1, 1),
    "utime": lambda m: os.utime(m / "f", (1, 1)),
    "setxattr": lambda m: os.setxattr(m / "f", "user.new", b"x"),
    "removexattr": lambda m: os.removexattr(m / "f", "user.k"),
    "fsyncdir": _fsyncdir,
}

# Where this translator and the C one differ (errno names; "ok" = allowed).
KNOWN_DIFFERENCES = {
    "fsyncdir": ("ok", "EROFS"),  # C refuses fsyncdir; it modifies nothing
}
MUST_SUCCEED = {"stat", "read", "listdir", "readlink", "getxattr", "listxattr", "statvfs",
                "open-rdonly", "open-rdonly-append", "open-rdonly-creat-existing"}


def _outcome(op: Op, mnt: Path) -> str:
    try:
        op(mnt)
    except OSError as e:
        return errno.errorcode.get(e.errno or 0, str(e.errno))
    return "ok"


def _snapshot(backend: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(backend):
        dirnames[:] = [d for d in dirnames if d != ".glusterfs"]
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            content = os.readlink(p) if p.is_symlink() else (p.read_bytes() if p.is_file() else None)
            out[str(p.relative_to(backend))] = (st.st_mode, st.st_uid, int(st.st_mtime), content,
                                                 sorted(x for x in os.listxattr(p, follow_symlinks=False)
                                                        if not x.startswith("trusted.")))
    return out


def test_same_errnos_as_c_read_only(mounts: dict[str, tuple[Path, Path]]) -> None:
    results: dict[str, dict[str, str]] = {}
    before = {kind: _snapshot(backend) for kind, (_, backend) in mounts.items()}
    for kind, (mnt, _) in mounts.items():
        results[kind] = {name: _outcome(op, mnt) for name, op in OPS.items()}
    py, c = results["py"], results["c"]
    for name in OPS:
        if name in KNOWN_DIFFERENCES:
            assert (py[name], c[name]) == KNOWN_DIFFERENCES[name], name
        else:
            assert py[name] == c[name], (name, py[name], c[name])
        if name in MUST_SUCCEED:
            assert py[name] == "ok", name
        elif name not in ("flock", "fsyncdir", "access-w"):  # flock: ENOSYS, no features/locks here
            assert py[name] == "EROFS", (name, py[name])
    # nothing changed below either translator
    for kind, (_, backend) in mounts.items():
        assert _snapshot(backend) == before[kind], kind


def test_reads_work_and_read_only_off_passes_through(tmp_path: Path) -> None:
    require_mount_privileges()
    backend, mnt, state = tmp_path / "b", tmp_path / "m", tmp_path / "s"
    backend.mkdir()
    mnt.mkdir()
    _populate(backend)
    process.mount_graph(_graph("py", backend, {"read-only": "off"}), mnt, source_dir=backend,
                        state_dir=state)
    try:
        (mnt / "x").write_text("written")
        assert (backend / "x").read_text() == "written"
        os.unlink(mnt / "x")
    finally:
        process.unmount(mnt, state_dir=state)


def test_only_xattrop_runs_in_python(glupy_mount):
    """The bridge decides every refusal and every read in C (glupy.Refuse); only
    xattrop and fxattrop, which look at values, reach Python."""
    m = glupy_mount([("glupy.library.readonly:ReadOnly", {})])
    (line,) = {line for line in m.log_tail(400) if "fops in Python:" in line}
    handled = line.split("fops in Python:")[1].split(";")[0].strip().split(", ")
    assert sorted(handled) == ["fxattrop", "xattrop"]
    in_c = line.split("decided in C by glupy.Refuse:")[1].strip().rstrip(")").split(", ")
    assert sorted(in_c) == sorted([*REFUSED, "open", "access"])


def _mount_populated(glupy_mount, tmp_path: Path, options: dict[str, str]):
    backend = tmp_path / "backend"
    backend.mkdir()
    _populate(backend)
    return glupy_mount([("glupy.library.readonly:ReadOnly", options)], backend_dir=backend)


def test_refusals_and_reads_cost_no_python(glupy_mount, tmp_path):
    """Through FUSE: refused writes, opens for writing, and every read: the
    bridge's per-fop count of fops that entered Python stays empty."""
    m = _mount_populated(glupy_mount, tmp_path, {})
    root = m.mountpoint
    for op in (lambda: (root / "f").write_bytes(b"x"), lambda: (root / "new").mkdir(),
               lambda: (root / "f").unlink(), lambda: os.chmod(root / "f", 0o600),
               lambda: os.open(root / "f", os.O_RDWR)):
        with pytest.raises(OSError) as e:
            op()
        assert e.value.errno == errno.EROFS
    assert (root / "f").read_bytes() == b"hello"
    assert sorted(os.listdir(root / "d")) == ["inner"]
    assert os.readlink(root / "l") == "f"
    assert m.python_calls() == {}


def test_read_only_off_passes_writes_through_in_c(glupy_mount, tmp_path):
    """read-only off: writes reach the bricks, still without Python."""
    m = _mount_populated(glupy_mount, tmp_path, {"read-only": "off"})
    (m.mountpoint / "f").write_bytes(b"changed")
    (m.mountpoint / "new").mkdir()
    assert (m.backend_dir / "f").read_bytes() == b"changed" and (m.backend_dir / "new").is_dir()
    assert m.python_calls() == {}
