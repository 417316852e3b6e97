"""Translators that misbehave on purpose (tests/bridge/test_errors.py, test_refs.py).

``Faulty`` misbehaves in lookup and open according to the file's name (rmdir and
setxattr re-raise the child's errors) and passes everything else through, so one
mount shows that a bad fop fails alone and the process keeps serving
(tests/bridge/test_refs.py: and leaks no inode or fd).  The other classes fail at init;
this module holds several Translator subclasses on purpose (a spec without
``:Class`` must be refused).
"""

from __future__ import annotations

import asyncio
import errno

from glupy import FopError, Option, Translator, replies

CRASH_MESSAGE = "deliberate-crash-7f3a"
INIT_MESSAGE = "deliberate-init-failure-51c2"


class Faulty(Translator):
    # read in lookup (an option read in a fop, its default never set by the volfile)
    miss_errno = Option(int, default=errno.EROFS, doc="errno of a caught-* miss")

    async def lookup(self, loc, xdata):
        name = loc.name or ""
        if name.startswith("caught-"):  # the child's miss caught, another errno raised
            try:
                return await self.child.lookup(loc, xdata)
            except FopError as e:
                if e.errno != errno.ENOENT or e.reply is None:
                    raise
                raise FopError(self.miss_errno) from e
        if name.startswith("kwargs-"):  # Child.<fop> with keywords
            return await self.child.lookup(xdata=xdata, loc=loc)
        if name.startswith("defaults-"):  # xdata left to its default (None)
            return await self.child.lookup(loc)
        if name.startswith("badargs-"):  # a TypeError from Child.lookup: EIO + traceback
            return await self.child.lookup(loc, xdata, name)
        if name.startswith("crash-"):
            raise ValueError(f"{CRASH_MESSAGE} in {name}")
        if name.startswith("keyerror-"):
            return {}["missing-key"]
        if name.startswith("eacces-"):
            raise FopError(errno.EACCES)
        if name.startswith("int-"):
            return 42
        if name.startswith("statreply-"):
            return replies.StatReply(None, None)
        if name.startswith("none-"):
            return None
        if name.startswith("sleep0-"):
            await asyncio.sleep(0)
        if name.startswith("sleep1-"):
            await asyncio.sleep(1)
        if name.startswith("future-"):
            await asyncio.Future()
        if name.startswith("after-wind-"):
            await self.child.lookup(loc, xdata)  # a miss raises FopError(ENOENT) here
            raise RuntimeError(f"{CRASH_MESSAGE} after the child found {name}")
        return await self.child.lookup(loc, xdata)

    async def open(self, loc, flags, fd, xdata):
        reply = await self.child.open(loc, flags, fd, xdata)
        name = (loc.path or "").rsplit("/", 1)[-1]
        if name.startswith("open-crash-"):  # the child opened the fd; the client gets EIO
            raise RuntimeError(f"{CRASH_MESSAGE} after opening {name}")
        if name.startswith("open-int-"):
            return 42
        return reply

    async def rmdir(self, loc, flags, xdata):
        try:
            return await self.child.rmdir(loc, flags, xdata)
        except FopError:
            raise  # the child's error, as it came

    async def setxattr(self, loc, dict, flags, xdata):
        try:
            return await self.child.setxattr(loc, dict, flags, xdata)
        except FopError as e:
            raise FopError(e.errno) from e  # a new error (no reply) with the child's errno


class PlainDef(Translator):
    def lookup(self, loc, xdata):  # not async: refused at init
        return self.child.lookup(loc, xdata)


class InitRaises(Translator):
    def init(self):
        raise RuntimeError(INIT_MESSAGE)


class WithLevel(Translator):
    level = Option(int, default=3, min=0, max=9, doc="a bounded number")

    async def lookup(self, loc, xdata):
        return await self.child.lookup(loc, xdata)
