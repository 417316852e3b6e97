"""glupy.policy and FopCall: one method over many fops, without GlusterFS (pure Python).

The library translators that use it (audit, readonly, worm, mirror, passthrough) are
tested through real GlusterFS in tests/library and tests/bridge."""

import errno
import textwrap

import pytest

from glupy import FopCall, FopError, Translator, policy
from glupy.cli.check import check
from glupy.fops import FOP_NAMES, FOPS_BY_NAME
from glupy.replies import REPLY_CLASSES
from glupy.translator import Child, Wind, _PolicyFop


class Refuse(Translator):
    seen: list[FopCall]

    @policy("writev", "truncate", "unlink")
    async def refuse(self, call: FopCall):
        self.seen.append(call)
        if call.name == "unlink":
            raise FopError(errno.EROFS)
        return await call.wind()

    async def truncate(self, loc, offset, xdata):  # its own method wins over the policy
        return await self.child.truncate(loc, 0, xdata)


def _translator(cls: type[Translator], *children: Child) -> Translator:
    t = cls()
    t.children = list(children)
    if len(children) == 1:
        object.__setattr__(t, "child", children[0])
    t.seen = []
    return t


def test_the_class_defines_exactly_the_named_fops():
    assert sorted(Refuse.defined_fops()) == ["truncate", "unlink", "writev"]
    assert Refuse.problems() == []
    assert Refuse.truncate.__qualname__ == "Refuse.truncate"  # the class's own, not the policy's


def test_a_policy_fop_winds_the_call_unchanged_and_returns_the_reply():
    t = _translator(Refuse, Child("c"))
    coro = t.writev("FD", b"data", 4096, 0, None)
    wind = coro.send(None)
    assert isinstance(wind, Wind) and wind.fop is FOPS_BY_NAME["writev"]
    assert wind.args == ("FD", b"data", 4096, 0, None) and wind.child is t.child
    reply = REPLY_CLASSES["writev"](None, None, None)
    with pytest.raises(StopIteration) as stop:
        coro.send(reply)
    assert stop.value.value is reply
    (call,) = t.seen
    assert call.name == "writev" and call.args == ("FD", b"data", 4096, 0, None)
    assert call.fd == "FD" and call.loc is None and call.arg("offset") == 4096


def test_a_policy_can_fail_the_fop_without_winding():
    t = _translator(Refuse, Child("c"))
    with pytest.raises(FopError) as e:
        t.unlink("LOC", 0, None).send(None)
    assert e.value.errno == errno.EROFS
    assert t.seen[0].loc == "LOC" and t.seen[0].fd is None


def test_wind_to_a_given_child():
    class Both(Translator):
        @policy("mkdir")
        async def to_all(self, call):
            return [await call.wind(child) for child in self.children]

    a, b = Child("a"), Child("b")
    t = _translator(Both, a, b)
    coro = t.mkdir("LOC", 0o755, 0o022, None)
    assert coro.send(None).child is a
    assert coro.send("reply a").child is b


def test_the_first_loc_or_fd_and_arguments_by_name():
    t = _translator(Refuse, Child("c"))
    for name in FOP_NAMES:
        fop = FOPS_BY_NAME[name]
        args = tuple(f"{a.kind}:{a.name}" for a in fop.py_args)
        call = FopCall(_PolicyFop(fop), t, args)
        kinds = [a.kind for a in fop.py_args]
        assert call.loc == (args[kinds.index("loc")] if "loc" in kinds else None), name
        assert call.fd == (args[kinds.index("fd")] if "fd" in kinds else None), name
        for a, value in zip(fop.py_args, args, strict=True):
            assert call.arg(a.name) == value
    with pytest.raises(KeyError):
        call.arg("no_such_argument")


def test_subclasses_inherit_policy_fops_and_may_override_one():
    class Sub(Refuse):
        async def writev(self, fd, vector, offset, flags, xdata):
            raise FopError(errno.EPERM)

    assert sorted(Sub.defined_fops()) == ["truncate", "unlink", "writev"]
    t = _translator(Sub, Child("c"))
    with pytest.raises(FopError) as e:
        t.writev("FD", b"", 0, 0, None).send(None)
    assert e.value.errno == errno.EPERM and t.seen == []
    with pytest.raises(FopError):
        t.unlink("LOC", 0, None).send(None)
    assert [c.name for c in t.seen] == ["unlink"]


def test_overriding_the_policy_method_keeps_its_fops():
    class Quiet(Refuse):
        async def refuse(self, call):  # no @policy: still the policy of writev and unlink
            raise FopError(errno.EACCES)

    assert sorted(Quiet.defined_fops()) == ["truncate", "unlink", "writev"]
    assert Quiet.writev.__qualname__.endswith("Quiet.writev") and Quiet.problems() == []
    t = _translator(Quiet, Child("c"))
    for coro in (t.writev("FD", b"", 0, 0, None), t.unlink("LOC", 0, None)):
        with pytest.raises(FopError) as e:
            coro.send(None)
        assert e.value.errno == errno.EACCES
    assert t.seen == []


def test_mistakes_are_reported_when_the_class_is_made():
    with pytest.raises(TypeError, match="fop names"):
        policy("write")
    with pytest.raises(TypeError, match="fop names"):
        policy()
    with pytest.raises(TypeError, match="async def"):
        policy("stat")(lambda self, call: None)
    with pytest.raises(TypeError, match="fop stat is in two policies"):
        class Twice(Translator):
            @policy("stat", "fstat")
            async def one(self, call):
                return await call.wind()

            @policy("stat")
            async def two(self, call):
                return await call.wind()


def test_check_does_not_call_a_policy_method_a_stray_coroutine(tmp_path):
    (tmp_path / "chk_policy.py").write_text(textwrap.dedent("""
        from glupy import Translator, policy

        class Audit(Translator):
            @policy("writev", "readv")
            async def log_it(self, call):
                return await call.wind()
    """))
    r = check("chk_policy", [str(tmp_path)])
    assert r.ok and r.warnings == [] and sorted(r.fops) == ["readv", "writev"]
