"""crypt's brick paths (Crypt._brick_dir / _brick_parent) over a stand-in inode table:
the cases a FUSE mount cannot reach on demand (an ancestor's IV not cached, a table
that does not lead to the directory) give None, so the fop goes down by GFID."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from glupy.library.crypt import (
    ROOT_GFID,
    Crypt,
    DirState,
    MasterKey,
    brick_name,
    encrypt_name,
    make_name_key,
)


@dataclass(eq=False)
class FakeInode:
    """What _brick_dir uses of glupy.Inode: gfid, ctx, find (inode_find), child
    (inode_grep), over one shared table."""

    gfid: bytes
    table: dict[bytes, FakeInode]
    ctx: Any = None
    entries: dict[str, FakeInode] = field(default_factory=dict)

    def find(self, gfid: bytes) -> FakeInode | None:
        return self.table.get(gfid)

    def child(self, name: str) -> FakeInode | None:
        return self.entries.get(name)


@dataclass
class FakeLoc:
    path: str | None
    name: str | None
    parent: FakeInode | None


def _tree() -> tuple[Crypt, dict[str, FakeInode]]:
    """A crypt with its name cipher loaded and the table / -> a -> b (IVs cached)."""
    crypt = Crypt.__new__(Crypt)
    crypt._name_cipher = make_name_key(MasterKey.from_bytes(os.urandom(32)))[0]
    crypt._name_memo = {}
    crypt._tree_generation = 0
    table: dict[bytes, FakeInode] = {}
    nodes = {}
    for key, gfid in (("/", ROOT_GFID), ("a", os.urandom(16)), ("b", os.urandom(16))):
        nodes[key] = table[gfid] = FakeInode(gfid, table, DirState(os.urandom(16)))
    nodes["/"].entries["a"] = nodes["a"]
    nodes["a"].entries["b"] = nodes["b"]
    return crypt, nodes


def _enc(crypt: Crypt, directory: FakeInode, name: str) -> str:
    assert crypt._name_cipher is not None
    return brick_name(encrypt_name(crypt._name_cipher, directory.ctx.iv, name.encode()))


def test_brick_path_is_each_component_under_its_own_directory_iv() -> None:
    crypt, n = _tree()
    want = f"/{_enc(crypt, n['/'], 'a')}/{_enc(crypt, n['a'], 'b')}"
    assert crypt._brick_dir(n["b"], "/a/b") == want
    assert crypt._brick_dir(n["/"], "/") == "/"
    assert crypt._brick_dir(n["a"], "/") is None  # "/" is only the root's path
    loc = FakeLoc("/a/b/f", "f", n["b"])
    assert crypt._brick_parent(loc) == want  # type: ignore[arg-type]
    assert crypt._brick_parent(FakeLoc("/a/b/f", "g", n["b"])) is None  # type: ignore[arg-type]
    assert crypt._brick_parent(FakeLoc("<gfid:x>/f", "f", n["b"])) is None  # type: ignore[arg-type]
    assert crypt._brick_parent(FakeLoc("/f", "f", n["/"])) == "/"  # type: ignore[arg-type]


def test_unknown_ancestors_give_no_path() -> None:
    crypt, n = _tree()
    n["a"].ctx = None  # a's IV not cached
    assert crypt._brick_dir(n["b"], "/a/b") is None
    crypt, n = _tree()
    del n["/"].entries["a"]  # a not in the table under /
    assert crypt._brick_dir(n["b"], "/a/b") is None
    crypt, n = _tree()
    assert crypt._brick_dir(n["a"], "/a/b") is None  # the path leads to another directory
    assert crypt._brick_dir(n["b"], "/a/./b") is None
    crypt._name_cipher = None  # the volume's name key not read yet
    assert crypt._brick_dir(n["b"], "/a/b") is None


def test_a_hashed_long_name_on_the_way_gives_no_path() -> None:
    crypt, n = _tree()
    long_name = "L" * 200
    n["/"].entries[long_name] = n["a"]
    assert _enc(crypt, n["/"], long_name).startswith("glupy.ln.")
    assert crypt._brick_dir(n["b"], f"/{long_name}/b") is None


def test_a_kept_path_is_dropped_when_a_rename_may_have_moved_a_directory() -> None:
    crypt, n = _tree()
    old = crypt._brick_dir(n["b"], "/a/b")
    # /a replaced by another directory (renamed away, another renamed in): the same
    # plaintext path now leads through a directory with another IV
    table = n["/"].table
    other = table[b"o" * 16] = FakeInode(b"o" * 16, table, DirState(os.urandom(16)))
    other.entries["b"] = n["b"]
    n["/"].entries["a"] = other
    crypt._tree_generation += 2  # as Crypt.rename does around a directory's rename
    new = crypt._brick_dir(n["b"], "/a/b")
    assert new == f"/{_enc(crypt, n['/'], 'a')}/{_enc(crypt, other, 'b')}" and new != old
