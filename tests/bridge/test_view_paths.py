"""Inode.child (inode_grep) and Loc.with_path on a real graph (FUSE -> probe -> posix)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

TRANSLATORS = str(Path(__file__).parent / "translators")


def _gfid(backend: Path, rel: str) -> str:
    return str(uuid.UUID(bytes=os.getxattr(backend / rel, "trusted.gfid")))


def test_inode_child_finds_entries_the_table_holds(glupy_mount):
    m = glupy_mount([("viewpaths:ViewPaths", {})], python_path=[TRANSLATORS])
    mp = m.mountpoint
    (mp / "d" / "sub").mkdir(parents=True)
    (mp / "d" / "f").write_bytes(b"x")
    assert json.loads(os.getxattr(mp / "d", "glupy.child.f")) == _gfid(m.backend_dir, "d/f")
    assert json.loads(os.getxattr(mp / "d", "glupy.child.sub")) == _gfid(m.backend_dir, "d/sub")
    assert json.loads(os.getxattr(mp, "glupy.child.d")) == _gfid(m.backend_dir, "d")
    assert json.loads(os.getxattr(mp / "d", "glupy.child.missing")) is None
    os.rename(mp / "d" / "f", mp / "d" / "g")
    assert json.loads(os.getxattr(mp / "d", "glupy.child.f")) is None
    assert json.loads(os.getxattr(mp / "d", "glupy.child.g")) == _gfid(m.backend_dir, "d/g")


def test_loc_with_path_keeps_the_inode_and_namedness(glupy_mount):
    m = glupy_mount([("viewpaths:ViewPaths", {})], python_path=[TRANSLATORS],
                    entry_timeout=0, negative_timeout=0)
    mp = m.mountpoint
    (mp / "d").mkdir()
    (mp / "d" / "named").write_bytes(b"x")
    got = json.loads(os.getxattr(mp / "d" / "named", "glupy.with-path"))
    gfid, pargfid = _gfid(m.backend_dir, "d/named"), _gfid(m.backend_dir, "d")

    named = got["named"]
    assert named["orig"] == ["/d/named", "named", gfid, pargfid]
    made = named["made"]
    assert made["/x/y"] == ["/x/y", "y", gfid, pargfid]
    assert made["/z"] == ["/z", "z", gfid, pargfid]
    assert "names no entry" in made["/"]  # a named loc needs a last component
    for bad in ("relative", "/a//b", "/a/..", "/a/b/", "/a/./b"):
        assert isinstance(made[bad], str) and bad in made[bad], (bad, made[bad])

    nameless = got["nameless"]
    assert nameless["orig"][1] is None and nameless["orig"][2] == gfid
    made = nameless["made"]
    assert made["/x/y"][:3] == ["/x/y", None, gfid]  # a nameless loc stays nameless
    assert made["/"][:3] == ["/", None, gfid]
    for bad in ("relative", "/a//b", "/a/..", "/a/b/", "/a/./b"):
        assert isinstance(made[bad], str) and bad in made[bad], (bad, made[bad])
