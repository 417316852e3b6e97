"""glupy.Refuse through a real FUSE mount: the bridge refuses in C, lets the rest
through to Python (a fop the class defines) or to the child (one it does not), and
counts what entered Python."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from glupy import Dict, FlushReply, Loc, Mark, Option, Refuse, Translator, WhenMarked
from glupy.types import Fd

HERE = Path(__file__).parent / "translators"


def test_refused_in_c_passed_to_python_or_child(glupy_mount, tmp_path):
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / "f").write_bytes(b"data")
    (backend / "d").mkdir()
    m = glupy_mount([("refusing:Refusing", {})], python_path=[HERE], backend_dir=backend)
    root = m.mountpoint
    before = m.python_calls()
    assert before.get("lookup", 0) > 0  # the count counts: lookup is a Python fop

    with pytest.raises(OSError) as e:
        (root / "f").unlink()
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        (root / "d").rmdir()
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.open(root / "f", os.O_WRONLY)
    assert e.value.errno == errno.EACCES
    assert (backend / "f").exists() and (backend / "d").is_dir()
    after_refusals = m.python_calls()
    assert after_refusals.get("open", 0) == 0 and "unlink" not in after_refusals

    # a read-only open passes the rule and reaches the class's open()
    assert (root / "f").read_bytes() == b"data"
    with pytest.raises(OSError) as e:
        os.open(root / "f", os.O_RDONLY | os.O_APPEND)
    assert e.value.errno == errno.ENOTSUP
    assert m.python_calls().get("open", 0) >= 2


def test_bad_declarations_fail_at_class_creation():
    with pytest.raises(TypeError, match="fop names"):
        Refuse(errno.EROFS, "write")
    with pytest.raises(TypeError, match="take no flags or mask"):
        Refuse(errno.EROFS, "unlink", if_bits=os.O_WRONLY)
    with pytest.raises(TypeError, match="bool Option"):
        Refuse(errno.EROFS, "unlink", when=Option(int, default=1))
    with pytest.raises(TypeError, match="positive errno"):
        Refuse(0, "unlink")
    with pytest.raises(TypeError, match="refused by two rules"):
        class Twice(Translator):
            a = Refuse(errno.EROFS, "unlink", "rmdir")
            b = Refuse(errno.EPERM, "rmdir")


def test_rules_are_inherited_and_listed():
    class Base(Translator):
        on: Option[bool] = Option(bool, default=False)
        no_unlink = Refuse(errno.EROFS, "unlink", when=on)

    class Sub(Base):
        no_mkdir = Refuse(errno.EPERM, "mkdir")

    assert sorted(Sub.refusals()) == ["mkdir", "unlink"]
    assert Sub.defined_fops() == []  # rules are not Python fops
    assert not Sub.refusals()["unlink"].applies(Sub())
    assert Sub.refusals()["mkdir"].applies(Sub())


def test_bad_marks_fail_at_class_creation():
    with pytest.raises(TypeError, match="'inode' or 'fd'"):
        Mark("dentry")
    with pytest.raises(TypeError, match="xattr of an inode mark"):
        Mark("fd", xattr="user.x")
    with pytest.raises(TypeError, match="fops with an fd argument"):
        Mark("fd", set_by=("unlink",))
    with pytest.raises(TypeError, match=r"glupy\.Mark of the class"):
        Refuse(errno.EROFS, "unlink", if_marked="committed")  # type: ignore[arg-type]
    loose = Mark("inode")
    with pytest.raises(TypeError, match="not an attribute of the class"):
        class Loose(Translator):
            no_unlink = Refuse(errno.EROFS, "unlink", if_marked=loose)
    with pytest.raises(TypeError, match="may not define lookup"):
        class LooksUp(Translator):
            seen = Mark("inode", xattr="user.seen")

            async def lookup(self, loc: Loc, xdata: Dict | None):  # type: ignore[no-untyped-def]
                return await self.child.lookup(loc, xdata)
    with pytest.raises(TypeError, match="defines no flush"):
        class NoMethod(Translator):
            written = Mark("fd", set_by=("writev",))
            commit = WhenMarked(written, "flush")


def test_marks_get_bits_and_are_listed():
    class Marked(Translator):
        a = Mark("inode", xattr="user.a")
        b = Mark("fd", set_by=("writev",))
        no_write = Refuse(errno.EROFS, "writev", if_marked=a)
        on_close = WhenMarked(b, "flush")

        async def flush(self, fd: Fd, xdata: Dict | None) -> FlushReply:
            return await self.child.flush(fd, xdata)

    assert [m.bit for m in Marked.marks().values()] == [2, 4]
    assert list(Marked.when_marked()) == ["flush"]
    assert Marked.refusals()["writev"].if_marked is Marked.a
