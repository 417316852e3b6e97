"""crypt winds entry fops (and a directory's own fops) with the encrypted ABSOLUTE brick
path when it knows it for sure, so storage/posix does not resolve the parent through its
.glusterfs handle symlinks; otherwise with ``<gfid:PARENT>/name``.  A wrong absolute
path would make posix act on another entry, so: the paths seen below crypt are checked
against brick paths worked out here from the brick's own IV records, after renames of a
directory and of its parent too, and the fallback is checked where the path cannot be
built (a directory with a hashed long name on the way)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptkeys import new_key

from glupy.library.crypt import (
    DIRIV_XATTR,
    NAMEKEY_XATTR,
    brick_name,
    encrypt_name,
    load_master_key,
    open_name_key,
)
from glupy.testing import MountFactory, MountInfo

SPEC = "glupy.library.crypt:Crypt"
TRANSLATORS = str(Path(__file__).parent / "translators")


def _mount(glupy_mount: MountFactory, key: Path, attribute_timeout: float | None = 0) -> MountInfo:
    """FUSE -> crypt -> brickpaths (records what reaches posix) -> posix; no kernel
    caching of entries, so every stat reaches the graph."""
    return glupy_mount([(SPEC, {"key-file": str(key)}), ("brickpaths:BrickPaths", {})],
                       python_path=[TRANSLATORS], entry_timeout=0,
                       attribute_timeout=attribute_timeout, negative_timeout=0)


def _seen(mp: Path, reset: bool = False) -> list[list[str]]:
    value = json.loads(os.getxattr(mp, "glupy.paths"))
    if reset:
        os.getxattr(mp, "glupy.paths.reset")
    return [x for x in value if x[0] != "getxattr" or x[1] != "/"]


class BrickPaths:
    """Brick paths worked out from the brick: each component encrypted under the IV
    stored on the brick directory that holds it (independently of crypt's caches)."""

    def __init__(self, key: Path, backend: Path) -> None:
        self.backend = backend
        self.names = open_name_key(load_master_key(key, None),
                                   os.getxattr(backend, NAMEKEY_XATTR))

    def __call__(self, plain: str) -> str:
        d, parts = self.backend, []
        for part in plain.split("/"):
            stored = brick_name(encrypt_name(self.names, os.getxattr(d, DIRIV_XATTR),
                                             part.encode()))
            parts.append(stored)
            d = d / stored
        return "/" + "/".join(parts)


def test_entry_fops_in_nested_directories_go_down_by_brick_path(glupy_mount: MountFactory,
                                                                tmp_path: Path) -> None:
    key = new_key(tmp_path / "k")
    m = _mount(glupy_mount, key)
    mp, backend = m.mountpoint, m.backend_dir
    (mp / "a" / "b" / "c").mkdir(parents=True)
    bp = BrickPaths(key, backend)
    _seen(mp, reset=True)
    c = mp / "a" / "b" / "c"
    (c / "f").write_bytes(b"x")
    os.mkfifo(c / "p")
    os.symlink("f", c / "s")
    os.link(c / "f", mp / "a" / "b" / "h")
    (c / "d").mkdir()
    os.listxattr(mp / "a" / "b")  # a directory's own fop
    seen = _seen(mp, reset=True)
    for fop, plain in (("create", "a/b/c/f"), ("mknod", "a/b/c/p"), ("symlink", "a/b/c/s"),
                       ("mkdir", "a/b/c/d"), ("lookup", "a/b/c/f"), ("getxattr", "a/b")):
        assert [fop, bp(plain)] in seen, (fop, plain, seen)
        assert os.path.lexists(str(backend) + bp(plain))
    # link's old loc names a file inode, which posix finds by GFID whatever its path
    assert [x[2] for x in seen if x[0] == "link"] == [bp("a/b/h")], seen
    assert os.path.lexists(str(backend) + bp("a/b/h"))
    assert not [x for x in seen if not x[-1].startswith("/")], seen

    for name in ("f", "p", "s"):
        assert os.lstat(c / name)
    os.unlink(c / "f")
    os.rmdir(c / "d")
    seen = _seen(mp)
    for fop, plain in (("lookup", "a/b/c/p"), ("stat", "a/b/c"), ("unlink", "a/b/c/f"),
                       ("rmdir", "a/b/c/d")):
        assert [fop, bp(plain)] in seen, (fop, plain, seen)
    assert sorted(os.listdir(c)) == ["p", "s"]
    assert (mp / "a" / "b" / "h").read_bytes() == b"x"
    assert len(os.listdir(str(backend) + bp("a/b/c"))) == 2


def test_paths_follow_renames_of_a_directory_and_of_its_parent(glupy_mount: MountFactory,
                                                               tmp_path: Path) -> None:
    key = new_key(tmp_path / "k")
    m = _mount(glupy_mount, key, attribute_timeout=None)  # fewer stats of leaf in between
    mp, backend = m.mountpoint, m.backend_dir
    (mp / "top" / "mid" / "leaf").mkdir(parents=True)
    bp = BrickPaths(key, backend)

    def check(plain: str, fop: str) -> None:
        seen = _seen(mp, reset=True)
        assert [fop, bp(plain)] in seen, (fop, plain, seen)

    (mp / "top" / "mid" / "leaf" / "f1").write_bytes(b"1")
    os.rename(mp / "top" / "mid", mp / "top" / "mid2")  # the directory's parent
    (mp / "top" / "mid2" / "leaf" / "f2").write_bytes(b"2")
    check("top/mid2/leaf/f2", "create")
    os.stat(mp / "top" / "mid2" / "leaf" / "f1")
    check("top/mid2/leaf/f1", "lookup")
    os.unlink(mp / "top" / "mid2" / "leaf" / "f1")
    check("top/mid2/leaf/f1", "unlink")
    assert not os.path.lexists(str(backend) + bp("top/mid2/leaf/f1"))

    os.rename(mp / "top", mp / "top2")  # the grandparent
    (mp / "top2" / "mid2" / "leaf" / "f3").write_bytes(b"3")
    check("top2/mid2/leaf/f3", "create")
    os.rename(mp / "top2" / "mid2" / "leaf" / "f3", mp / "top2" / "mid2" / "leaf" / "f4")
    seen = _seen(mp, reset=True)
    assert ["rename", bp("top2/mid2/leaf/f3"), bp("top2/mid2/leaf/f4")] in seen, seen

    # The same plaintext path, other directories above: top2 and mid2 are new ones now,
    # so every brick path crypt worked out for leaf before is wrong.
    os.rename(mp / "top2", mp / "old")
    (mp / "top2" / "mid2").mkdir(parents=True)
    os.rename(mp / "old" / "mid2" / "leaf", mp / "top2" / "mid2" / "leaf")
    (mp / "top2" / "mid2" / "leaf" / "f5").write_bytes(b"5")
    check("top2/mid2/leaf/f5", "create")
    assert os.path.exists(str(backend) + bp("top2/mid2/leaf/f5"))
    os.unlink(mp / "top2" / "mid2" / "leaf" / "f2")
    check("top2/mid2/leaf/f2", "unlink")
    assert sorted(os.listdir(mp / "top2" / "mid2" / "leaf")) == ["f4", "f5"]
    assert (mp / "top2" / "mid2" / "leaf" / "f4").read_bytes() == b"3"
    assert os.listdir(mp / "old" / "mid2") == []
    assert sorted(os.listdir(str(backend) + bp("top2/mid2/leaf"))) == sorted(
        bp(f"top2/mid2/leaf/{n}").rsplit("/", 1)[1] for n in ("f4", "f5"))


def test_without_a_brick_path_entries_go_down_by_parent_gfid(glupy_mount: MountFactory,
                                                             tmp_path: Path) -> None:
    """A directory whose stored name is a hash (a long name) on the way: crypt cannot
    build the path from names alone and falls back to ``<gfid:PARENT>/name``; a long
    entry name itself does too; both work."""
    key = new_key(tmp_path / "k")
    m = _mount(glupy_mount, key)
    mp, backend = m.mountpoint, m.backend_dir
    long_dir = "L" * 200
    (mp / long_dir / "sub").mkdir(parents=True)
    (mp / "short").mkdir()
    _seen(mp, reset=True)
    (mp / long_dir / "f").write_bytes(b"f")
    (mp / long_dir / "sub" / "g").write_bytes(b"g")
    (mp / "short" / ("N" * 240)).write_bytes(b"n")
    creates = [x[1] for x in _seen(mp, reset=True) if x[0] == "create"]
    assert len(creates) == 3 and all(p.startswith("<gfid:") for p in creates), creates
    assert (mp / long_dir / "f").read_bytes() == b"f"
    assert (mp / long_dir / "sub" / "g").read_bytes() == b"g"
    assert os.listdir(mp / "short") == ["N" * 240]
    os.unlink(mp / long_dir / "sub" / "g")
    os.unlink(mp / "short" / ("N" * 240))
    unlinks = [x[1] for x in _seen(mp) if x[0] == "unlink"]
    assert len(unlinks) == 2 and all(p.startswith("<gfid:") for p in unlinks), unlinks
    assert os.listdir(mp / long_dir / "sub") == []
    assert os.listdir(mp / "short") == []
    stored_dirs = [p for p in backend.iterdir() if p.name != ".glusterfs"]
    assert len(stored_dirs) == 2
