"""Flaky: raises a Python exception on every Nth fop it defines (tests/faults/test_faults.py).

Every fop defined here counts (one shared counter): the ``every``-th, 2 x ``every``-th ...
call raises RuntimeError before winding, which glupy turns into EIO for that fop alone.
``getfattr -n glupy.flaky --only-values MOUNT`` answers ``{"calls": N, "injected": M}``
(getxattr is defined for that, and counts only when passed through).
"""

from __future__ import annotations

import json
import threading

from glupy import Dict, Option, Translator
from glupy.replies import REPLY_CLASSES

STATS_XATTR = "glupy.flaky"
MESSAGE = "flaky-injected-fault"


class Flaky(Translator):
    every = Option(int, default=7, min=1, doc="fail every Nth fop")

    def init(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.injected = 0

    def _tick(self, fop: str) -> None:
        with self._lock:
            self.calls += 1
            fail = self.calls % self.every == 0
            if fail:
                self.injected += 1
        if fail:
            raise RuntimeError(f"{MESSAGE} #{self.calls} in {fop}")

    async def lookup(self, loc, xdata):
        self._tick("lookup")
        return await self.child.lookup(loc, xdata)

    async def stat(self, loc, xdata):
        self._tick("stat")
        return await self.child.stat(loc, xdata)

    async def fstat(self, fd, xdata):
        self._tick("fstat")
        return await self.child.fstat(fd, xdata)

    async def create(self, loc, flags, mode, umask, fd, xdata):
        self._tick("create")
        return await self.child.create(loc, flags, mode, umask, fd, xdata)

    async def open(self, loc, flags, fd, xdata):
        self._tick("open")
        return await self.child.open(loc, flags, fd, xdata)

    async def writev(self, fd, vector, offset, flags, xdata):
        self._tick("writev")
        return await self.child.writev(fd, vector, offset, flags, xdata)

    async def readv(self, fd, size, offset, flags, xdata):
        self._tick("readv")
        return await self.child.readv(fd, size, offset, flags, xdata)

    async def unlink(self, loc, xflags, xdata):
        self._tick("unlink")
        return await self.child.unlink(loc, xflags, xdata)

    async def mkdir(self, loc, mode, umask, xdata):
        self._tick("mkdir")
        return await self.child.mkdir(loc, mode, umask, xdata)

    async def setattr(self, loc, stbuf, valid, xdata):
        self._tick("setattr")
        return await self.child.setattr(loc, stbuf, valid, xdata)

    async def getxattr(self, loc, name, xdata):
        if name == STATS_XATTR:
            with self._lock:
                value = json.dumps({"calls": self.calls, "injected": self.injected}).encode()
            return REPLY_CLASSES["getxattr"](Dict.from_mapping({name: value}), None,
                                             op_ret=len(value))
        self._tick("getxattr")
        return await self.child.getxattr(loc, name, xdata)
