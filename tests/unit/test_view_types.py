"""The views (Loc, Fd, Inode, Dict, Iatt, ...) and Child keep what the bridge reads in
glupy._core's C structs (core.h): the classes in glupy.types and glupy.translator add
behaviour only, so no private slot name is part of the bridge's ABI."""

from __future__ import annotations

import re

import pytest

from glupy import _core, types
from glupy._build import build, codegen
from glupy.translator import Child

HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class statement's, not a C type's

# the classes the bridge reads, by the C struct of each (codegen.VIEW_KINDS order)
VIEWS = {"loc": (types.Loc, _core.InstanceView), "fd": (types.Fd, _core.InstanceView),
         "inode": (types.Inode, _core.InstanceView), "dict": (types.Dict, _core.View),
         "iatt": (types.Iatt, _core.View), "flock": (types.Flock, _core.View),
         "statvfs": (types.StatVfs, _core.View), "lease": (types.Lease, _core.View),
         "dirents": (types.Dirents, _core.DirentsView)}


def test_every_view_kind_is_listed():
    assert set(VIEWS) == set(codegen.VIEW_KINDS)


def test_the_storage_types_are_c_types():
    for cls in (_core.View, _core.InstanceView, _core.DirentsView, _core.Child):
        assert not cls.__flags__ & HEAP_TYPE, cls
    assert _core.DirentsView.__mro__[1:3] == (_core.InstanceView, _core.View)


@pytest.mark.parametrize("kind", list(VIEWS))
def test_a_view_class_adds_behaviour_but_no_storage(kind):
    cls, base = VIEWS[kind]
    assert issubclass(cls, base)
    # no __dict__, no slot of its own: the object is exactly the C struct
    assert cls.__basicsize__ == base.__basicsize__
    assert cls.__dictoffset__ == 0
    for klass in cls.__mro__:
        if klass.__flags__ & HEAP_TYPE:
            assert not getattr(klass, "__slots__", ()), klass
    # the fields the bridge reads are C member descriptors of the base
    names = {"_p", "_keep"} | ({"_inst"} if issubclass(base, _core.InstanceView) else set())
    for name in names:
        owner = next(k for k in cls.__mro__ if name in vars(k))
        assert not owner.__flags__ & HEAP_TYPE, (cls, name, owner)


def test_child_keeps_xl_in_the_c_struct():
    assert issubclass(Child, _core.Child)
    assert "xl" not in vars(Child) and "xl" in vars(_core.Child)
    c = Child("below")
    assert (c.name, c.xl, c.type) == ("below", None, "")
    c.xl = "an xlator"
    assert c.xl == "an xlator"


def test_views_compare_and_hash_by_class_and_pointer():
    a, b = types.Iatt("p"), types.Iatt("p")
    assert a == b and hash(a) == hash(b)
    assert (a != b) is False
    assert types.Iatt("p") != types.Iatt("q")
    assert types.Iatt("p") != types.Flock("p")  # another class: never equal
    assert types.Caller("p") == types.Caller("p")
    assert len({types.Iatt("p"), types.Iatt("p"), types.Iatt("q")}) == 2


def test_fields_read_as_the_python_classes_set_them():
    loc = types.Loc("p", "inst")
    assert (loc._p, loc._keep, loc._inst) == ("p", None, "inst")
    d = types.Dirents("head", "inst")
    assert (d._p, d._inst, d._entries) == ("head", "inst", None)
    v = types.Caller.__new__(types.Caller)
    with pytest.raises(AttributeError):
        v._p  # noqa: B018  (never set: as an unset slot)
    assert v._keep is None


def test_detaching_outside_glusterfs_changes_nothing():
    # no bridge in this process: nothing points into a caller's memory
    v = types.Iatt("p")
    v._detach()
    assert (v._p, v._keep, v._owns) == ("p", None, False)


def test_the_bridge_reads_no_member_by_name():
    """setup.c checks the classes it is handed against glupy._core's types and reads
    their structs; it looks up no __slots__ member descriptor (their offsets were the
    private ABI this replaced)."""
    for name in build.SOURCES:
        text = (codegen.SOURCE_DIR / name).read_text()
        assert not re.search(r"PyMemberDescr|d_member|member_offset", text), name


def test_a_reply_detaches_in_c_each_field_by_its_own_rule():
    from glupy import replies

    assert "_detach" not in vars(replies.Reply) and "_detach" in vars(_core.Reply)
    detached = []

    class Kept:
        def _detach(self) -> None:
            detached.append(self)

    kept = Kept()
    r = replies.GetxattrReply(kept, None, op_ret=0)
    r._dirty = 0  # as a child's reply with no field set
    r._detach()
    # every field read and detached; the reply is unwound from its fields from now on
    assert detached == [kept] and r.dict is kept
    assert r._raw is None and r._dirty is True
    # outside GlusterFS a view has nothing to copy: it stays as it is
    view = types.Iatt("p")
    replies.StatReply(view, None)._detach()
    assert (view._p, view._owns) == ("p", False)

    class Broken:
        def _detach(self) -> None:
            raise RuntimeError("cannot")

    with pytest.raises(RuntimeError):
        replies.GetxattrReply(Broken(), None)._detach()
