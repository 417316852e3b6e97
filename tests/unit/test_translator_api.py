"""The author-facing API, without GlusterFS (pure Python)."""

import enum
import errno

import pytest

import glupy
from glupy import FopError, Option, Size, Translator, _core, gather
from glupy.fops import FOPS
from glupy.replies import REPLY_CLASSES
from glupy.translator import Child, Gather, Wind, parse_size


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


class Example(Translator):
    suffix = Option(str, default=".tmp", doc="hidden suffix")
    limit = Option(int, default=10, min=1, max=100)
    ratio = Option(float, default=0.5)
    enabled = Option(bool, default=True)
    cache_size = Option(Size, default="64MB")
    mode = Option(Mode, default=Mode.FAST)

    async def lookup(self, loc, xdata):
        return await self.child.lookup(loc, xdata)

    def forget(self, inode):
        pass


def test_options_are_collected_with_volfile_keys_and_defaults():
    opts = Example.options()
    assert list(opts) == ["suffix", "limit", "ratio", "enabled", "cache-size", "mode"]
    t = Example()
    assert t.suffix == ".tmp" and t.limit == 10 and t.enabled is True
    assert t.cache_size == 64 << 20 and t.mode is Mode.FAST
    assert opts["cache-size"].gf_type == "SIZET" and opts["enabled"].gf_type == "BOOL"
    assert opts["mode"].choices == ["fast", "safe"]


@pytest.mark.parametrize("key,text,value", [
    ("limit", "42", 42), ("ratio", "2.5", 2.5), ("enabled", "off", False), ("enabled", "yes", True),
    ("cache-size", "4KB", 4096), ("cache-size", "1GB", 1 << 30), ("mode", "safe", Mode.SAFE),
])
def test_option_parse(key, text, value):
    assert Example.options()[key].parse(text) == value


@pytest.mark.parametrize("key,text,why", [
    ("limit", "0", "'0' in 'option limit 0' is out of range [1 - 100]"),
    ("limit", "abc", 'invalid number format "abc" in option "limit"'),
    ("enabled", "maybe", "option enabled maybe: 'maybe' is not a valid boolean value"),
    ("mode", "turbo", "option mode turbo: 'turbo' is not valid (possible options are fast, safe.)"),
    ("cache-size", "12XB", 'invalid number format "12XB" in option "cache-size"'),
    ("cache-size", "-5", 'invalid number format "-5" in option "cache-size"'),
])
def test_option_errors_name_the_option(key, text, why):
    with pytest.raises(ValueError) as e:
        Example.options()[key].parse(text)
    assert repr(key) in str(e.value) and why in str(e.value)


def test_parse_size_reads_what_glusterfs_reads():
    assert parse_size("64MB") == 64 << 20 and parse_size("512") == 512
    assert parse_size("1.5KB") == 1536 and parse_size("2gb") == 2 << 30 and parse_size("7B") == 7
    # GlusterFS's gf_string2bytesize refuses these (a mount with them fails)
    for bad in ("-5", "1.5K", "64 MB", "4XB", "", "MB"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_defined_fops_and_cbks():
    assert Example.defined_fops() == ["lookup"]
    assert Example.defined_cbks() == ["forget"]
    assert Translator.defined_fops() == []


def test_problems_reports_sync_fops_bad_signatures_and_unknown_names():
    class Bad(Translator):
        def lookup(self, loc, xdata):  # not async
            pass

        async def stat(self, loc):  # missing xdata
            pass

        async def lookup_cbk(self, *args):
            pass

    problems = " | ".join(Bad.problems())
    assert "lookup() must be 'async def'" in problems
    assert "stat('self', 'loc') should take (self, loc, xdata)" in problems
    assert "lookup_cbk() is not a GlusterFS fop" in problems
    assert Example.problems() == []


def test_child_methods_exist_for_every_fop_and_return_winds():
    c = Child("posix")
    for fop in FOPS:
        w = getattr(c, fop.name)(*([None] * len(fop.py_args)))
        assert isinstance(w, Wind) and w.fop is fop and len(w.args) == len(fop.py_args)
    assert c.lookup("LOC").args == ("LOC", None)  # xdata defaults to None


def test_gather_builds_one_request_and_rejects_non_winds():
    a, b = Child("a"), Child("b")
    g = gather(a.flush("fd"), b.flush("fd"))
    assert isinstance(g, Gather) and len(g.winds) == 2
    with pytest.raises(TypeError):
        gather(a.flush("fd"), object())


def test_awaiting_a_wind_yields_it_and_returns_what_is_sent():
    class T(Translator):
        async def flush(self, fd, xdata):
            reply = await self.children[0].flush(fd, xdata)
            return reply

    t = T()
    t.children = [Child("c")]
    coro = t.flush("FD", None)
    req = coro.send(None)
    assert isinstance(req, Wind) and req.fop.name == "flush"
    reply = REPLY_CLASSES["flush"](None)
    with pytest.raises(StopIteration) as stop:
        coro.send(reply)
    assert stop.value.value is reply


def test_reply_classes_have_the_callback_fields():
    r = glupy.LookupReply("inode", "buf", None, "postparent")
    assert (r.inode, r.buf, r.xdata, r.postparent, r.op_ret) == ("inode", "buf", None, "postparent", 0)
    assert r.iatt == "buf"
    r2 = r.replace(postparent="pp2")
    assert r2.postparent == "pp2" and r2.inode == "inode" and type(r2) is glupy.LookupReply
    assert glupy.ReadvReply.fields == ("vector", "stbuf", "xdata")
    with pytest.raises(TypeError):
        glupy.LookupReply(nope=1)


def test_fop_error_message():
    e = FopError(errno.ENOENT)
    assert e.errno == errno.ENOENT and "ENOENT" in str(e)


def test_child_property_requires_exactly_one_child():
    t = Example()
    t.children = [Child("a"), Child("b")]
    with pytest.raises(RuntimeError):
        _ = t.child


def test_an_option_read_is_an_instance_attribute_and_options_sees_through_wrappers():
    class Wrapped(Translator):
        limit = Option(int, default=3)

    # what glupy.runtime.driver._fast_options puts on a class inside GlusterFS
    Wrapped.limit = _core.nondata(vars(Wrapped)["limit"])
    assert list(Wrapped.options()) == ["limit"]
    assert isinstance(Wrapped.limit, Option)
    t = Wrapped()
    assert t.limit == 3 and vars(t) == {"limit": 3}  # set once, then read directly
    t.limit = 5
    assert t.limit == 5
    del t.limit  # what reconfigure does for an option left out: back to the default
    assert t.limit == 3
