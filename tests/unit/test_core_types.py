"""The hot types are glupy._core's C types, the same objects in plain Python as inside
GlusterFS (tests/bridge runs them there): their rules, checked without GlusterFS."""

import errno
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ClassMethodDescriptorType, MethodDescriptorType

import pytest

import glupy
from glupy import FopError, Gather, Wind, _core, gather, replies, types
from glupy.fops import FOPS_BY_NAME
from glupy.replies import LookupReply, StatReply
from glupy.translator import Child


def test_the_author_api_names_are_the_compiled_types():
    assert (glupy.FopError, glupy.Wind, glupy.Gather) == (_core.FopError, _core.Wind, _core.Gather)
    assert issubclass(replies.Reply, _core.Reply) and types.Vector is _core.Vector
    heap_type = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class statement's, not a C type's
    for cls in (FopError, Wind, Gather, _core.Reply, _core.Field, _core.Vector):
        assert not cls.__flags__ & heap_type, f"{cls} is not the C type"
        assert not any(inspect.isfunction(v) for v in vars(cls).values()), cls
    # every reply field is the C descriptor, on the class itself (nothing installed later)
    for cls in replies.REPLY_CLASSES.values():
        for name in cls.fields:
            assert type(vars(cls)[name]) is _core.Field, (cls, name)
    assert replies._UNSET is _core._UNSET and not hasattr(_core, "CONVERTERS")


def test_vector_methods_are_the_c_types_own():
    # defined once in glupy._core (vector.c): nothing is installed on the type later
    # (tests/bridge/translators/vectors.py checks the same inside GlusterFS)
    methods = {"contiguous", "writable", "narrow", "views", "tobytes", "__bytes__", "_detach"}
    for name in methods:
        assert type(vars(_core.Vector)[name]) is MethodDescriptorType, name
    for name in ("alloc", "from_bytes"):
        assert type(vars(_core.Vector)[name]) is ClassMethodDescriptorType, name


def test_fop_error_carries_errno_message_and_reply():
    e = FopError(errno.ENOENT)
    assert (e.errno, e.reply, e._message, e.args) == (errno.ENOENT, None, None, (errno.ENOENT,))
    assert str(e) == "ENOENT: No such file or directory"
    assert str(FopError(errno.EIO, "disk on fire")) == "disk on fire"
    reply = StatReply(None, None)
    assert FopError(errno.EACCES, reply=reply).reply is reply
    assert FopError(2.0).errno == 2 and type(FopError(2.0).errno) is int  # int(errno)
    with pytest.raises(TypeError):
        FopError()

    class Denied(FopError):
        def __init__(self) -> None:
            super().__init__(errno.EPERM, "no")
            self.extra = 1

    d = Denied()
    assert isinstance(d, Exception) and (d.errno, str(d), d.extra) == (errno.EPERM, "no", 1)


def _child() -> Child:
    c = Child.__new__(Child)
    c.name = "below"
    return c


def test_a_wind_is_what_a_child_method_returns_and_is_read_only():
    w = _child().lookup("loc", None)
    assert type(w) is Wind and w.fop is FOPS_BY_NAME["lookup"] and w.args == ("loc", None)
    assert repr(w) == "<wind lookup to below>"
    with pytest.raises(AttributeError):
        w.args = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        type("MyWind", (Wind,), {})
    assert Wind[StatReply] is not None  # annotations


def test_await_yields_the_wind_then_returns_or_raises_what_is_sent():
    w = _child().stat("loc", None)

    async def fop():
        reply = await w
        try:
            await gather(w, w, return_exceptions=True)
        except FopError as e:
            return reply, e.errno

    coro = fop()
    assert coro.send(None) is w
    g = coro.send("the reply")
    assert type(g) is Gather and g.winds == (w, w) and g.return_exceptions is True
    with pytest.raises(StopIteration) as done:
        coro.send(FopError(errno.ENOENT))  # sent, not thrown: raised in the coroutine
    assert done.value.value == ("the reply", errno.ENOENT)

    coro = fop()
    coro.send(None)
    with pytest.raises(FopError):  # a driver that throws gets the same
        coro.throw(FopError(errno.EIO))


def test_gather_takes_winds_only():
    with pytest.raises(TypeError, match="child fops"):
        gather(_child().stat("loc", None), "not a wind")  # type: ignore[arg-type]


def test_reply_fields_keep_their_value_and_mark_what_changed():
    # a child's reply: its C arguments are converted by the bridge (tests/bridge:
    # translators/vectors.py reads them there); outside GlusterFS there is no converter
    r = StatReply.__new__(StatReply)  # as the engine makes a child's reply
    r._raw, r._vals, r._inst, r._dirty = ("b", "x"), None, "inst", False
    with pytest.raises(RuntimeError, match="bridge"):
        r.buf  # noqa: B018
    r._vals = ["converted", replies._UNSET]  # as after the bridge converted buf
    assert r.buf == "converted" and r._dirty is False
    r.xdata = "new"
    assert r._dirty == StatReply.xdata.bit == 2 and r.xdata == "new"
    with pytest.raises(AttributeError):
        del r.buf
    built = LookupReply(None, None, None, None, op_ret=0)
    built.buf = 1
    assert built._dirty is True  # a reply built in Python converts every field anyway
    f = StatReply.buf
    assert (f.index, f.name, f.kind, f.cidx, f.bit) == (0, "buf", "iatt", (0,), 1)


def test_a_field_checks_its_index_against_the_class():
    with pytest.raises((ValueError, RuntimeError)):  # __set_name__'s error, as 3.11/3.12+ wrap it
        type("Bad", (replies.Reply,), {"__slots__": (), "fields": ("a",),
                                       "b": _core.Field(3, "b", "iatt", (0,))})


def test_child_methods_and_self_child_are_the_c_descriptors_from_import():
    from glupy import Translator
    from glupy.fops import FOPS

    for fop in FOPS:
        d = vars(Child)[fop.name]
        assert type(d).__module__ == "glupy._core" and type(d).__name__ == "_child_method", fop
        assert inspect.isfunction(getattr(Child, fop.name))  # the documented signature
    child = _child()
    assert child.stat("loc").args == ("loc", None)  # positional: in C
    assert child.stat(loc="loc", xdata="x").args == ("loc", "x")  # keywords: the Python method
    assert type(vars(Translator)["child"]).__name__ == "_nondata"


def test_the_python_side_expects_the_abi_core_h_defines():
    header = (Path(types.__file__).parent / "_bridge" / "src" / "core.h").read_text()
    defined = int(re.search(r"#define GLUPY_CORE_ABI (\d+)", header).group(1))
    assert types.CORE_ABI == defined == _core.ABI


def test_a_core_built_from_another_source_is_refused_with_the_fix(tmp_path):
    """An older glupy._core (no ABI, or another one) fails the import with the command
    that rebuilds it, not with an AttributeError deep in glupy.types."""
    code = ("import sys, types as t; fake = t.ModuleType('glupy._core'); "
            "fake.ABI = -1; fake.__file__ = '/old/_core.so'; sys.modules['glupy._core'] = fake; "
            "import glupy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "ImportError: glupy._core (/old/_core.so) was built from another glupy source" in done.stderr
    assert "pip install -e ." in done.stderr
