"""The library hands a fop off where it only returns the child's reply (pure Python).

A method that awaits ``self.child.<fop>(...)`` suspends on the Wind (``send`` yields
it); one that hands off returns the Wind (``send`` stops with it as the value), and
the bridge then winds it without bringing the reply back through Python.  Each case
here is a path where the translator does nothing with the reply.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from glupy import Translator
from glupy.library.crypt import Crypt
from glupy.library.negative_lookup import NegativeLookup
from glupy.library.readonly import ReadOnly
from glupy.library.stat_cache import StatCache
from glupy.library.worm import Worm
from glupy.replies import REPLY_CLASSES
from glupy.translator import Child, Wind

NO_INODE = SimpleNamespace(inode=None, gfid=b"\0" * 16, path=None)


def handed_off(translator: Translator, fop: str, *args: Any) -> Wind[Any]:
    coro = getattr(translator, fop)(*args)
    with pytest.raises(StopIteration) as stop:
        yielded = coro.send(None)
        coro.close()
        pytest.fail(f"{type(translator).__name__}.{fop} awaited {yielded!r} instead of handing off")
    wind = stop.value.value
    assert isinstance(wind, Wind) and wind.fop.name == fop, wind
    return wind


def with_child(translator: Translator) -> Translator:
    translator.children = [Child("below")]  # ``self.child`` is the only one of these
    return translator


def test_readonly_hands_off_the_xattrops_it_allows():
    t = with_child(ReadOnly())
    handed_off(t, "xattrop", NO_INODE, 0, None, None)
    handed_off(t, "fxattrop", NO_INODE, 0, None, None)


def test_negative_lookup_hands_off_getxattr():
    handed_off(with_child(NegativeLookup()), "getxattr", NO_INODE, "user.x", None)


def test_stat_cache_hands_off_open_without_truncate_and_getxattr():
    t = with_child(StatCache())
    handed_off(t, "open", NO_INODE, os.O_RDONLY, None, None)
    handed_off(t, "getxattr", NO_INODE, "user.x", None)


def test_worm_hands_off_what_it_lets_through():
    t = with_child(Worm())
    handed_off(t, "unlink", NO_INODE, 0, None)
    handed_off(t, "rename", NO_INODE, NO_INODE, None)


@pytest.mark.parametrize("names", [False, True])
def test_crypt_hands_off_what_it_does_not_transform(names):
    t = with_child(Crypt())
    t._names = names
    t._legacy = False
    fd = SimpleNamespace(inode=None)
    handed_off(t, "readv", fd, 4096, 0, 0, None)
    handed_off(t, "writev", fd, b"x", 0, 0, None)
    handed_off(t, "open", NO_INODE, os.O_RDONLY, fd, None)
    handed_off(t, "truncate", NO_INODE, 0, None)
    handed_off(t, "ftruncate", fd, 0, None)
    handed_off(t, "fallocate", fd, 0, 0, 1, None)
    handed_off(t, "discard", fd, 0, 1, None)
    handed_off(t, "zerofill", fd, 0, 1, None)
    handed_off(t, "seek", fd, 0, 3, None)
    handed_off(t, "opendir", NO_INODE, fd, None)
    handed_off(t, "access", NO_INODE, 0, None)
    handed_off(t, "statfs", NO_INODE, None)
    handed_off(t, "getxattr", NO_INODE, "user.x", None)
    handed_off(t, "setxattr", NO_INODE, None, 0, None)
    handed_off(t, "removexattr", NO_INODE, "user.x", None)
    if not names:
        handed_off(t, "mkdir", NO_INODE, 0o755, 0, None)
        handed_off(t, "symlink", "target", NO_INODE, 0, None)
        handed_off(t, "readlink", NO_INODE, 100, None)


def test_a_subclass_that_needs_the_reply_awaits_the_handed_off_call():
    # docs/concepts.md, "Handing a fop off": what a subclass of a library translator writes
    class Reading(NegativeLookup):
        async def getxattr(self, loc: Any, name: str | None, xdata: Any) -> Any:
            r = await super().getxattr(loc, name, xdata)
            if isinstance(r, Wind):
                r = await r
            return r

    coro = with_child(Reading()).getxattr(NO_INODE, "user.x", None)
    wind = coro.send(None)  # the driver winds it and sends the reply back
    assert isinstance(wind, Wind) and wind.fop.name == "getxattr"
    reply = REPLY_CLASSES["getxattr"](None)
    with pytest.raises(StopIteration) as stop:
        coro.send(reply)
    assert stop.value.value is reply
