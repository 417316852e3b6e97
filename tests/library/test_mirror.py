"""mirror on a real graph: FUSE -> mirror -> (posix left, io-threads -> posix right).

The right child sits under io-threads, so its replies come back on another
thread while the left replies synchronously: the fan-out (glupy.gather) is
exercised with both orderings.  A seeded random run of file operations must
leave both backing directories identical.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.testing import require_mount_privileges


def _tree(root: Path) -> dict[str, tuple[str, int, bytes | str | None]]:
    out: dict[str, tuple[str, int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".glusterfs"]
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", 0, os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777, None)
            else:
                out[rel] = ("file", st.st_mode & 0o7777, p.read_bytes())
            out[rel + "#gfid"] = ("gfid", 0, os.getxattr(p, "trusted.gfid", follow_symlinks=False))
    return out


@pytest.fixture
def mirror_mount(tmp_path):
    require_mount_privileges()
    left, right, mnt = tmp_path / "left", tmp_path / "right", tmp_path / "mnt"
    for d in (left, right, mnt):
        d.mkdir()
    g = Graph()
    g.add(Volume("left", "storage/posix", {"directory": str(left)}))
    g.add(Volume("right-posix", "storage/posix", {"directory": str(right)}))
    g.add(Volume("right", "performance/io-threads", {}, ["right-posix"]))
    g.add(Volume("mirror", bridge_type(), {"module": "glupy.library.mirror"}, ["left", "right"]))
    state = process.mount_graph(g, mnt, source_dir=left, state_dir=tmp_path / "state")
    try:
        yield mnt, left, right, state
    finally:
        process.unmount(mnt, state_dir=tmp_path / "state")


def test_random_operations_leave_both_children_identical(mirror_mount):
    mnt, left, right, _ = mirror_mount
    rng = random.Random(20261125)
    files: list[Path] = []
    dirs = [mnt]
    for step in range(600):
        op = rng.choice(["create", "write", "append", "truncate", "mkdir", "unlink", "rename",
                         "chmod", "symlink", "setxattr"])
        if op == "create" or not files:
            f = rng.choice(dirs) / f"f{step}"
            f.write_bytes(rng.randbytes(rng.randrange(0, 70000)))
            files.append(f)
        elif op == "write":
            f = rng.choice(files)
            with open(f, "r+b") as fh:
                fh.seek(rng.randrange(0, 80000))
                fh.write(rng.randbytes(rng.randrange(1, 9000)))
        elif op == "append":
            with open(rng.choice(files), "ab") as fh:
                fh.write(rng.randbytes(rng.randrange(1, 5000)))
        elif op == "truncate":
            os.truncate(rng.choice(files), rng.randrange(0, 100000))
        elif op == "mkdir":
            d = rng.choice(dirs) / f"d{step}"
            d.mkdir()
            dirs.append(d)
        elif op == "unlink":
            f = files.pop(rng.randrange(len(files)))
            f.unlink()
        elif op == "rename":
            f = files.pop(rng.randrange(len(files)))
            new = rng.choice(dirs) / f"r{step}"
            f.rename(new)
            files.append(new)
        elif op == "chmod":
            os.chmod(rng.choice(files), rng.choice([0o600, 0o644, 0o755, 0o640]))
        elif op == "symlink":
            (rng.choice(dirs) / f"l{step}").symlink_to(f"target{step}")
        elif op == "setxattr":
            os.setxattr(rng.choice(files), "user.mirror", rng.randbytes(8))
    # what the mount shows is what the left child has
    for f in files:
        assert f.read_bytes() == (left / f.relative_to(mnt)).read_bytes()
    assert _tree(left) == _tree(right)
    left_x = {str(f.relative_to(mnt)): os.getxattr(left / f.relative_to(mnt), "user.mirror")
              for f in files if "user.mirror" in os.listxattr(left / f.relative_to(mnt))}
    right_x = {k: os.getxattr(right / k, "user.mirror") for k in left_x}
    assert left_x == right_x


def test_a_failure_on_one_child_fails_the_fop(mirror_mount):
    mnt, left, right, _ = mirror_mount
    (mnt / "a").write_bytes(b"x")
    os.unlink(right / "a")  # the right child loses the file behind the mirror's back
    with pytest.raises(FileNotFoundError):
        os.unlink(mnt / "a")  # left succeeds, right fails: the fop fails
    # no rollback (documented): the left copy is gone too
    assert not (left / "a").exists()
